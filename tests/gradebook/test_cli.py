"""The commands' user errors: one line, exit code 2, no traceback; and their help."""

from __future__ import annotations

import fcntl
import subprocess
import sys

import pytest
from gradebook_classes import SOLUTION, invoke, write_folder

from grader import paths
from grader.gradebook.cli import export_command, grade_command, gradebook


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip() and not line.startswith("grading")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def submissions(tmp_path):
    write_folder(tmp_path / "subs" / "alice", {"basics.py": SOLUTION["basics"]})
    return tmp_path / "subs"


@pytest.mark.parametrize("args, phrase", [
    (["{tmp}/absent"], "no such folder"),
    (["{subs}/alice/basics.py"], "not a folder"),
    (["{subs}", "--out", "{subs}/grading"], "is inside"),
    (["{subs}", "-p", "nope"], "unknown practice 'nope'"),
    (["{subs}", "--shard", "5/4"], "--shard 5/4"),
    (["{subs}", "--executor", "dask"], "needs --scheduler"),
    (["{subs}", "--late-penalty", "5"], "--late-penalty needs --deadline"),
    (["{subs}", "--deadline", "next friday"], "is not a time"),
    (["{subs}", "--deadline", "2030-01-01", "--late-penalty", "150"], "from 0 to 100"),
    (["{subs}", "--times", "{tmp}/absent.csv"], "absent.csv"),
    (["{tmp}/empty"], "no submissions"),
])
def test_grade_user_errors(tmp_path, submissions, args, phrase):
    (tmp_path / "empty").mkdir()
    filled = [a.format(tmp=tmp_path, subs=submissions) for a in args]
    if "--out" not in filled:
        filled += ["--out", str(tmp_path / "out")]
    assert phrase in one_line_error(invoke(grade_command, filled))


def test_a_bad_times_file_names_its_line(tmp_path, submissions):
    times = tmp_path / "times.csv"
    times.write_text("student,submitted_at\nalice,yesterday\n")
    line = one_line_error(invoke(grade_command, [str(submissions), "--out", str(tmp_path / "out"),
                                                 "--deadline", "2030-01-01", "--times", str(times)]))
    assert "times.csv, line 2" in line


def test_a_busy_gradebook_is_refused(tmp_path, submissions):
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        line = one_line_error(invoke(grade_command, [str(submissions), "--out", str(out)]))
    assert "another `bootcamp grade` is writing" in line


def test_export_and_gradebook_user_errors(tmp_path):
    assert "no such gradebook" in one_line_error(invoke(export_command, ["csv", "--out", str(tmp_path)]))
    result = invoke(export_command, ["pdf", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "pdf" in result.output
    assert "no such gradebook" in one_line_error(invoke(gradebook, ["runs", "--db", str(tmp_path / "x.sqlite")]))
    assert "no such gradebook" in one_line_error(
        invoke(gradebook, ["merge", str(tmp_path / "all.sqlite"), str(tmp_path / "missing.sqlite")]))


def test_the_progress_bar_and_summary_show(graded_class):
    assert "grading" in graded_class.output and "failed" in graded_class.output
    assert "run 1 (new)" in graded_class.output
    assert "wrote " in graded_class.output and "summary.html" in graded_class.output


def test_the_module_entry_point_lists_the_commands():
    result = subprocess.run([sys.executable, "-m", "grader.gradebook", "--help"], capture_output=True, text=True,
                            cwd=paths.REPO_ROOT, timeout=120)
    assert result.returncode == 0
    assert all(name in result.stdout for name in ("grade", "export", "gradebook"))
    hidden = subprocess.run([sys.executable, "-m", "grader.gradebook", "grade", "--help"], capture_output=True,
                            text=True, cwd=paths.REPO_ROOT, timeout=120)
    assert "--workers" in hidden.stdout and "--select" not in hidden.stdout  # advanced options stay hidden
