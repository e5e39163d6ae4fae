"""Exports of the current grades: each module writes one format, every file atomically.

    csv         grades.csv: one row per student (each practice, total, late penalty, final, status)
    gradescope  gradescope/<student>/results.json in Gradescope's autograder format
    feedback    feedback/<student>.md and .html: public tests in full, hidden tests by name and points
    nbgrader    nbgrader/gradebook.db (or a course's own): assignment, notebooks, grade cells, scores
    summary     summary.html: score histograms, each task's pass rate, problems, links to the feedback
    similarity  similarity/index.html and a page per pair: which submissions share code (needs the
                submissions folder; `all` includes it only when one is given)

    export(Path("grading/gradebook.sqlite"), ["all"], Path("grading"))

`show_hidden_after` (a time): the feedback written after it shows hidden tests in full, and the
Gradescope export carries their messages as `after_due_date`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from grader.gradebook import view
from grader.gradebook.exports.names import safe_name  # noqa: F401 (the exports' modules import it from here)
from grader.gradebook.late import LatePolicy

FORMATS = ("csv", "gradescope", "feedback", "nbgrader", "summary", "similarity")


class ExportError(Exception):
    """An export that cannot be written (an empty gradebook, an unknown format); one line."""


def expand(formats: list[str] | tuple[str, ...], *, submissions: bool = False) -> list[str]:
    """The formats named (`all`: every one; similarity only when the `submissions` folder is known)."""
    chosen = []
    for name in formats:
        if name == "all":
            chosen += [f for f in FORMATS if f != "similarity" or submissions]
        elif name in FORMATS:
            chosen.append(name)
        else:
            raise ExportError(f"unknown export format {name!r}; choose from: {', '.join(FORMATS)}, all")
    return list(dict.fromkeys(chosen))


def export(db_path: Path, formats: list[str] | tuple[str, ...], out: Path, *, policy: LatePolicy | None = None,
           assignment: str = "bootcamp", nbgrader_db: Path | None = None, show_hidden_after: datetime | None = None,
           now: datetime | None = None, submissions: Path | None = None) -> list[Path]:
    """Write `formats` of the grades in `db_path` under `out`; return the files written."""
    from grader.gradebook.exports import feedback, gradescope, grades_csv, summary, to_nbgrader

    chosen = expand(formats, submissions=submissions is not None)
    if "similarity" in chosen and submissions is None:
        raise ExportError("the similarity export reads the submissions: give --submissions DIR")
    from grader.extras import missing

    if "nbgrader" in chosen and (problem := missing("nbgrader", "the nbgrader export")):
        raise ExportError(problem)
    hidden = feedback.Hidden(show_hidden_after, now)
    grades = view.load(Path(db_path), tests=bool({"gradescope", "feedback", "summary"} & set(chosen)), policy=policy)
    if not grades.students:
        raise ExportError(f"{db_path}: no grades yet; run `bootcamp grade` first")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in chosen:
        if name == "csv":
            written += grades_csv.write(grades, out)
        elif name == "gradescope":
            written += gradescope.write(grades, out, hidden)
        elif name == "feedback":
            written += feedback.write(grades, out, hidden)
        elif name == "nbgrader":
            written += to_nbgrader.write(grades, out, assignment=assignment, target=nbgrader_db)
        elif name == "summary":
            written += summary.write(grades, out, links="feedback" in chosen or (out / "feedback").is_dir())
        elif name == "similarity":
            written += _similarity(Path(submissions), out, grades.practices)
    return written


def _similarity(submissions: Path, out: Path, practices: list[str]) -> list[Path]:
    from grader.gradebook.similarity import SimilarityError, report_similarity

    try:
        return report_similarity(submissions, out, practices)[1]
    except SimilarityError as error:
        raise ExportError(str(error)) from None


def points(value: float) -> str:
    """Points as people write them: 3, 2.5, 0.33."""
    return f"{round(value, 2):g}"
