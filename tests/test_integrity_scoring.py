"""A style test earns its points only with its task's behaviour; --task names a task that exists."""

from __future__ import annotations

from click.testing import CliRunner

from grader import paths
from grader.cli import cli
from grader.plugin import TestOutcome as Outcome
from grader.scoring import build_report


def outcome(name: str, task: str, status: str, *, style: bool = False) -> Outcome:
    return Outcome(nodeid=name, name=name, task=task, points=1, category="values", visibility="hidden",
                       status=status, style=style)


def test_a_passed_style_test_counts_only_when_its_task_behaves():
    tests = [outcome("values", "basics.1", "failed"), outcome("how", "basics.1", "passed", style=True),
             outcome("values2", "basics.2", "passed"), outcome("how2", "basics.2", "passed", style=True),
             outcome("skipped", "basics.2", "skipped")]
    report = build_report("s", ["basics"], tests)
    one, two = report.practices[0].tasks
    assert (one.points, two.points) == (0, 2)
    assert "counts only once basics.1's other tests pass" in tests[1].message
    assert one.first_problem.name == "values"  # the real problem is shown first


def test_a_style_test_alone_earns_nothing():
    tests = [outcome("how", "basics.1", "passed", style=True)]
    assert build_report("s", ["basics"], tests).points == 0


def test_an_unknown_task_is_one_clear_line():
    result = CliRunner().invoke(cli, ["check", "--path", str(paths.SOLUTIONS_DIR), "--task", "basics.99"])
    assert result.exit_code == 2
    assert "unknown task 'basics.99'" in result.output and "Traceback" not in result.output
