"""Hostile submissions: each one ends with the right score, and the grader alive with its report.

Every submission is the reference `basics` (or its skeleton) plus something a student should not
do. The public `basics` tests run on each; the expected score is derived from the reference's
own run, never written down.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import paths
from grader.check import run_suites
from grader.cli import cli

SOLUTION = (paths.SOLUTIONS_DIR / "basics.py").read_text()
SKELETON = (paths.ASSIGNMENTS_DIR / "basics.py").read_text()

# Appended to the reference: a later `def` replaces the one above it.
BROKEN_RELU = {
    "sys_exit_in_a_function": "def relu(x):\n    import sys\n    sys.exit(0)\n",
    "os_exit_in_a_function": "def relu(x):\n    import os\n    os._exit(0)\n",
    "endless_loop": "def relu(x):\n    while True:\n        pass\n",
    "memory_blowup": "def relu(x):\n    hog = b'x' * (6 * 2**30)\n    return x * len(hog)\n",
    "monkeypatched_checks": (
        "import torch, torch.testing, pytest, _pytest.outcomes\n"
        "torch.allclose = lambda *a, **k: True\n"
        "torch.equal = lambda *a, **k: True\n"
        "torch.testing.assert_close = lambda *a, **k: None\n"
        "pytest.approx = lambda expected, *a, **k: object()\n"
        "_pytest.outcomes.fail = lambda *a, **k: None\n"
        "def relu(x):\n    return x * 1.0\n"
    ),
}

FAKE_REPORT = (
    "print('basics.1  passed  11/11')\n"
    "print('Total: 41 / 41 points')\n"
    "print('=== 34 passed in 1.00s ===')\n"
)

READ_SOLUTIONS = f"""
try:
    import importlib.util as _util
    _spec = _util.spec_from_file_location("stolen", {str(paths.SOLUTIONS_DIR / 'basics.py')!r})
    _stolen = _util.module_from_spec(_spec)
    _spec.loader.exec_module(_stolen)
    globals().update({{k: v for k, v in vars(_stolen).items() if not k.startswith("__")}})
except OSError:
    pass
"""


def before(code: str, source: str) -> str:
    """`code` placed at the top of `source`, after its `from __future__` imports."""
    lines = source.splitlines(keepends=True)
    cut = max((i + 1 for i, line in enumerate(lines) if line.startswith("from __future__")), default=0)
    return "".join(lines[:cut]) + code + "".join(lines[cut:])


@pytest.fixture(scope="module")
def reference_report():
    return run_suites(paths.SOLUTIONS_DIR, ["basics"], public_only=True)


def grade(tmp_path, source: str):
    (tmp_path / "basics.py").write_text(source)
    return run_suites(tmp_path, ["basics"], public_only=True, call_timeout=3, memory_gib=1)


def statuses(report) -> dict[str, str]:
    return {task.id: task.status for task in report.practices[0].tasks}


def points(report) -> dict[str, float]:
    return {task.id: task.points for task in report.practices[0].tasks}


@pytest.mark.parametrize("how", ["sys.exit(0)", "os._exit(0)", "raise SystemExit(3)"])
def test_exit_at_import_scores_zero_and_every_test_is_reported(tmp_path, reference_report, how):
    report = grade(tmp_path, before(f"import os, sys\n{how}\n", SOLUTION))
    assert report.points == 0
    assert report.max_points == reference_report.max_points
    assert set(statuses(report).values()) == {"error"}
    message = report.practices[0].tasks[0].first_problem.message
    assert "import basics" in message and ("exit" in message)


@pytest.mark.parametrize("case, status", [
    ("sys_exit_in_a_function", "error"),
    ("os_exit_in_a_function", "error"),
    ("endless_loop", "timeout"),
    ("memory_blowup", "error"),
    ("monkeypatched_checks", "failed"),
])
def test_a_hostile_function_costs_only_its_own_task(tmp_path, reference_report, case, status):
    report = grade(tmp_path, SOLUTION + "\n\n" + BROKEN_RELU[case])
    expected = points(reference_report)
    assert statuses(report)["basics.1"] == status
    assert points(report)["basics.1"] < expected["basics.1"]
    for task_id, earned in points(report).items():
        if task_id != "basics.1":
            assert earned == expected[task_id], f"{task_id} lost points to a hostile relu"


def test_a_printed_fake_report_changes_nothing(tmp_path, reference_report):
    report = grade(tmp_path, before(FAKE_REPORT, SKELETON))
    assert report.points == 0
    assert set(statuses(report).values()) == {"not implemented"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the allowlist view needs Linux namespaces")
def test_reading_the_solutions_fails_in_the_worker(tmp_path):
    report = grade(tmp_path, SKELETON + READ_SOLUTIONS)
    assert report.points == 0
    assert set(statuses(report).values()) == {"not implemented"}
    assert any("allowlist" in measure for measure in report.isolation)


def _peeking_relu(path: Path) -> str:
    """The reference basics, whose relu fails if the worker could read `path`."""
    peek = f"\ntry:\n    LEAK = open({str(path)!r}).read()\nexcept OSError:\n    LEAK = None\n"
    return SOLUTION + peek + "\ndef relu(x):\n    assert LEAK is None, LEAK\n    return x.clamp(min=0)\n"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the allowlist view needs Linux namespaces")
def test_a_gradebook_is_out_of_view_and_a_folder_passed_to_hide_is_covered(tmp_path):
    """A gradebook (anywhere the view does not include) is out of reach with or without --hide;
    a --hide folder inside what the worker is given (here, part of the grader package) is
    covered."""
    with tempfile.TemporaryDirectory() as readable:  # under /tmp, open to everyone, like many a --out
        gradebook = Path(readable)
        gradebook.chmod(0o755)
        (gradebook / "grades.csv").write_text("student,score\n")
        (gradebook / "grades.csv").chmod(0o644)
        (tmp_path / "basics.py").write_text(_peeking_relu(gradebook / "grades.csv"))
        anywhere = run_suites(tmp_path, ["basics"], public_only=True, select="relu")
        listed = run_suites(tmp_path, ["basics"], public_only=True, select="relu", hide=[str(gradebook)])
    inside = paths.PACKAGE_DIR / "gradebook"
    (tmp_path / "basics.py").write_text(_peeking_relu(inside / "__init__.py"))
    exposed = run_suites(tmp_path, ["basics"], public_only=True, select="relu")
    covered = run_suites(tmp_path, ["basics"], public_only=True, select="relu", hide=[str(inside)])
    for report in (anywhere, listed, covered):
        assert report.all_passed, [t.first_problem.message for t in report.practices[0].tasks if t.first_problem]
    assert statuses(exposed)["basics.1"] == "error", "the worker should have read the grader package"
    assert any(str(gradebook) in measure for measure in listed.isolation)
    assert any(str(inside) in measure for measure in covered.isolation)


def test_reading_the_solutions_would_have_worked_without_the_cover(tmp_path):
    """The same theft scores full marks in-process: the view above is what stops it."""
    (tmp_path / "basics.py").write_text(SKELETON + READ_SOLUTIONS)
    report = run_suites(tmp_path, ["basics"], public_only=True, in_process=True)
    assert report.all_passed


def test_the_cli_survives_a_hostile_submission_and_writes_its_report(tmp_path):
    (tmp_path / "basics.py").write_text(before("import os\nos._exit(0)\n", SOLUTION))
    report_path = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["check", "basics", "--path", str(tmp_path), "--public-only",
                                      "--json", str(report_path)])
    assert result.exit_code == 1, result.output
    saved = json.loads(report_path.read_text())
    assert saved["score"] == 0 and saved["max_score"] > 0
    assert "Total: 0 /" in result.output
