"""A fault of the machine is one line: a full disk, a read-only or vanished --out, a newer gradebook.

Each is made for real: `--out` is a small size-capped tmpfs (mounted here, as root), filled up or
made read-only between two submissions; nothing is mocked but the moment it happens. Each test
checks the line (what happened, what is kept, that the same command continues), the exit code,
and that running the same command again finishes the batch with nothing graded twice.
"""

from __future__ import annotations

import errno
import hashlib
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from gradebook_classes import SOLUTION, grade_args, invoke, write_folder

from grader.gradebook import database, faults, grade

STUDENTS = ("ann", "ben", "cat")


@pytest.fixture
def tmpfs(tmp_path):
    """A 4 MiB tmpfs at tmp_path/mnt, unmounted afterwards; skipped where mounting is refused."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root and mount rights): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _class(root: Path) -> Path:
    folder = root / "submissions"
    for student in STUDENTS:
        write_folder(folder / student, {"basics.py": SOLUTION["basics"]})
    return folder


def _after_first_record(monkeypatch, action) -> None:
    """Do `action` once, right after the first submission is recorded (the moment the fault starts)."""
    real = database.record
    calls = []

    def record(*args, **kwargs):
        real(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            action()

    monkeypatch.setattr(grade.database, "record", record)


def _one_error_line(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in output, output
    return errors[0]


def _graded(out: Path) -> set[str]:
    connection = sqlite3.connect(out / "gradebook.sqlite")
    try:
        return {row[0] for row in connection.execute("SELECT student FROM submissions WHERE status='graded'")}
    finally:
        connection.close()


def _args(submissions: Path, out: Path) -> list[str]:
    return [*grade_args(submissions, out, "--export", "csv"), "-p", "basics", "-j", "1"]


def test_a_full_disk_while_grading_is_one_line_and_the_same_command_resumes(tmp_path, tmpfs, monkeypatch):
    from grader.gradebook.cli import grade_command

    submissions, out = _class(tmp_path), tmpfs / "grading"
    filler = tmpfs / "filler"

    def fill() -> None:
        with open(filler, "wb") as file:
            try:
                while True:
                    file.write(bytes(1 << 16))
                    file.flush()
            except OSError as error:
                assert error.errno == errno.ENOSPC

    _after_first_record(monkeypatch, fill)
    result = invoke(grade_command, _args(submissions, out))
    line = _one_error_line(result.output)
    assert result.exit_code == 1
    assert "the disk is full" in line and "kept in" in line and "run the same command again" in line
    kept = _graded(out)
    assert len(kept) >= 1
    monkeypatch.undo()
    filler.unlink()
    again = invoke(grade_command, _args(submissions, out))
    assert again.exit_code == 0, again.output
    assert _graded(out) == set(STUDENTS)
    assert f"{len(kept)} already graded" in again.output


def test_a_read_only_out_is_one_line_and_nothing_is_changed(tmp_path, tmpfs):
    from grader.gradebook.cli import grade_command

    submissions, out = _class(tmp_path), tmpfs / "grading"
    first = tmp_path / "first"
    shutil.copytree(submissions / "ann", first / "ann")
    assert invoke(grade_command, _args(first, out)).exit_code == 0
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    before = hashlib.sha256((out / "gradebook.sqlite").read_bytes()).hexdigest()
    result = invoke(grade_command, _args(submissions, out))
    line = _one_error_line(result.output)
    assert result.exit_code == 1
    assert "cannot write there" in line and "make it writable" in line and "run the same command again" in line
    assert hashlib.sha256((out / "gradebook.sqlite").read_bytes()).hexdigest() == before
    subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True)
    again = invoke(grade_command, _args(submissions, out))
    assert again.exit_code == 0, again.output
    assert _graded(out) == set(STUDENTS) and "1 already graded" in again.output


def test_an_out_folder_that_vanishes_while_grading_is_one_line(tmp_path, monkeypatch):
    from grader.gradebook.cli import grade_command

    submissions, out = _class(tmp_path), tmp_path / "grading"
    _after_first_record(monkeypatch, lambda: shutil.rmtree(out))
    result = invoke(grade_command, _args(submissions, out))
    line = _one_error_line(result.output)
    assert result.exit_code == 1
    assert "disappeared" in line and "run the same command again" in line


def test_a_gradebook_of_another_version_is_refused_untouched(tmp_path):
    from grader.gradebook.cli import export_command, grade_command

    submissions, out = _class(tmp_path), tmp_path / "grading"
    out.mkdir()
    connection = sqlite3.connect(out / "gradebook.sqlite")
    connection.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                             "INSERT INTO meta VALUES ('schema', '99');")
    connection.close()
    before = (out / "gradebook.sqlite").read_bytes()
    for command, args in ((grade_command, _args(submissions, out)), (export_command, ["csv", "--out", str(out)])):
        result = invoke(command, args)
        line = _one_error_line(result.output)
        assert result.exit_code == 2
        assert "another version of the grader" in line and "schema 99" in line and "nothing in it was changed" in line
    assert (out / "gradebook.sqlite").read_bytes() == before


@pytest.mark.parametrize("error, expected", [
    (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
    (sqlite3.OperationalError("database or disk is full"), "the disk is full"),
    (OSError(errno.EROFS, "Read-only file system"), "cannot write there"),
    (OSError(errno.ENOENT, "No such file or directory"), "disappeared"),
])
def test_each_fault_reads_as_what_happened(tmp_path, error, expected):
    line = faults.describe(error, tmp_path)
    assert expected in line and "\n" not in line and "run the same command again" in line
