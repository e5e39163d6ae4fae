"""Outcomes: a graded test earns its points only by running and passing."""

from __future__ import annotations

import pytest

from grader.plugin import NOT_RUN, Outcomes

TESTS = '''
import pytest

@pytest.mark.task("demo.1", points=2)
def test_first():
    pass

@pytest.mark.task("demo.1", points=3)
def test_second():
    pass

@pytest.mark.task("demo.2", points=5)
def test_third():
    pass
'''

CRASH = '''
def pytest_runtest_makereport(item, call):
    if item.name == "test_second" and call.when == "call":
        raise RuntimeError("the grader itself failed here")
'''


def run(folder, *, crash: bool) -> dict[str, str]:
    (folder / "test_demo.py").write_text(TESTS)
    (folder / "conftest.py").write_text(CRASH if crash else "")
    outcomes = Outcomes()
    pytest.main([str(folder), "-q", "-p", "no:cacheprovider", "--import-mode=importlib", "-o", "markers=task",
                 "-o", "addopts=", "--rootdir", str(folder)], plugins=[outcomes])
    return {test.name: (test.status, test.message) for test in outcomes.tests.values()}


def test_tests_that_pass_are_passed(tmp_path):
    assert run(tmp_path, crash=False) == {name: ("passed", "") for name in ("test_first", "test_second", "test_third")}


def test_a_run_that_stops_early_gives_no_points_for_what_did_not_run(tmp_path):
    outcomes = run(tmp_path, crash=True)
    assert outcomes["test_first"] == ("passed", "")
    assert outcomes["test_third"] == ("error", NOT_RUN)
    assert outcomes["test_second"][0] != "passed"
