"""The pytest plugin that turns the grading suites into a grader.

It adds the options (`--submission`, `--public-only`, `--task`, `--device`, `--call-timeout`),
the `task` marker, the fixtures the suites use (`student`, `student_session`, `submission`,
`device`), a derandomized hypothesis profile (so a score never flickers), and `Outcomes`, which records
each test's status, a message for the student, and the pictures and measures the test attached
(`grader.attachments`: a collection opens when the test starts and is read when it ends).

`grader/practices/conftest.py` loads it, so `pytest grader/practices --submission solutions` works as
well as `bootcamp check`.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.configuration import set_hypothesis_home_dir

from grader import attachments, paths
from grader.sandbox import Limits, SandboxError, Submission
from grader.sandbox.proxy import default_secrets
from grader.sandbox.local import InProcessSubmission
from grader.student_text import visible
from grader import registry
from grader.testing import GradingFailure

settings.register_profile(
    "bootcamp", derandomize=True, deadline=None, database=None, print_blob=False, max_examples=25,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)
settings.load_profile("bootcamp")


def _hypothesis_home() -> None:
    """Hypothesis keeps caches (the constants of each test module it reads) in `.hypothesis/` of the
    working folder: a student's own folder for `bootcamp check`, the submission for a batch. The
    grader's go to `$BOOTCAMP_CACHE/hypothesis` (default `~/.cache/bootcamp/hypothesis`), a folder the
    sandbox's workers cannot read; `HYPOTHESIS_STORAGE_DIRECTORY`, where set, still decides."""
    from grader.judging.digit_judge import cache_dir

    if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        set_hypothesis_home_dir(cache_dir() / "hypothesis")


_hypothesis_home()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bootcamp")
    group.addoption("--submission", default=str(paths.ASSIGNMENTS_DIR),
                    help="folder with the student's practice files (default: assignments/)")
    group.addoption("--public-only", action="store_true", help="run only the public tests")
    group.addoption("--task", action="append", default=[], metavar="ID",
                    help=f"run only the tests of this task (e.g. {registry.example_task()}); may be given more "
                         "than once")
    group.addoption("--device", default="auto", choices=["auto", "cpu", "cuda"],
                    help="where training and convergence checks run")
    group.addoption("--call-timeout", type=float, default=None, help="seconds for one call into student code")
    group.addoption("--hide", action="append", default=[], metavar="DIR",
                    help="another folder the student's code must not read (a gradebook, say)")
    group.addoption("--memory-limit", type=float, default=None, help="GiB of resident memory for a worker")
    group.addoption("--sandbox-uid", type=int, default=None,
                    help="the unprivileged user the workers run as, when graded as root (default: the user of "
                         "a grading slot leased for this check, grader.sandbox.slots)")
    group.addoption("--in-process", action="store_true",
                    help="UNSAFE, for benchmarks and debugging: import the student's code into this process")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "task(id, points, category, visibility, timeout, style): the graded task a test belongs to")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--public-only drops the hidden tests; --task keeps only the named tasks' tests."""
    tasks = set(config.getoption("--task", default=[]) or [])
    public_only = config.getoption("--public-only", default=False)
    dropped = [item for item in items
               if (public_only and task_of(item).get("visibility") == "hidden")
               or (tasks and task_of(item).get("id") not in tasks)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        kept = set(map(id, items)) - set(map(id, dropped))
        items[:] = [item for item in items if id(item) in kept]


def task_of(item: pytest.Item) -> dict[str, Any]:
    """The task marker's fields for a test: id, points, category, visibility, timeout."""
    marker = item.get_closest_marker("task")
    if marker is None:
        return {}
    return {"id": marker.args[0], **marker.kwargs}


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start the submission's sandbox now, so its worker imports torch while pytest collects."""
    config = session.config
    if config.getoption("collectonly") or not hasattr(config.option, "submission"):
        return
    limits = Limits()
    if config.getoption("--call-timeout"):
        limits = replace(limits, call_timeout=config.getoption("--call-timeout"))
    if config.getoption("--memory-limit"):
        limits = replace(limits, memory_bytes=int(config.getoption("--memory-limit") * 2**30))
    if config.getoption("--sandbox-uid") is not None:
        if not 0 < config.getoption("--sandbox-uid") < 2**32 - 1:
            raise pytest.UsageError("--sandbox-uid: the workers must run as an unprivileged user, not root")
        limits = replace(limits, uid=config.getoption("--sandbox-uid"))
    if config.getoption("--in-process"):
        config.stash[_SUBMISSION] = InProcessSubmission(config.getoption("--submission"))
    else:
        secrets = default_secrets() + tuple(str(Path(p).resolve()) for p in config.getoption("--hide"))
        config.stash[_SUBMISSION] = Submission(config.getoption("--submission"), limits, secrets=secrets)


def pytest_sessionfinish(session: pytest.Session) -> None:
    graded = session.config.stash.get(_SUBMISSION, None)
    if graded is not None:
        graded.close()


@pytest.fixture(scope="session")
def submission(request: pytest.FixtureRequest) -> Submission:
    return request.config.stash[_SUBMISSION]


@pytest.fixture
def student_session(request: pytest.FixtureRequest, submission: Submission):
    """A fresh worker with the student's module for this test's practice."""
    info = task_of(request.node)
    practice = info["id"].split(".")[0]
    if not submission.has_practice(practice):
        pytest.fail(f"no {practice}.py in {submission.directory}", pytrace=False)
    warm = registry.warm_up(practice)
    with submission.session(practice, timeout=info.get("timeout"), warm=warm) as session:
        yield session


@pytest.fixture
def student(student_session):
    """The student's module (a `Remote`): calls run in the worker and return plain data."""
    return student_session.module


@pytest.fixture(scope="session")
def device(request: pytest.FixtureRequest) -> str:
    import torch

    choice = request.config.getoption("--device")
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise pytest.UsageError("--device cuda: no CUDA device is available")
    return choice


_SUBMISSION = pytest.StashKey[Submission]()

# Set by processes that grade once and end (`bootcamp`, a batch host and the children it forks):
# what exists after collection (torch, pytest, the suites) then lives to the end, so it is put
# out of the garbage collector's way, which saves a full collection's walk over all of it (about
# 0.1 s a run) and, in a forked child, the copies of every page it would touch. A process that
# grades again and again (the project's tests) leaves it off, so no run's garbage is kept.
FREEZE_AFTER_COLLECTION = False


@dataclass
class TestOutcome:
    """One test's result, as the report shows it."""

    nodeid: str
    name: str
    task: str
    points: float
    category: str
    visibility: str
    status: str = "passed"  # passed, failed, not implemented, error, timeout
    message: str = ""
    output: str = ""
    seconds: float = 0.0
    style: bool = False  # judges how the code is written: counts only if the task's other tests pass
    pictures: list[attachments.Picture] = field(default_factory=list)  # what the run drew (grader.attachments)
    measures: list[attachments.Measure] = field(default_factory=list)  # the judge's numbers, bars, reference's

    def to_json(self) -> dict:
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {**fields, "pictures": [p.to_json() for p in self.pictures],
                "measures": [m.to_json() for m in self.measures]}

    @property
    def earned(self) -> float:
        return self.points if self.status == "passed" else 0.0


@dataclass(eq=False)  # pytest registers plugins in sets: keep identity hashing
class Outcomes:
    """A pytest plugin object that records every graded test's outcome."""

    tests: dict[str, TestOutcome] = field(default_factory=dict)
    isolation: list[str] = field(default_factory=list)
    collection_errors: list[str] = field(default_factory=list)
    _started: dict[str, float] = field(default_factory=dict)
    _decided: set[str] = field(default_factory=set)  # tests whose run has set their status

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Record the graded tests that will run (after -k and --public-only have deselected).

        Each starts as an error until its run says otherwise: a test that never ran (the run
        stopped early) earns nothing.
        """
        for item in session.items:
            info = task_of(item)
            if not info:
                continue
            self.tests[item.nodeid] = TestOutcome(
                nodeid=item.nodeid, name=item.name, task=info["id"], points=float(info.get("points", 1)),
                category=info.get("category", "values"), visibility=info.get("visibility", "public"),
                status="error", message=NOT_RUN, style=bool(info.get("style", False)))
        if FREEZE_AFTER_COLLECTION:
            gc.freeze()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {report.longreprtext.strip().splitlines()[-1]}")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        outcome = self.tests.get(item.nodeid)
        if outcome is not None:
            self._record(outcome, item, call, report)
        return report

    def _record(self, outcome: TestOutcome, item: pytest.Item, call: pytest.CallInfo,
                report: pytest.TestReport) -> None:
        if call.when == "setup":
            self._started[item.nodeid] = time.perf_counter()
            attachments.begin()
        open_ = item.nodeid not in self._decided or outcome.status == "passed"  # a teardown may still fail it
        if report.skipped and open_:
            outcome.status, outcome.message = "skipped", str(getattr(call.excinfo, "value", ""))
            self._decided.add(item.nodeid)
        elif report.failed and open_:
            outcome.status, outcome.message = classify(call.excinfo.value)
            outcome.message += _where_checked(item, outcome.message)
            self._decided.add(item.nodeid)
        elif report.passed and call.when == "call" and item.nodeid not in self._decided:
            outcome.status, outcome.message = "passed", ""
            self._decided.add(item.nodeid)
        if call.when == "teardown":
            pictures, measures = attachments.end()
            outcome.pictures = [replace(p, visibility=outcome.visibility) for p in pictures]
            outcome.measures = [replace(m, visibility=outcome.visibility) for m in measures]
            outcome.seconds = time.perf_counter() - self._started.pop(item.nodeid, time.perf_counter())
            session = getattr(item, "funcargs", {}).get("student_session")
            if session is not None:
                outcome.output = visible(session.output)
            outcome.message = visible(outcome.message)  # it quotes the student's exceptions
            graded = item.config.stash.get(_SUBMISSION, None)
            if graded is not None and not self.isolation:
                self.isolation = graded.isolation


NOT_RUN = "this test did not run: the grading run stopped before it"


def _where_checked(item: pytest.Item, message: str) -> str:
    """A line naming the student's code the failed test checked, unless the message has one."""
    session = getattr(item, "funcargs", {}).get("student_session")
    try:
        where = session.where_checked() if session is not None else ""
    except Exception:  # noqa: BLE001  a courtesy: it must never end the run
        where = ""
    return f"\nThe code this test checked: {where}" if where and 'File "' not in message else ""


def classify(error: BaseException) -> tuple[str, str]:
    """A test's status and the student's message, from the exception that ended it."""
    notes = "\n".join(getattr(error, "__notes__", []) or [])
    if isinstance(error, BaseExceptionGroup) and error.exceptions:
        return classify(error.exceptions[0])
    if isinstance(error, SandboxError):
        return error.status, error.student_message()
    if isinstance(error, (GradingFailure, pytest.fail.Exception)):
        message = str(error)
    elif isinstance(error, AssertionError):
        message = str(error).split("\nassert ")[0] or "a check failed"
    else:
        message = (f"the grader could not use what your code returned "
                   f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})")
    example = [line for line in notes.splitlines() if line.startswith("Falsifying example")]
    return "failed", message + (f"\n{notes}" if example else "")
