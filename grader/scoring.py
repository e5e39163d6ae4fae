"""From test outcomes to scores: tasks, practices, a report that can be printed or saved.

A task's points are the sum of its tests' points; a student earns the points of each test that
passed. A style test (how the code is written: no torch.sigmoid, no autograd in a manual
backward) passes for code that does nothing at all, so it counts only when every other test of
its task that ran passed too; otherwise it is marked failed with `STYLE_WITHOUT_BEHAVIOUR`
(`require_behaviour`). A task's status is "passed" when every test passed, else the most telling status among
its tests: not implemented, then timeout, then error, then failed.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__, registry
from grader.plugin import TestOutcome

STATUS_ORDER = ("not implemented", "timeout", "error", "failed", "skipped", "passed")
_FRAME = re.compile(r'File "(?P<file>[^"]+)", (?:cell (?P<cell>\d+), )?line (?P<line>\d+)')  # a notebook's cell


STYLE_WITHOUT_BEHAVIOUR = ("this check of how {task} is written counts only once {task}'s other tests pass; "
                           "fix those first")


def require_behaviour(tests: list[TestOutcome]) -> None:
    """Fail each passed style test whose task has another test (not skipped) that did not pass."""
    unmet = {t.task for t in tests if not t.style and t.status not in ("passed", "skipped")}
    unmet |= {t.task for t in tests if t.style} - {t.task for t in tests if not t.style}
    for test in tests:
        if test.style and test.status == "passed" and test.task in unmet:
            test.status, test.message = "failed", STYLE_WITHOUT_BEHAVIOUR.format(task=test.task)


def _rank(status: str) -> int:
    """Position in STATUS_ORDER; a status the grader does not know counts as an error."""
    return STATUS_ORDER.index(status if status in STATUS_ORDER else "error")


@dataclass
class TaskResult:
    id: str
    title: str
    tests: list[TestOutcome]

    @property
    def points(self) -> float:
        return sum(t.earned for t in self.tests)

    @property
    def max_points(self) -> float:
        return sum(t.points for t in self.tests if t.status != "skipped")

    @property
    def status(self) -> str:
        statuses = {t.status for t in self.tests if t.status != "skipped"} or {"skipped"}
        return min(statuses, key=_rank)

    @property
    def first_problem(self) -> TestOutcome | None:
        problems = [t for t in self.tests if t.status not in ("passed", "skipped")]
        return min(problems, key=lambda t: (_rank(t.status), t.style)) if problems else None  # a style test last

    @property
    def pictures(self) -> list:
        """The pictures its tests attached (`grader.attachments.Picture`), test by test."""
        return [picture for test in self.tests for picture in test.pictures]

    @property
    def measures(self) -> list:
        """The judge's numbers its tests attached (`grader.attachments.Measure`), test by test."""
        return [measure for test in self.tests for measure in test.measures]

    @property
    def where(self) -> str:
        """`file:line` of the student's code where the first problem showed, if known; in a notebook
        `file, cell N, line M` (`grader.notebook_source.name_cells`)."""
        problem = self.first_problem
        frames = list(_FRAME.finditer(problem.message)) if problem else []
        if not frames:
            return ""
        last = frames[-1]
        return f"{last['file']}, cell {last['cell']}, line {last['line']}" if last["cell"] else \
            f"{last['file']}:{last['line']}"


@dataclass
class PracticeResult:
    name: str
    tasks: list[TaskResult]

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tasks)

    @property
    def max_points(self) -> float:
        return sum(t.max_points for t in self.tasks)


@dataclass
class Report:
    submission: str
    practices: list[PracticeResult]
    isolation: list[str] = field(default_factory=list)
    public_only: bool = False
    device: str = "cpu"
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    grader_version: str = __version__
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    @property
    def points(self) -> float:
        return sum(p.points for p in self.practices)

    @property
    def max_points(self) -> float:
        return sum(p.max_points for p in self.practices)

    @property
    def all_passed(self) -> bool:
        return not self.errors and all(t.status == "passed" for p in self.practices for t in p.tasks)

    def to_json(self) -> dict:
        return {
            "submission": self.submission, "grader_version": self.grader_version, "created": self.created,
            "public_only": self.public_only, "device": self.device, "seconds": round(self.seconds, 3),
            "isolation": self.isolation, "errors": self.errors,
            "score": self.points, "max_score": self.max_points,
            "practices": [{
                "name": p.name, "score": p.points, "max_score": p.max_points,
                "tasks": [{"id": t.id, "title": t.title, "status": t.status, "score": t.points,
                           "max_score": t.max_points, "where": t.where,
                           "tests": [test.to_json() for test in t.tests]} for t in p.tasks],
            } for p in self.practices],
        }

    def save(self, path: Path) -> None:
        from grader.atomic import write_atomically

        write_atomically(Path(path), json.dumps(self.to_json(), indent=2) + "\n")


def task_titles(practice: str) -> dict[str, str]:
    """Task id -> title, from `grader/practices/<practice>/tasks.py` (empty if it has none)."""
    return registry.tasks(practice)


def task_sort_key(task_id: str) -> tuple[str, int]:
    practice, _, number = task_id.partition(".")
    return practice, int(number) if number.isdigit() else 0


def build_report(submission: str, practices: list[str], tests: list[TestOutcome], **details) -> Report:
    """Group test outcomes into tasks and practices, in course order and task-number order.

    Style tests are resolved first (`require_behaviour`)."""
    require_behaviour(tests)
    results = []
    for practice in practices:
        titles = task_titles(practice)
        by_task: dict[str, list[TestOutcome]] = {}
        for test in tests:
            if test.task.split(".")[0] == practice:
                by_task.setdefault(test.task, []).append(test)
        tasks = [TaskResult(task_id, titles.get(task_id, ""), by_task[task_id])
                 for task_id in sorted(by_task, key=task_sort_key)]
        results.append(PracticeResult(practice, tasks))
    return Report(submission=submission, practices=results, **details)
