"""A module whose import hangs or kills its worker costs one timeout per submission, not one per test.

The first test that imports it waits for the call timeout (or sees the worker die); the
submission remembers that, and every later test of the practice fails at once with the same
message, without starting a worker.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from grader import paths
from grader.check import run_suites
from grader.sandbox import Limits, Submission
from grader.sandbox.errors import WorkerTimeout

SOLUTION = (paths.SOLUTIONS_DIR / "basics.py").read_text()
TIMEOUT = 2.0


def grade(tmp_path, code: str):
    (tmp_path / "basics.py").write_text(SOLUTION + "\n" + code)
    return run_suites(tmp_path, ["basics"], public_only=True, call_timeout=TIMEOUT)


def outcomes_of(report):
    return [test for practice in report.practices for task in practice.tasks for test in task.tests]


def test_a_hanging_import_costs_one_timeout_and_every_test_says_why(tmp_path):
    report = grade(tmp_path, "import time\ntime.sleep(10_000)\n")
    tests = outcomes_of(report)
    assert len(tests) > 5 and report.points == 0
    assert {test.status for test in tests} == {"timeout"}
    assert len({test.message for test in tests}) == 1
    assert "import basics" in tests[0].message


def test_an_import_that_kills_its_worker_is_reported_the_same_way_by_every_test(tmp_path):
    report = grade(tmp_path, "import os\nos.kill(os.getpid(), 9)\n")
    tests = outcomes_of(report)
    assert {test.status for test in tests} == {"error"}
    assert len({test.message for test in tests}) == 1
    assert "import basics" in tests[0].message


def test_the_submission_waits_for_a_hanging_import_only_once(tmp_path):
    (tmp_path / "basics.py").write_text(SOLUTION + "\nimport time\ntime.sleep(10_000)\n")
    messages = []
    with Submission(tmp_path, replace(Limits(), call_timeout=TIMEOUT)) as submission:
        for _ in range(4):
            with pytest.raises(WorkerTimeout) as raised:
                with submission.session("basics"):
                    pass
            messages.append(str(raised.value))
        spent = submission.spent
    assert TIMEOUT <= spent < 2 * TIMEOUT, f"the budget used is {spent:.1f} s for 4 tries"
    assert len(set(messages)) == 1 and "import basics" in messages[0]
