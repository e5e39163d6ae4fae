"""Which results are current, from synthetic gradebooks (no grading): runs, practices, content."""

from __future__ import annotations

from grader.gradebook import database, view

CONFIG = {"practices": ["basics", "conv_shapes"], "select": None, "suites_hash": "s" * 64, "grader_version": "0.1.0",
          "derandomize": {"derandomize": True}}


def result(scores: dict[str, float]) -> dict:
    """A graded result with one 2-point test per task; `scores` are the points earned per task."""
    practices = {}
    for task, earned in scores.items():
        practice = task.split(".")[0]
        test = {"nodeid": f"{practice}/test.py::test_{task}", "name": f"test_{task}", "task": task, "points": 2.0,
                "category": "values", "visibility": "public", "status": "passed" if earned == 2 else "failed",
                "message": "", "output": "", "seconds": 0.1}
        practices.setdefault(practice, []).append({"id": task, "title": "", "status": test["status"], "score": earned,
                                                   "max_score": 2.0, "where": "", "tests": [test]})
    report = {"score": sum(scores.values()), "max_score": 2.0 * len(scores), "isolation": ["test"], "device": "cpu",
              "practices": [{"name": p, "score": sum(t["score"] for t in tasks), "max_score": 2.0 * len(tasks),
                             "tasks": tasks} for p, tasks in practices.items()]}
    return {"status": "graded", "reason": "", "report": report, "practices": {}, "seconds": 1.0}


def entry(student: str, content: str) -> dict:
    return {"student": student, "source": student + "/", "content_hash": content, "submitted_at": None,
            "notes": [], "grader_version": "0.1.0", "suites_hash": "s" * 64, "derandomize": {}}


def test_a_practice_regraded_alone_keeps_the_others(tmp_path):
    db = database.connect(tmp_path / "g.sqlite")
    first = database.new_run(db, CONFIG, shard="", options={})
    database.record(db, first, entry("alice", "h1"), result({"basics.1": 0.0, "conv_shapes.1": 2.0}))
    second = database.new_run(db, {**CONFIG, "practices": ["basics"]}, shard="", options={})
    database.record(db, second, entry("alice", "h1"), result({"basics.1": 2.0}))
    grades = view.from_db(db)
    alice = grades.students[0]
    assert {p.name: p.score for p in alice.practices} == {"basics": 2.0, "conv_shapes": 2.0}
    assert grades.practices == ["basics", "conv_shapes"]


def test_a_changed_submission_never_mixes_with_its_older_version(tmp_path):
    db = database.connect(tmp_path / "g.sqlite")
    first = database.new_run(db, CONFIG, shard="", options={})
    database.record(db, first, entry("alice", "old"), result({"basics.1": 2.0, "conv_shapes.1": 2.0}))
    database.record(db, first, entry("bob", "b"), result({"basics.1": 2.0, "conv_shapes.1": 2.0}))
    second = database.new_run(db, {**CONFIG, "practices": ["basics"]}, shard="", options={})
    database.record(db, second, entry("alice", "new"), result({"basics.1": 1.0}))
    alice = view.from_db(db).students[0]
    assert alice.practice("basics").score == 1.0
    assert alice.practice("conv_shapes").status == "not graded" and alice.practice("conv_shapes").score == 0


def test_a_rejection_after_a_grade_scores_zero_with_the_reason(tmp_path):
    db = database.connect(tmp_path / "g.sqlite")
    first = database.new_run(db, CONFIG, shard="", options={})
    database.record(db, first, entry("bob", "h1"), result({"basics.1": 2.0}))
    database.record(db, first, entry("carol", "h2"), result({"basics.1": 1.0}))
    second = database.new_run(db, CONFIG, shard="", options={})
    database.record(db, second, entry("bob", "bad"), {"status": "rejected", "reason": "not a readable .zip file"})
    students = {s.student: s for s in view.from_db(db).students}
    assert students["bob"].status == "rejected" and students["bob"].score == 0
    assert students["bob"].practice("basics").max_score == 2.0  # the class's maximum
    assert students["bob"].practice("basics").reason == "not a readable .zip file"
    assert students["carol"].score == 1.0


def test_changes_ignore_first_grades_and_name_new_tasks():
    before = {("alice", "basics.1"): 0.0}
    after = {("alice", "basics.1"): 2.0, ("alice", "basics.2"): 1.0, ("bob", "basics.1"): 2.0}
    assert view.changes(before, after) == [view.Change("alice", "basics.1", 0.0, 2.0),
                                           view.Change("alice", "basics.2", None, 1.0)]
    assert view.changes(before, after, {"bob"}) == []


def test_carry_copies_a_result_into_a_new_run(tmp_path):
    db = database.connect(tmp_path / "g.sqlite")
    first = database.new_run(db, CONFIG, shard="", options={})
    database.record(db, first, entry("alice", "h1"), result({"basics.1": 2.0}))
    second = database.new_run(db, CONFIG, shard="", options={})
    assert database.reusable(db, second) == {("alice", "h1"): first}
    database.carry(db, "alice", first, second, "2030-01-01T00:00:00+00:00")
    rows = db.execute("SELECT run_id, carried_from, submitted_at FROM submissions ORDER BY run_id").fetchall()
    assert [tuple(r) for r in rows] == [(first, None, None), (second, first, "2030-01-01T00:00:00+00:00")]
    assert db.execute("SELECT COUNT(*) FROM tests WHERE run_id=?", (second,)).fetchone()[0] == 1
