"""`bootcamp release`: skeletons from solutions through nbgrader, and the staleness check."""

from __future__ import annotations

import ast
import hashlib
import json

import pytest
from click.testing import CliRunner

import grader.release
from grader import paths
from grader.cli import cli
from grader.registry import names as practices
from grader.release import RECORD, EditedSkeleton, ReleaseError, release, skeleton_source, stale

SOLUTION = '''"""A tiny practice."""
import torch


def double(x):
    """Return 2x. x: any shape."""
    # TODO tiny.1: implement double
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


class Box:
    def size(self):
        """The size."""
        # TODO tiny.2: implement Box.size
        ### BEGIN SOLUTION
        y = 3
        return y
        ### END SOLUTION
'''


def test_each_region_becomes_a_stub_naming_its_task_and_file():
    skeleton = skeleton_source(SOLUTION, "tiny")
    assert "return 2 * x" not in skeleton and "BEGIN SOLUTION" not in skeleton
    assert '    raise NotImplementedError("tiny.1: implement double in assignments/tiny.py")' in skeleton
    assert '        raise NotImplementedError("tiny.2: implement Box.size in assignments/tiny.py")' in skeleton
    assert '"""Return 2x. x: any shape."""' in skeleton and "# TODO tiny.1: implement double" in skeleton
    ast.parse(skeleton)


def test_a_region_without_a_todo_line_is_refused():
    with pytest.raises(ReleaseError, match="TODO"):
        skeleton_source(SOLUTION.replace("    # TODO tiny.1: implement double\n", ""), "tiny")


def test_an_unclosed_region_is_refused():
    with pytest.raises(ReleaseError, match="nested begin solution|no end solution"):
        skeleton_source(SOLUTION.replace("    ### END SOLUTION\n", "", 1), "tiny")


def test_release_writes_then_check_detects_drift(tmp_path):
    solutions, assignments = tmp_path / "solutions", tmp_path / "assignments"
    solutions.mkdir()
    (solutions / "tiny.py").write_text(SOLUTION)
    assert stale(solutions, assignments) == ["tiny.py"]
    assert release(solutions, assignments) == ["tiny.py"]
    assert stale(solutions, assignments) == []
    assert release(solutions, assignments) == []
    (solutions / "tiny.py").write_text(SOLUTION.replace("Return 2x", "Return twice x"))
    assert stale(solutions, assignments) == ["tiny.py"]
    assert not list(assignments.glob(".*tmp"))


def released(tmp_path):
    """A tiny course released once: (solutions, assignments)."""
    solutions, assignments = tmp_path / "solutions", tmp_path / "assignments"
    solutions.mkdir()
    (solutions / "tiny.py").write_text(SOLUTION)
    assert release(solutions, assignments) == ["tiny.py"]
    return solutions, assignments


def test_release_records_what_it_wrote_and_overwrites_only_that(tmp_path):
    solutions, assignments = released(tmp_path)
    assert json.loads((assignments / RECORD).read_text())["skeletons"] == {
        "tiny.py": hashlib.sha256((assignments / "tiny.py").read_bytes()).hexdigest()}
    (solutions / "tiny.py").write_text(SOLUTION.replace("Return 2x", "Return twice x"))
    assert release(solutions, assignments) == ["tiny.py"]  # the last release's text: replaced without asking
    assert "Return twice x" in (assignments / "tiny.py").read_text() and not list(assignments.glob("*.bak*"))
    assert stale(solutions, assignments) == []


def test_an_edited_skeleton_is_refused_and_kept(tmp_path):
    solutions, assignments = released(tmp_path)
    edited = (assignments / "tiny.py").read_text().replace("Return 2x", "Return 2x (see the slides)")
    (assignments / "tiny.py").write_text(edited)
    (solutions / "tiny.py").write_text(SOLUTION.replace("Return 2x", "Return twice x"))
    with pytest.raises(EditedSkeleton, match=r"tiny\.py was edited since `bootcamp release` wrote it.*--force"):
        release(solutions, assignments)
    assert (assignments / "tiny.py").read_text() == edited and not list(assignments.glob("*.bak*"))
    said = []
    assert release(solutions, assignments, force=True, say=said.append) == ["tiny.py"]
    assert (assignments / "tiny.py.bak").read_text() == edited and "Return twice x" in (assignments / "tiny.py").read_text()
    assert said == [f"kept the edited {assignments / 'tiny.py'} as {assignments / 'tiny.py.bak'}"]
    (assignments / "tiny.py").write_text(edited)  # edited again: a second copy, the first one kept
    (solutions / "tiny.py").write_text(SOLUTION)
    assert release(solutions, assignments, force=True, say=said.append) == ["tiny.py"]
    assert (assignments / "tiny.py.bak1").read_text() == edited and (assignments / "tiny.py.bak").read_text() == edited


def test_a_skeleton_without_a_record_that_differs_is_refused(tmp_path):
    solutions, assignments = released(tmp_path)
    (assignments / RECORD).write_text("<<<<<<< HEAD\n")  # a merge conflict: no readable record
    assert stale(solutions, assignments) == [RECORD]
    assert release(solutions, assignments) == []  # equal to what it should be: nothing to ask, the record renewed
    assert stale(solutions, assignments) == []
    (assignments / RECORD).unlink()
    (solutions / "tiny.py").write_text(SOLUTION.replace("Return 2x", "Return twice x"))
    with pytest.raises(EditedSkeleton):
        release(solutions, assignments)


def test_the_release_command_refuses_in_one_line_and_forces(tmp_path, monkeypatch):
    solutions, assignments = released(tmp_path)
    monkeypatch.setattr(paths, "SOLUTIONS_DIR", solutions)
    monkeypatch.setattr(paths, "ASSIGNMENTS_DIR", assignments)
    monkeypatch.setattr(grader.release.release, "__defaults__", (solutions, assignments))
    monkeypatch.setattr(grader.release.stale, "__defaults__", (solutions, assignments))
    monkeypatch.chdir(tmp_path)
    (assignments / "tiny.py").write_text("# mine\n")
    result = CliRunner().invoke(cli, ["release"])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert result.output.startswith("Error: assignments/tiny.py was edited since `bootcamp release` wrote it")
    assert (assignments / "tiny.py").read_text() == "# mine\n"
    result = CliRunner().invoke(cli, ["release", "--force"])
    assert result.exit_code == 0, result.output
    assert "kept the edited assignments/tiny.py as assignments/tiny.py.bak" in result.output
    assert (assignments / "tiny.py.bak").read_text() == "# mine\n"


def test_the_committed_skeletons_are_up_to_date():
    result = CliRunner().invoke(cli, ["release", "--check"])
    assert result.exit_code == 0, result.output
    assert set(practices()) <= {p.stem for p in paths.ASSIGNMENTS_DIR.glob("*.py")}
