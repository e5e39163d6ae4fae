"""Which submissions resemble each other: `bootcamp similarity SUBMISSIONS --out DIR`.

    fingerprints.py   normalised Python tokens, k-grams, winnowing, shared regions of two files
    detect.py         per practice, every pair of submissions ranked by shared code (skeleton discounted)
    report.py         similarity/index.html, a side-by-side page per pair, similarity/pairs.csv

    result, written = report_similarity(Path("submissions"), Path("grading"), practices)
"""

from __future__ import annotations

from pathlib import Path

from grader.gradebook.similarity.detect import Result, SimilarityError, detect

__all__ = ["Result", "SimilarityError", "detect", "report_similarity"]


def report_similarity(submissions: Path, out: Path, practices: list[str] | None = None,
                      top: int | None = None) -> tuple[Result, list[Path]]:
    """Compare the submissions in `submissions` and write the report under `out/similarity/`."""
    from grader.gradebook.similarity import report

    result = detect(submissions, practices)
    return result, report.write(result, out, top or report.TOP)
