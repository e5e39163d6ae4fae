"""`bootcamp release`: skeletons from solutions through nbgrader, and the staleness check."""

from __future__ import annotations

import ast

import pytest
from click.testing import CliRunner

from grader import paths
from grader.cli import cli
from grader.release import ReleaseError, practices, release, skeleton_source, stale

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


def test_the_committed_skeletons_are_up_to_date():
    result = CliRunner().invoke(cli, ["release", "--check"])
    assert result.exit_code == 0, result.output
    assert set(practices()) <= {p.stem for p in paths.ASSIGNMENTS_DIR.glob("*.py")}
