"""grades.csv: one row per student, for a spreadsheet or an LMS import.

Columns: student, status (graded, rejected, error), one column per practice, total, max_total,
submitted_at, days_late, penalty_percent, final (the total after the late penalty), reason, notes
(a practice that was not handed in first: "<practice>: not submitted").
A cell that a spreadsheet would read as a formula (starting with = + - @) is prefixed with '.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from grader.gradebook.exports import points
from grader.gradebook.view import ClassView
from grader.atomic import write_atomically


def rows(grades: ClassView) -> list[list[str]]:
    header = ["student", "status", *grades.practices, "total", "max_total", "submitted_at", "days_late",
              "penalty_percent", "final", "reason", "notes"]
    table = [header]
    max_total = sum(grades.max_score(p) for p in grades.practices)
    for student in grades.students:
        late = student.late
        table.append([
            student.student, student.status,
            *[points(student.practice(p).score) if student.practice(p) else "0" for p in grades.practices],
            points(student.score), points(max_total),
            student.submitted_at.isoformat(timespec="minutes") if student.submitted_at else "",
            str(late.days) if late else "", points(late.penalty * 100) if late else "",
            points(student.final), student.reason, " | ".join(_notes(student))])
    return table


def _notes(student) -> list[str]:
    missing = [f"{p.name}: not submitted" for p in student.practices if not p.submitted]
    return missing + list(student.notes)


def write(grades: ClassView, out: Path) -> list[Path]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows(grades):
        writer.writerow([_defused(cell) for cell in row])
    target = out / "grades.csv"
    write_atomically(target, buffer.getvalue())
    return [target]


def _defused(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "@", "\t", "\r") or (cell[:1] == "-" and not _number(cell)) else cell


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
