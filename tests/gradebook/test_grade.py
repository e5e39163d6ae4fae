"""`grade` on a mixed, partly hostile class: right grades, a reason for every problem, nothing else touched."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess

import psutil
import pytest

from grader import __version__
from grader.gradebook import view
from grader.gradebook.grade import suites_hash
from grader.sandbox import limits
from grader.sandbox.limits import slot_uid


def current(graded_class):
    return {s.student: s for s in view.load(graded_class.db).students}


def test_the_batch_finishes_and_says_what_happened(graded_class):
    assert graded_class.exit_code == 0, graded_class.output
    assert "Traceback" not in graded_class.output
    assert "6 graded now" in graded_class.output
    assert f"{len(graded_class.hostile)} rejected" in graded_class.output
    assert "ignored (not a folder or .zip): loose-notes.txt" in graded_class.output
    assert "rejected [bold]x: no practice file" in graded_class.output  # not read as markup


def test_grades_follow_the_submissions(graded_class):
    students = current(graded_class)
    alice = students["alice"]
    full = {p.name: p.max_score for p in alice.practices}
    assert full["basics"] > 0 and full["conv_shapes"] > 0
    assert {p.name: p.score for p in alice.practices} == full
    assert {p.name: p.score for p in students["dave"].practices} == full  # a zipped folder
    assert students["bob"].score == 0  # the skeleton
    assert all(t.status == "not implemented" for p in students["bob"].practices for t in p.tasks)
    relu = next(t for p in students["carol"].practices for task in p.tasks for t in task.tests
                if t.name == "test_relu_matches_torch")
    assert relu.status == "failed"
    assert students["carol"].practice("basics").score == full["basics"] - relu.points
    assert students["carol"].practice("conv_shapes").status == "missing"


def test_a_syntax_error_costs_only_its_practice(graded_class):
    erin = current(graded_class)["erin"]
    basics, conv = erin.practice("basics"), erin.practice("conv_shapes")
    assert (basics.status, basics.score) == ("invalid", 0)
    assert "basics.py, line 4: syntax error" in basics.reason
    assert conv.status == "graded" and conv.score == conv.max_score > 0


def test_only_the_selected_tests_count(graded_class):
    tests = graded_class.query("SELECT DISTINCT name FROM tests")
    assert {row["name"] for row in tests} == {"test_relu_matches_torch", "test_tanh_is_stable_for_large_inputs",
                                              "test_mse_loss_matches_torch", "test_conv_output_size_examples"}
    assert {row["visibility"] for row in graded_class.query("SELECT visibility FROM tests")} == {"public", "hidden"}


def test_every_hostile_submission_is_rejected_with_its_reason(graded_class):
    students = current(graded_class)
    for student, phrase in graded_class.hostile.items():
        assert students[student].status == "rejected", student
        assert phrase in students[student].reason, (student, students[student].reason)
        assert students[student].score == 0


def test_extra_files_are_noted(graded_class):
    frank = current(graded_class)["frank"]
    notes = " ".join(frank.notes)
    assert "homework3.py" in notes and "not a practice" in notes
    assert "not valid UTF-8" in notes
    assert frank.practice("basics").score == frank.practice("basics").max_score


def test_each_result_records_versions_hashes_seed_and_isolation(graded_class):
    rows = graded_class.query("SELECT * FROM submissions WHERE status='graded'")
    assert len(rows) == len(graded_class.graded)
    expected_hash = suites_hash(["basics", "conv_shapes"])
    for row in rows:
        assert row["grader_version"] == __version__
        assert row["suites_hash"] == expected_hash
        assert json.loads(row["derandomize"])["derandomize"] is True
        assert any("separate process" in measure for measure in json.loads(row["isolation"]))
        assert len(row["content_hash"]) == 64
    if os.geteuid() == 0 and os.path.exists("/proc/self/ns/mnt"):  # each of the two slots runs as its own user
        users = {int(re.search(r"uid (\d+)", measure)[1])
                 for row in rows for measure in json.loads(row["isolation"]) if "uid" in measure}
        assert users and len(users) <= 2 and min(users) >= limits.SLOT_UID_BASE, users
    run = graded_class.query("SELECT * FROM runs")
    assert len(run) == 1 and run[0]["status"] == "finished" and run[0]["suites_hash"] == expected_hash
    assert graded_class.query("PRAGMA journal_mode")[0][0] == "wal"


def test_nothing_is_written_outside_out(graded_class):
    assert graded_class.after == graded_class.before  # the submissions are untouched
    assert sorted(p.name for p in graded_class.root.iterdir()) == ["out", "submissions", "times.csv"]
    assert not (graded_class.out / ".work").exists()  # the jobs' temporary folders are gone
    assert not list(graded_class.out.rglob("*.tmp"))  # every export was renamed into place
    assert (graded_class.db.stat().st_mode & 0o077) == 0  # hidden tests' messages: owner only


def test_each_grading_slot_has_its_own_sandbox_user():
    from grader.gradebook.executors import LocalExecutor

    with LocalExecutor(2) as first, LocalExecutor(2) as second:  # two batches on one machine at once
        uids = [host.uid for executor in (first, second) for host in executor._all]
        numbers = [host.slot.number for executor in (first, second) for host in executor._all]
        assert len(set(uids)) == 4, uids
    with LocalExecutor(1) as again:  # the slots were given back: the lowest free one is one of them again
        # (or a lower one that another grading run on this machine held then and has given back since)
        assert again._all[0].slot.number <= min(numbers) or os.geteuid() != 0
    assert all(uid >= 65536 for uid in uids) or os.geteuid() != 0


def test_a_slot_user_is_one_the_kernel_can_switch_to(tmp_path, monkeypatch):
    from grader.sandbox import limits

    assert slot_uid(3) == 65539
    monkeypatch.setattr(limits, "_mapped", lambda uid: uid < 65536)  # a container mapping only 65536 ids
    assert slot_uid(3) == 65530
    monkeypatch.setattr(limits, "_mapped", lambda uid: uid == limits.NOBODY_UID)
    assert slot_uid(3) == limits.NOBODY_UID


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs processes as other users")
def test_a_slot_is_cleared_of_every_process_of_its_user_even_a_stopped_one():
    from grader.sandbox.slots import kill_user

    uid = slot_uid(4000)
    left = subprocess.Popen(["sleep", "300"], user=uid, group=uid)
    try:
        process = psutil.Process(left.pid)
        os.kill(left.pid, signal.SIGSTOP)
        psutil.wait_procs([process], timeout=0.5)
        assert process.is_running() and process.status() == psutil.STATUS_STOPPED
        kill_user(uid)
        assert not process.is_running()
    finally:
        left.kill()
        left.wait()


def test_a_relative_out_folder_grades_like_an_absolute_one(tmp_path, monkeypatch):
    """docs/grading.md's examples name --out relative to where the command runs."""
    from gradebook_classes import SOLUTION, grade_args, invoke, write_folder

    from grader.gradebook.cli import grade_command

    write_folder(tmp_path / "submissions" / "alice", {f"{p}.py": text for p, text in SOLUTION.items()})
    monkeypatch.chdir(tmp_path)
    result = invoke(grade_command, grade_args(tmp_path / "submissions", "grading"))
    assert result.exit_code == 0, result.output
    students = view.load(tmp_path / "grading" / "gradebook.sqlite").students
    assert [(s.student, s.status) for s in students] == [("alice", "graded")]
    assert students[0].score == students[0].max_score > 0
