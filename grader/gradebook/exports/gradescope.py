"""Gradescope's autograder format: `gradescope/<student>/results.json`, one per submission.

The fields follow Gradescope's autograder specification: a top-level `score` (after any late
penalty; it overrides the sum of the tests), `execution_time`, `output`, `visibility`,
`stdout_visibility`, and `tests`, each with `name`, `number`, `score`, `max_score`, `status`
("passed"/"failed"), `visibility`, `output` and `tags`. Public tests are "visible" with their full
message; hidden tests are "after_published" and say only passed or failed: never the hidden
test's message or the student's output during it. With `--show-hidden-after DATE` hidden tests
carry their full message and are "after_due_date": Gradescope shows them once the assignment's
due date (set there, to the same date) has passed. A practice that was not handed in says
"not submitted" in each of its tests (Gradescope knows only passed and failed).
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.gradebook.exports import points, safe_name
from grader.gradebook.exports.feedback import Hidden
from grader.gradebook.view import NOT_SUBMITTED, ClassView, StudentView
from grader.atomic import write_atomically

VISIBILITY = {"public": "visible", "hidden": "after_published"}
_OUTPUT_CAP = 4000


def results(student: StudentView, grades: ClassView, hidden: Hidden = Hidden()) -> dict:
    tests = []
    for practice in student.practices:
        for task in practice.tasks:
            for test in task.tests:
                passed = test.status == "passed"
                visibility = VISIBILITY.get(test.visibility, "after_published")
                if test.status == NOT_SUBMITTED:
                    output = f"{NOT_SUBMITTED}: {practice.reason}"
                elif test.visibility == "public" or hidden.after is not None:
                    output = test.message.strip() or test.status
                    if test.output.strip():
                        output += "\n\nYour code printed:\n" + test.output.strip()[-_OUTPUT_CAP:]
                    visibility = "visible" if test.visibility == "public" else "after_due_date"
                else:
                    output = "passed" if passed else f"{test.status} (a hidden test: its details stay hidden)"
                tests.append({
                    "name": f"{task.id} {test.name}", "number": task.id, "score": test.earned,
                    "max_score": test.points, "status": "passed" if passed else "failed",
                    "visibility": visibility,
                    "output": output, "tags": [practice.name, test.category]})
    return {
        "score": round(student.final, 4),
        "execution_time": 0,
        "output": overall_output(student, grades),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"student": student.student, "status": student.status, "points_before_penalty": student.score,
                       "grader_version": student.grader_version, "suites_hash": student.suites_hash},
    }


def overall_output(student: StudentView, grades: ClassView) -> str:
    lines = [f"Total: {points(student.score)} / {points(student.max_score)} points"]
    if student.status != "graded":
        lines.append(f"Your submission was not graded ({student.status}): {student.reason}")
    for practice in student.practices:
        line = f"{practice.name}: {points(practice.score)} / {points(practice.max_score)}"
        if not practice.submitted:
            line += f" ({NOT_SUBMITTED}: {practice.reason})"
        elif practice.reason and practice.status != "graded":
            line += f" ({practice.reason})"
        lines.append(line)
    if student.late:
        lines.append(f"{student.late.describe()}; final score {points(student.final)}")
        if grades.policy:
            lines.append(f"Late policy: {grades.policy.describe()}")
    lines += [f"Note: {note}" for note in student.notes]
    return "\n".join(lines)


def write(grades: ClassView, out: Path, hidden: Hidden = Hidden()) -> list[Path]:
    written = []
    for student in grades.students:
        folder = out / "gradescope" / safe_name(student.student)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "results.json"
        write_atomically(target, json.dumps(results(student, grades, hidden), indent=2) + "\n")
        written.append(target)
    return written
