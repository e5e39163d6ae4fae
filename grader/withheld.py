"""The tests a student edition does not hold, by count and points: `grader/practices/<practice>/withheld.json`.

The student edition (`bootcamp release --student`) keeps the public tests that can run without the
instructor's files, those that compare with values of the reference included (the release records
them as data, `grader.recorded`). Two kinds are graded by the instructor only, and are listed per
task by how many tests and points, never by name:

- `hidden`: the hidden tests;
- `reference`: public tests that would need the reference solution at run time, which only the
  instructor's grader holds. None does today: the reference's values are recorded as data and the
  convergence checks draw without it (`grader.judging.drawing`); the kind stays so that a test
  written later that reaches `solutions/` is counted here rather than shipped broken
  (tests/handout/test_student.py fails on it).

In the instructor's edition there are no such files and every function here returns nothing.
"""

from __future__ import annotations

import json

from grader import paths

KINDS = {"hidden": "hidden", "reference": "compared with the reference solution"}


def withheld(practice: str) -> dict[str, dict[str, dict[str, float]]]:
    """task id -> {"hidden"|"reference": {"tests": n, "points": p}} for `practice` ({} if none)."""
    path = paths.PRACTICES_DIR / practice / "withheld.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def count(practice: str, task: str) -> int:
    """How many of `task`'s tests only the instructor's grader runs."""
    return int(sum(kind["tests"] for kind in withheld(practice).get(task, {}).values()))


def lines(practices: list[str]) -> list[str]:
    """One line per task with withheld tests: `<practice>.1: 5 tests (6 points) graded by the instructor (...)`."""
    out = []
    for practice in practices:
        for task, kinds in sorted(withheld(practice).items(), key=lambda item: _task_key(item[0])):
            parts = [f"{int(kinds[k]['tests'])} {KINDS[k]} ({kinds[k]['points']:g} points)" for k in KINDS if k in kinds]
            tests = sum(int(kinds[k]["tests"]) for k in kinds)
            out.append(f"{task}: {tests} more test{'s' if tests != 1 else ''} graded by the instructor: "
                       + ", ".join(parts))
    return out


def _task_key(task: str) -> tuple[str, int]:
    practice, _, number = task.partition(".")
    return practice, int(number) if number.isdigit() else 0
