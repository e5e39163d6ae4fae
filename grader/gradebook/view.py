"""The current grades of a class, read from the gradebook; and what changed between two states.

A student's current result is their latest submission row (the latest run that saw them). Its
practices come from the latest run that graded each practice *for the same submission content*,
so grading one practice again (`--practice <practice> --regrade`) updates that practice and keeps
the others, while a changed submission never mixes with results of its older version. A
submission that was rejected or failed to grade scores 0 in every practice.

A practice whose file was not handed in (`missing` in the gradebook) is *not submitted* here,
its tasks and tests too, so no export calls it failed.

A task's pictures and measures (`TaskView.pictures`, `TaskView.measures`) are those its tests
attached in the run that graded it (`grader.attachments`), test by test, each with its test's
visibility, so an export shows a hidden test's pictures only where it shows its message.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from grader.attachments import Measure, Picture
from grader.gradebook import database
from grader.gradebook.late import Late, LatePolicy, parse_time
from grader.registry import names as course_order


@dataclass
class TestView:
    nodeid: str
    name: str
    task: str
    category: str
    visibility: str
    status: str
    points: float
    earned: float
    message: str
    output: str


NOT_SUBMITTED = "not submitted"


@dataclass
class TaskView:
    id: str
    title: str
    status: str
    score: float
    max_score: float
    location: str
    tests: list[TestView] = field(default_factory=list)
    pictures: list[Picture] = field(default_factory=list)  # what its graded runs drew, test by test
    measures: list[Measure] = field(default_factory=list)  # the judge's numbers, bars and the reference's


@dataclass
class PracticeView:
    name: str
    status: str  # graded, missing (not submitted), invalid, or "not graded" (the submission was not graded)
    reason: str
    score: float
    max_score: float
    tasks: list[TaskView] = field(default_factory=list)

    @property
    def submitted(self) -> bool:
        return self.status != "missing"


@dataclass
class StudentView:
    student: str
    status: str  # graded, rejected, error
    reason: str
    notes: list[str]
    source: str
    run_id: int
    graded_at: str
    submitted_at: datetime | None
    grader_version: str
    suites_hash: str
    isolation: list[str]
    practices: list[PracticeView] = field(default_factory=list)
    late: Late | None = None

    @property
    def score(self) -> float:
        return sum(p.score for p in self.practices)

    @property
    def max_score(self) -> float:
        return sum(p.max_score for p in self.practices)

    @property
    def final(self) -> float:
        """The score after the late penalty."""
        return self.late.apply(self.score) if self.late else self.score

    def practice(self, name: str) -> PracticeView | None:
        return next((p for p in self.practices if p.name == name), None)


@dataclass
class ClassView:
    practices: list[str]
    students: list[StudentView]
    policy: LatePolicy | None = None

    def max_score(self, practice: str) -> float:
        return max((p.max_score for s in self.students for p in s.practices if p.name == practice), default=0.0)

    @property
    def task_titles(self) -> dict[str, tuple[str, float]]:
        """task id -> (title, max points), over the whole class."""
        titles: dict[str, tuple[str, float]] = {}
        for student in self.students:
            for practice in student.practices:
                for task in practice.tasks:
                    if task.max_score >= titles.get(task.id, ("", -1.0))[1]:
                        titles[task.id] = (task.title, task.max_score)
        return titles


def load(db_path: Path, *, tests: bool = True, policy: LatePolicy | None = None) -> ClassView:
    """The current grades in `db_path`. `policy` overrides the late policy stored at grading."""
    db = database.connect(db_path, create=False)
    try:
        return from_db(db, tests=tests, policy=policy)
    finally:
        db.close()


def from_db(db: sqlite3.Connection, *, tests: bool = True, policy: LatePolicy | None = None) -> ClassView:
    """The current grades in an open gradebook."""
    stored = database.get_meta(db, "late_policy")
    policy = policy or (LatePolicy.from_json(stored) if stored else None)
    return _load(db, tests, policy)


def _load(db: sqlite3.Connection, with_tests: bool, policy: LatePolicy | None) -> ClassView:
    rows = db.execute("SELECT * FROM submissions ORDER BY run_id").fetchall()
    history: dict[str, list[sqlite3.Row]] = {}
    for row in rows:
        history.setdefault(row["student"], []).append(row)
    students = []
    for student in sorted(history):
        current = history[student][-1]
        view = StudentView(
            student=student, status=current["status"], reason=current["reason"], notes=json.loads(current["notes"]),
            source=current["source"], run_id=current["run_id"], graded_at=current["graded_at"],
            submitted_at=parse_time(current["submitted_at"]) if current["submitted_at"] else None,
            grader_version=current["grader_version"], suites_hash=current["suites_hash"],
            isolation=json.loads(current["isolation"]))
        if current["status"] == "graded":
            runs = [r["run_id"] for r in reversed(history[student])
                    if r["content_hash"] == current["content_hash"] and r["status"] == "graded"]
            view.practices = _practices(db, student, runs, with_tests)
        if policy:
            view.late = policy.assess(view.submitted_at)
        students.append(view)
    order = course_order()
    names = {p.name for s in students for p in s.practices}
    practices = sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))
    view = ClassView(practices, students, policy)
    for student in students:  # a practice not graded for someone: 0 of the class's maximum
        have = {p.name for p in student.practices}
        reason = student.reason if student.status != "graded" else "not graded"
        student.practices += [PracticeView(n, "not graded", reason, 0.0, view.max_score(n))
                              for n in practices if n not in have]
        student.practices.sort(key=lambda p: practices.index(p.name))
    return view


def _practices(db: sqlite3.Connection, student: str, runs: list[int], with_tests: bool) -> list[PracticeView]:
    chosen: dict[str, PracticeView] = {}
    for run_id in runs:  # newest first
        for row in db.execute("SELECT * FROM practices WHERE run_id=? AND student=?", (run_id, student)):
            if row["practice"] in chosen:
                continue
            practice = PracticeView(row["practice"], row["status"], row["reason"], row["score"], row["max_score"])
            tasks = db.execute("SELECT * FROM tasks WHERE run_id=? AND student=? AND practice=?",
                               (run_id, student, row["practice"])).fetchall()
            for task in tasks:
                view = TaskView(task["task"], task["title"], task["status"], task["score"], task["max_score"],
                                task["location"])
                if with_tests:
                    view.tests = [TestView(t["nodeid"], t["name"], t["task"], t["category"], t["visibility"],
                                           t["status"], t["points"], t["earned"], t["message"], t["output"])
                                  for t in db.execute("SELECT * FROM tests WHERE run_id=? AND student=? AND task=? "
                                                      "ORDER BY rowid", (run_id, student, task["task"]))]
                    view.pictures, view.measures = _attachments(db, run_id, student, view.tests)
                practice.tasks.append(view)
            practice.tasks.sort(key=lambda t: _task_key(t.id))
            if not practice.submitted:
                _not_submitted(practice)
            chosen[row["practice"]] = practice
    return list(chosen.values())


def _attachments(db: sqlite3.Connection, run_id: int, student: str,
                 tests: list[TestView]) -> tuple[list[Picture], list[Measure]]:
    """The pictures and measures `tests` attached in run `run_id`, in test order."""
    pictures: list[Picture] = []
    measures: list[Measure] = []
    for test in tests:
        key = (run_id, student, test.nodeid)
        pictures += [Picture(row["name"], row["caption"], bytes(row["png"]), test.visibility) for row in db.execute(
            "SELECT name, caption, png FROM pictures WHERE run_id=? AND student=? AND nodeid=? ORDER BY position", key)]
        measures += [Measure(row["name"], row["value"], row["bar"], bool(row["at_least"]), row["reference"], row["fmt"],
                             test.visibility) for row in db.execute(
            "SELECT * FROM measures WHERE run_id=? AND student=? AND nodeid=? ORDER BY position", key)]
    return pictures, measures


def _not_submitted(practice: PracticeView) -> None:
    for task in practice.tasks:
        task.status = NOT_SUBMITTED
        for test in task.tests:
            test.status, test.message, test.output = NOT_SUBMITTED, practice.reason, ""


def _task_key(task_id: str) -> tuple[str, int]:
    practice, _, number = task_id.partition(".")
    return practice, int(number) if number.isdigit() else 0


# ---- changes ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    student: str
    task: str
    before: float | None  # None: no score before (a new student or task)
    after: float | None


def task_scores(view: ClassView, students: set[str] | None = None) -> dict[tuple[str, str], float]:
    """(student, task) -> points, for the current grades."""
    return {(s.student, t.id): t.score for s in view.students if students is None or s.student in students
            for p in s.practices for t in p.tasks}


def run_scores(db: sqlite3.Connection, run_id: int) -> dict[tuple[str, str], float]:
    """(student, task) -> points in one run; students not graded in it score 0 on its tasks."""
    rows = db.execute("SELECT student, task, score FROM tasks WHERE run_id=?", (run_id,))
    scores = {(student, task): score for student, task, score in rows}
    tasks = {task for _, task in scores}
    for (student,) in db.execute("SELECT student FROM submissions WHERE run_id=? AND status!='graded'", (run_id,)):
        scores.update({(student, task): 0.0 for task in tasks})
    return scores


def changes(before: dict[tuple[str, str], float], after: dict[tuple[str, str], float],
            students: set[str] | None = None) -> list[Change]:
    """Every (student, task) whose points differ, among `students` (all when None).

    Only students who had scores before count: a first grade is not a change.
    """
    known = {student for student, _ in before}
    keys = {k for k in set(after) | set(before)
            if k[0] in known and (students is None or k[0] in students)}
    found = [Change(s, t, before.get((s, t)), after.get((s, t))) for s, t in keys
             if before.get((s, t)) != after.get((s, t))]
    return sorted(found, key=lambda c: (c.student, _task_key(c.task)))
