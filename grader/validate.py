"""`bootcamp validate`: the reference solutions score 100%, the skeletons score 0.

This is what CI runs to prove the course is consistent: every test can be passed (by the
solution) and none passes by accident (on the skeleton, every task must report "not
implemented", not a crash, an error or a timeout). A test that skips itself (one for a GPU, or
for data that is not under the data root) is listed with its reason, not counted as a problem.
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
        report = run_suites(folder, practices, device=device, weak_sandbox=True)  # the course's own code
        say(f"{folder.name}/: {report.points:g} / {report.max_points:g} points in {report.seconds:.1f} s")
        problems += report.errors + _unexpected(report, folder.name, expected)
        for line in _unexpected(report, folder.name, "skipped", only=True):
            say(f"  {line}")  # a test for another device or for data that is not here: said, no problem
    return problems


def _unexpected(report: Report, folder: str, expected: str, *, only: bool = False) -> list[str]:
    """One line for each test whose status is neither `expected` nor "skipped" (with `only`: each
    test whose status is `expected`)."""
    return [f"{folder}/{practice.name}.py: {task.id} {test.name} is {test.status}"
            + ("" if only else f", not {expected!r}") + (f": {test.message.splitlines()[0]}" if test.message else "")
            for practice in report.practices for task in practice.tasks for test in task.tests
            if (test.status == expected) == only and (only or test.status != "skipped")]
