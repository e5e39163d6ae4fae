"""`bootcamp train` for each practice: a skeleton stops with one clear line; a missing file is bad input."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from grader.cli import cli

# practice, the first task its training reaches in the untouched skeleton
PRACTICES = [("mnist_cnn", "mnist_cnn.1"), ("cgan", "cgan.2"), ("dcgan", "dcgan.2"), ("pix2pix", "pix2pix.1")]


@pytest.mark.parametrize("practice, task", PRACTICES)
def test_the_skeleton_stops_with_one_clear_line(tmp_path, practice, task):
    result = CliRunner().invoke(cli, ["train", practice, "--epochs", "1", "--out", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "training stopped" in result.output and task in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("practice, task", PRACTICES)
def test_a_missing_practice_file_is_bad_input(tmp_path, practice, task):
    result = CliRunner().invoke(cli, ["train", practice, "--path", str(tmp_path), "--out", str(tmp_path)])
    assert result.exit_code == 2 and f"no {practice}.py here" in result.output
