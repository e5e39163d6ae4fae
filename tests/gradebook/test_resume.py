"""A gradebook that loses nothing: SIGKILL and resume, Ctrl-C, regrades with their changes, timeouts."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from gradebook_classes import (PARTIAL_BASICS, SOLUTION, build_graded_students, build_hostile_students, grade_args,
                               invoke, task_scores, write_folder)

from grader import paths
from grader.gradebook import database
from grader.gradebook.cli import gradebook
from grader.gradebook.grade import Interrupted, Options, grade
from grader.gradebook.view import Change

SMALL_SELECT = "test_relu_matches or mse_loss_matches"


def graded_count(db: Path) -> int:
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return connection.execute("SELECT COUNT(*) FROM submissions WHERE status='graded'").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return 0


def test_sigkill_then_the_same_command_resumes_and_matches_an_uninterrupted_run(graded_class, tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    build_graded_students(submissions)
    build_hostile_students(submissions)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader.gradebook", "grade",
               *grade_args(submissions, out, "--max-mib", "2", "--export", "csv")]
    process = subprocess.Popen(command, cwd=paths.REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while graded_count(out / "gradebook.sqlite") < 1:
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline, "no submission was graded in time"
        time.sleep(0.2)
    children = psutil.Process(process.pid).children(recursive=True)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    _, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, f"orphans left after the kill: {[p.cmdline()[:4] for p in alive]}"
    finished = graded_count(out / "gradebook.sqlite")
    assert 1 <= finished < 6  # stopped partway
    kept = {row[0]: row[1] for row in sqlite3.connect(out / "gradebook.sqlite").execute(
        "SELECT student, graded_at FROM submissions WHERE status='graded'")}

    again = subprocess.run(command, cwd=paths.REPO_ROOT, capture_output=True, text=True, timeout=300,
                           env={**os.environ, "COLUMNS": "200"})
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(resumed)" in again.stdout
    assert f"{6 - finished} graded now" in again.stdout  # nothing graded twice
    connection = sqlite3.connect(out / "gradebook.sqlite")
    assert connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
    for student, graded_at in kept.items():  # the results from before the kill were kept, not redone
        row = connection.execute("SELECT graded_at FROM submissions WHERE student=?", (student,)).fetchone()
        assert row[0] == graded_at
    connection.close()
    assert task_scores(out / "gradebook.sqlite") == task_scores(graded_class.db)
    assert csv_scores(out / "grades.csv") == csv_scores(graded_class.out / "grades.csv")


def csv_scores(path: Path) -> dict:
    """student -> status, practice scores, total, reason (the reference run also had late columns)."""
    with open(path, newline="") as file:
        return {row["student"]: (row["status"], row["basics"], row["conv_shapes"], row["total"], row["reason"])
                for row in csv.DictReader(file)}


@pytest.fixture
def small_class(tmp_path):
    submissions = tmp_path / "submissions"
    write_folder(submissions / "alice", {"basics.py": SOLUTION["basics"]})
    write_folder(submissions / "carol", {"basics.py": PARTIAL_BASICS})
    return submissions


def small_options(**changes) -> Options:
    return Options(**{"practices": ["basics"], "workers": 2, "select": SMALL_SELECT, **changes})


def test_regrade_keeps_the_old_run_and_reports_what_changed(small_class, tmp_path):
    out = tmp_path / "out"
    first = grade(small_class, out, small_options())
    assert first.graded == 2 and not first.changes
    db = out / "gradebook.sqlite"
    relu_points = sqlite3.connect(db).execute(
        "SELECT points FROM tests WHERE student='alice' AND name='test_relu_matches_torch'").fetchone()[0]
    with sqlite3.connect(db) as connection:  # as if run 1 had a wrong test that failed alice's relu
        connection.execute("UPDATE tasks SET score=score-? WHERE student='alice' AND task='basics.1'", (relu_points,))

    regrade = grade(small_class, out, small_options(regrade=True))
    assert regrade.graded == 2 and regrade.run_id == 2 and not regrade.resumed
    assert regrade.changes == [Change("alice", "basics.1", 0.0, relu_points)]
    connection = sqlite3.connect(db)
    assert connection.execute("SELECT COUNT(*) FROM tasks WHERE run_id=1").fetchone()[0] > 0  # history kept
    connection.close()
    shown = invoke(gradebook, ["diff", "--db", str(db)])
    assert shown.exit_code == 0 and "alice" in shown.output and "basics.1" in shown.output

    (small_class / "carol" / "basics.py").write_text(SOLUTION["basics"])  # carol resubmits, fixed
    changed = grade(small_class, out, small_options())
    assert (changed.graded, changed.carried, changed.skipped) == (1, 1, 0)
    assert changed.run_id == 3
    assert [(c.student, c.task, c.after) for c in changed.changes] == [("carol", "basics.1", relu_points)]
    scores = task_scores(db)
    assert scores["carol", "basics.1"] == scores["alice", "basics.1"]

    again = grade(small_class, out, small_options())  # nothing changed: nothing graded, no new run
    assert (again.graded, again.skipped, again.run_id) == (0, 2, 3)


def test_ctrl_c_stops_cleanly_and_the_next_run_continues(small_class, tmp_path):
    out = tmp_path / "out"

    def interrupt(event):
        if event.done >= 1:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="run the same command again"):
        grade(small_class, out, small_options(workers=1), interrupt)
    connection = database.connect(out / "gradebook.sqlite", create=False)
    assert [run["status"] for run in database.runs(connection)] == ["interrupted"]
    connection.close()
    resumed = grade(small_class, out, small_options(workers=1))
    assert resumed.resumed and resumed.graded == 1 and resumed.skipped == 1


def test_a_submission_that_takes_too_long_is_an_error_until_retried(tmp_path):
    submissions = tmp_path / "submissions"  # each sleeps 3 s on import: slow on any machine, however warm
    pause = "\n\nimport time\n\ntime.sleep(3)\n"
    write_folder(submissions / "alice", {"basics.py": SOLUTION["basics"] + pause})
    write_folder(submissions / "carol", {"basics.py": PARTIAL_BASICS + pause})
    out = tmp_path / "out"
    slow = grade(submissions, out, small_options(submission_timeout=0.3))
    assert slow.graded == 0 and len(slow.errors) == 2
    assert all("took longer than 0.3 s" in reason for _, reason in slow.errors)
    kept = grade(submissions, out, small_options())  # an error is a result: not retried by default
    assert kept.graded == 0 and kept.skipped == 2
    retried = grade(submissions, out, small_options(retry_errors=True))
    assert retried.graded == 2 and not retried.errors
    scores = task_scores(out / "gradebook.sqlite")  # graded in full once given the time: carol's relu is wrong
    assert scores[("alice", "basics.1")] > 0 == scores[("carol", "basics.1")]
