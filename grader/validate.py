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


def validate(*, device: str = "auto", say: Callable[[str], None] = print) -> list[str]:
    """Grade solutions/ and assignments/; return the problems found (empty when all is well)."""
    practices = resolve_practices([])
    problems = [f"assignments/{name} is stale: run `bootcamp release`" for name in stale()]
    solutions = run_suites(paths.SOLUTIONS_DIR, practices, device=device)
    say(f"solutions/: {solutions.points:g} / {solutions.max_points:g} points in {solutions.seconds:.1f} s")
    problems += solutions.errors
    for practice in solutions.practices:
        for task in practice.tasks:
            for test in task.tests:
                if test.status != "passed":
                    problems.append(f"solutions/{practice.name}.py: {task.id} {test.name} {test.status}: "
                                    f"{test.message.splitlines()[0] if test.message else ''}")
    skeletons = run_suites(paths.ASSIGNMENTS_DIR, practices, device=device)
    say(f"assignments/: {skeletons.points:g} / {skeletons.max_points:g} points in {skeletons.seconds:.1f} s")
    problems += skeletons.errors
    for practice in skeletons.practices:
        for task in practice.tasks:
            for test in task.tests:
                if test.status != "not implemented":
                    problems.append(f"assignments/{practice.name}.py: {task.id} {test.name} is "
                                    f"{test.status}, not 'not implemented'")
    return problems
