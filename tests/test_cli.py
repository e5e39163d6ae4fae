"""The `bootcamp` command line: bad input is one line and exit 2; check's exit codes and output."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from grader import paths
from grader.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_unknown_practice():
    assert "unknown practice 'nope'" in one_line_error(run("check", "nope"))


def test_missing_folder(tmp_path):
    assert "no such folder" in one_line_error(run("check", "basics", "--path", str(tmp_path / "absent")))


def test_a_file_is_not_a_submission(tmp_path):
    (tmp_path / "basics.txt").write_text("x = 1\n")
    assert "not a practice file" in one_line_error(run("check", "basics", "--path", str(tmp_path / "basics.txt")))


def test_a_folder_without_the_practice_file(tmp_path):
    assert "no basics.py here" in one_line_error(run("check", "basics", "--path", str(tmp_path)))


def test_a_syntax_error_names_the_students_line(tmp_path):
    (tmp_path / "basics.py").write_text("import torch\n\ndef relu(x):\n    return x +\n")
    line = one_line_error(run("check", "basics", "--path", str(tmp_path)))
    assert "basics.py, line 4: syntax error" in line


def test_the_skeleton_lists_every_task_as_not_implemented_with_its_todo(tmp_path):
    report_path = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["check", "basics", "--public-only", "--json", str(report_path)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    report = json.loads(report_path.read_text())
    tasks = report["practices"][0]["tasks"]
    assert tasks and all(t["status"] == "not implemented" for t in tasks)
    skeleton = (paths.ASSIGNMENTS_DIR / "basics.py").read_text().splitlines()
    for task in tasks:
        file, line = task["where"].rsplit(":", 1)
        assert file.endswith("assignments/basics.py")
        assert f'raise NotImplementedError("{task["id"]}:' in skeleton[int(line) - 1]
        assert task["id"] in result.output
    assert "not implemented" in result.output and report["score"] == 0


def test_a_wrong_answer_points_at_the_function_it_checked(tmp_path):
    wrong_relu = "\n\ndef relu(x):\n    return x * 1.0\n"  # replaces the reference's relu
    source = (paths.SOLUTIONS_DIR / "basics.py").read_text() + wrong_relu
    (tmp_path / "basics.py").write_text(source)
    report_path = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["check", "basics", "--path", str(tmp_path), "-k", "relu and not leaky",
                                      "--json", str(report_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    task = json.loads(report_path.read_text())["practices"][0]["tasks"][0]
    assert task["id"] == "basics.1" and task["status"] == "failed"
    file, line = task["where"].rsplit(":", 1)
    assert file.endswith("basics.py")
    assert int(line) == len(source.splitlines()) - 1  # the student's own `def relu(x):`, at the end
    assert "in relu" in result.output


def test_the_solutions_pass_with_exit_code_zero():
    result = run("check", "conv_shapes", "--path", str(paths.SOLUTIONS_DIR), "--public-only")
    assert result.exit_code == 0, result.output
    assert "Total:" in result.output


def test_list_shows_tasks_points_and_counts():
    result = CliRunner().invoke(cli, ["list", "basics"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "basics.1" in result.output and "public" in result.output and "hidden" in result.output


@pytest.mark.parametrize("args", [["list", "nope"], ["check", "--device", "tpu"]])
def test_usage_errors_exit_2(args):
    result = run(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_bootcamp_starts_the_sandbox_mother_first_for_the_commands_that_grade(monkeypatch):
    import sys

    from grader import cli as cli_module
    from grader import launch
    from grader.sandbox import mother

    seen = []
    monkeypatch.setattr(cli_module, "main", lambda: seen.append(mother.current_mother()))
    monkeypatch.setattr(mother, "Mother", lambda: "a mother")  # no process: only who asks for one
    try:
        for argv, expected in ((["check", "basics"], "a mother"), (["train", "cgan"], "a mother"),
                               (["list"], None), (["check", "--help"], None)):
            mother.use_mother(None)
            monkeypatch.setattr(sys, "argv", ["bootcamp", *argv])
            launch.main()
            assert seen.pop() == expected, argv
    finally:
        mother.use_mother(None)


@pytest.mark.parametrize("width", [80, 120])
def test_the_table_keeps_every_task_description_in_a_narrow_terminal(width):
    """At 80 columns the `where` column names the file without its folder, so that each task's
    description keeps a readable column instead of being squeezed to nothing."""
    import io

    from rich.console import Console

    from grader.plugin import TestOutcome
    from grader.report import practice_table
    from grader.scoring import PracticeResult, TaskResult

    message = 'File "assignments/conv_shapes.py", line 111, in conv2d\nNotImplementedError'
    outcome = TestOutcome("t", "t", "conv_shapes.5", 18, "c", "public", "not implemented", message)
    practice = PracticeResult("conv_shapes", [TaskResult("conv_shapes.5", "conv2d by hand: values and gradients",
                                                         [outcome])])
    console = Console(file=io.StringIO(), width=width)
    console.print(practice_table(practice, console.width))
    text = console.file.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    assert "conv2d by" in text and "gradients" in text
    assert ("assignments/conv_shapes.py:111" in text) == (width >= 100) and "conv_shapes.py:111" in text
