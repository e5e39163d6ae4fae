"""Exports of the current grades: each module writes one format, every file atomically.

    csv         grades.csv: one row per student (each practice, total, late penalty, final, status)
    gradescope  gradescope/<student>/results.json in Gradescope's autograder format
    feedback    feedback/<student>.md and .html: public tests in full, hidden tests by name and points
    nbgrader    nbgrader/gradebook.db (or a course's own): assignment, notebooks, grade cells, scores
    summary     summary.html: score histograms, the tasks most students failed, problems

    export(Path("grading/gradebook.sqlite"), ["all"], Path("grading"))
"""

from __future__ import annotations

from pathlib import Path

from grader.gradebook import view
from grader.gradebook.late import LatePolicy

FORMATS = ("csv", "gradescope", "feedback", "nbgrader", "summary")


class ExportError(Exception):
    """An export that cannot be written (an empty gradebook, an unknown format); one line."""


def expand(formats: list[str] | tuple[str, ...]) -> list[str]:
    chosen = []
    for name in formats:
        if name == "all":
            chosen += FORMATS
        elif name in FORMATS:
            chosen.append(name)
        else:
            raise ExportError(f"unknown export format {name!r}; choose from: {', '.join(FORMATS)}, all")
    return list(dict.fromkeys(chosen))


def export(db_path: Path, formats: list[str] | tuple[str, ...], out: Path, *, policy: LatePolicy | None = None,
           assignment: str = "bootcamp", nbgrader_db: Path | None = None) -> list[Path]:
    """Write `formats` of the grades in `db_path` under `out`; return the files written."""
    from grader.gradebook.exports import feedback, gradescope, grades_csv, summary, to_nbgrader

    chosen = expand(formats)
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
            written += gradescope.write(grades, out)
        elif name == "feedback":
            written += feedback.write(grades, out)
        elif name == "nbgrader":
            written += to_nbgrader.write(grades, out, assignment=assignment, target=nbgrader_db)
        elif name == "summary":
            written += summary.write(grades, out)
    return written


def points(value: float) -> str:
    """Points as people write them: 3, 2.5, 0.33."""
    return f"{round(value, 2):g}"


def safe_name(student: str) -> str:
    """A student id as a file name (ids come from file names, but a merged gradebook may hold any)."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-_.@+") else "_" for c in student).lstrip(".")
    if cleaned == student:
        return cleaned
    import hashlib  # a changed name gets a short hash, so two ids never share a file

    return f"{cleaned or '_'}-{hashlib.sha256(student.encode('utf-8', 'backslashreplace')).hexdigest()[:8]}"
