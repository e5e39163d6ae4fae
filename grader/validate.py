"""`bootcamp validate`: the reference solutions score 100%, the skeletons score 0.

This is what CI runs to prove the course is consistent: every test can be passed (by the
solution) and none passes by accident (on the skeleton, every task must report "not
implemented", not a crash, an error or a timeout).
"""

from __future__ import annotations

from typing import Callable

from grader import paths
from grader.check import resolve_practices, run_suites
from grader.release import stale
from grader.scoring import Report


def validate(*, device: str = "auto", say: Callable[[str], None] = print) -> list[str]:
    """Grade solutions/ and assignments/; return the problems found (empty when all is well)."""
    practices = resolve_practices([])
    problems = [f"assignments/{name} is stale: run `bootcamp release`" for name in stale()]
    for folder, expected in ((paths.SOLUTIONS_DIR, "passed"), (paths.ASSIGNMENTS_DIR, "not implemented")):
        report = run_suites(folder, practices, device=device)
        say(f"{folder.name}/: {report.points:g} / {report.max_points:g} points in {report.seconds:.1f} s")
        problems += report.errors + _unexpected(report, folder.name, expected)
    return problems


def _unexpected(report: Report, folder: str, expected: str) -> list[str]:
    """One line for each test whose status is not `expected`."""
    return [f"{folder}/{practice.name}.py: {task.id} {test.name} is {test.status}, not {expected!r}"
            + (f": {test.message.splitlines()[0]}" if test.message else "")
            for practice in report.practices for task in practice.tasks for test in task.tests
            if test.status != expected]
