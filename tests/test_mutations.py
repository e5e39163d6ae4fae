"""The mutation corpus: realistic wrong solutions lose points on the task they break; correct
solutions in unusual styles get full marks.

Each file in `tests/mutations/<practice>/` is a complete practice module. Line 1 says what the
grader must decide:

    # breaks: basics.1 [basics.2 ...]   lose points on each named task (graded on those tasks only)
    # correct                           full marks (convergence excluded unless line 2 is `# converges`)

New folders and files are picked up without editing this test. Each file is one sandboxed
grading run of its tasks (a few seconds), so the default run grades every `# correct` file and
the first `# breaks` file of each practice; the others are marked slow (`pytest -m slow`).
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest

from grader.check import collect, run_suites

CORPUS = Path(__file__).parent / "mutations"
FILES = sorted(CORPUS.glob("*/*.py"))


def expectation(path: Path) -> tuple[str, list[str], bool]:
    """("breaks", task ids, _) or ("correct", [], converges) from the file's first lines."""
    lines = path.read_text().splitlines()[:3]
    first = lines[0].strip() if lines else ""
    if first.startswith("# breaks:"):
        tasks = first.removeprefix("# breaks:").split()
        if not tasks:
            raise ValueError(f"{path}: '# breaks:' names no task")
        return "breaks", tasks, False
    if first == "# correct":
        return "correct", [], any(line.strip() == "# converges" for line in lines[1:3])
    raise ValueError(f"{path}: line 1 must be '# breaks: <task id> ...' or '# correct'")


@functools.lru_cache(maxsize=None)
def tasks_without_training(practice: str) -> list[str]:
    """The practice's tasks that are not convergence tasks (whose tests all train a model)."""
    tests = collect([practice])
    return [task for task in dict.fromkeys(t.task for t in tests)
            if any(t.category != "convergence" for t in tests if t.task == task)]


def graded(path: Path, tmp_path: Path, tasks: list[str]):
    practice = path.parent.name
    shutil.copyfile(path, tmp_path / f"{practice}.py")
    return run_suites(tmp_path, [practice], device="cpu", tasks=tasks)


def cases() -> list:
    """Every file; all but the correct ones and the first wrong one of each practice are slow."""
    chosen, seen = [], set()
    for path in FILES:
        correct = expectation(path)[0] == "correct"
        quick = correct or path.parent.name not in seen
        if not correct:
            seen.add(path.parent.name)
        chosen.append(pytest.param(path, id=f"{path.parent.name}/{path.stem}",
                                   marks=() if quick else pytest.mark.slow))
    return chosen


@pytest.mark.parametrize("path", cases())
def test_the_grader_decides_as_the_file_says(path, tmp_path):
    kind, tasks, converges = expectation(path)
    if kind == "breaks":
        report = graded(path, tmp_path, tasks)
        results = {task.id: task for practice in report.practices for task in practice.tasks}
        assert set(results) == set(tasks), f"no tests ran for {set(tasks) - set(results)}"
        kept = [task_id for task_id in tasks if results[task_id].points >= results[task_id].max_points]
        assert not kept, f"{path.name} kept full marks on {kept}"
    else:
        report = graded(path, tmp_path, [] if converges else tasks_without_training(path.parent.name))
        for practice in report.practices:
            for task in practice.tasks:
                if not converges and all(test.category == "convergence" for test in task.tests):
                    continue
                lost = [f"{test.name}: {test.message}" for test in task.tests
                        if test.status != "passed" and (converges or test.category != "convergence")]
                assert not lost, f"{path.name} lost points on {task.id}: {lost}"
