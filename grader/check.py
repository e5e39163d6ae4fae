"""Run the grading suites on one submission folder and build its report.

`run_suites` is what `bootcamp check`, `bootcamp validate` and the batch grader call. The suites
run in this (trusted) process under pytest; the student's code runs only in sandbox workers.
`inspect_submission` turns bad input into one clear `BadInput` line before anything runs.
`as_practice_folder` lets a notebook (`<practice>.ipynb`) or a single file stand where a folder of
practice modules is expected: it is graded as the module its code cells make, and
`name_notebook_cells` then names the places of the report as the notebook's cells.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

import pytest

from grader import paths, registry
from grader.notebook_source import NotebookModule, name_cells
from grader.plugin import Outcomes, TestOutcome
from grader.scoring import Report, build_report
from grader.torch_threads import one_torch_thread


class BadInput(Exception):
    """A user error: an unknown practice, a missing file, a syntax error. One line, exit 2."""


def resolve_practices(requested: tuple[str, ...] | list[str]) -> list[str]:
    """The practices to grade, in course order; all that have a suite when none are named."""
    available = registry.names()
    if not requested:
        return available
    unknown = [p for p in requested if p not in available]
    if unknown:
        raise BadInput(f"unknown practice {unknown[0]!r}; choose from: {', '.join(available)}")
    return [p for p in available if p in requested]


def check_task_ids(tasks: tuple[str, ...] | list[str], practices: list[str]) -> None:
    """Each of `tasks` must be a task of one of `practices` (as `tasks.py` lists them)."""
    known = [t for p in practices for t in registry.tasks(p)]
    for task_id in tasks:
        if task_id not in known:
            raise BadInput(f"unknown task {task_id!r}; the tasks of {', '.join(practices)} are: {', '.join(known)}")


def inspect_submission(directory: Path, practices: list[str], *, require_all: bool = True) -> list[str]:
    """Check the folder holds the practice files and that they parse; return the practices found.

    The files are parsed, never executed. A syntax error names the student's file and line.
    """
    if not directory.exists():
        raise BadInput(f"{directory}: no such folder")
    if not directory.is_dir():
        raise BadInput(f"{directory}: not a folder (a submission is a folder of practice files such as "
                       f"{registry.example()}.py)")
    found = [p for p in practices if (directory / f"{p}.py").is_file()]
    missing = [p for p in practices if p not in found]
    if missing and (require_all or not found):
        raise BadInput(f"{directory}: no {missing[0]}.py here; is this a submission folder?")
    for practice in found:
        path = directory / f"{practice}.py"
        try:
            ast.parse(path.read_bytes(), filename=str(path))
        except SyntaxError as error:
            raise BadInput(f"{_shown(path)}, line {error.lineno}: syntax error: {error.msg}") from None
        except ValueError as error:  # null bytes
            raise BadInput(f"{_shown(path)}: not a Python source file ({error})") from None
    return found


Notebooks = dict[str, tuple[str, NotebookModule]]  # practice -> (the notebook as shown, its module)


@contextlib.contextmanager
def as_practice_folder(path: Path, practices: list[str]) -> Iterator[tuple[Path, list[str], Notebooks]]:
    """Yield (folder, notes, notebooks): `path` itself when it is a folder of `<practice>.py` files;
    else a temporary folder with `<practice>.py` for the file `path` (`<practice>.py` or
    `<practice>.ipynb`) or for each `<practice>.ipynb` of the folder `path` that has no `.py` (see
    `grader.notebook_source`); `notebooks`: the practices made from a notebook (for `name_notebook_cells`).
    """
    from grader.notebook_source import NotebookError, notebook_module

    path = Path(path)
    if path.is_file():
        if path.suffix not in (".py", ".ipynb"):
            example = registry.example()
            raise BadInput(f"{path}: not a practice file ({example}.py or {example}.ipynb) or a folder of them")
        sources = {path.stem: path}
    else:
        sources = {}
        for practice in practices if path.is_dir() else []:
            for suffix in (".py", ".ipynb"):
                if (path / f"{practice}{suffix}").is_file():
                    sources[practice] = path / f"{practice}{suffix}"
                    break
        if all(source.suffix == ".py" for source in sources.values()):
            yield path, [], {}
            return
    notes: list[str] = []
    notebooks: Notebooks = {}
    with tempfile.TemporaryDirectory(prefix="bootcamp-notebooks-") as temporary:
        for practice, source in sources.items():
            if source.suffix == ".ipynb":
                try:
                    module = notebook_module(source.read_bytes(), _shown(source))
                except NotebookError as error:
                    raise BadInput(str(error)) from None
                notes += module.notes
                notebooks[practice] = (_shown(source), module)
                text = module.text
            else:
                text = source.read_text(errors="replace")
            (Path(temporary) / f"{practice}.py").write_text(text)
        yield Path(temporary), notes, notebooks


def name_notebook_cells(report: Report, folder: Path, notebooks: Notebooks) -> None:
    """Name each place in a module made from a notebook, in the messages and errors of `report`
    (and so in its `where`), as the notebook's cell: `<practice>.ipynb, cell 4, line 3`."""
    if not notebooks:
        return
    folder = Path(folder).resolve()
    by_practice = {practice: ([str(folder / f"{practice}.py"), _shown(folder / f"{practice}.py"), f"{practice}.py"],
                              shown, module) for practice, (shown, module) in notebooks.items()}

    def named(text: str) -> str:
        for files, shown, module in by_practice.values():
            text = name_cells(text, files, shown, module)
        return text

    for practice in report.practices:
        for task in practice.tasks:
            for test in task.tests:
                test.message = named(test.message)
    report.errors = [named(error) for error in report.errors]


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def collect(practices: list[str]) -> list[TestOutcome]:
    """Every graded test of `practices`, without running anything (for `bootcamp list`)."""
    outcomes = Outcomes()
    args = [str(paths.PRACTICES_DIR / p) for p in practices] + [
        "--collect-only", "-p", "no:cacheprovider", "--import-mode=importlib", "-q", "-o", "addopts=",
        "-o", "pythonpath=", "--rootdir", str(paths.PRACTICES_DIR)]
    with contextlib.redirect_stdout(io.StringIO()):
        pytest.main(args, plugins=[outcomes])
    return list(outcomes.tests.values())


def run_suites(directory: str | Path, practices: list[str], *, public_only: bool = False,
               device: str = "auto", call_timeout: float | None = None, memory_gib: float | None = None,
               select: str | None = None, hide: list[str] | tuple[str, ...] = (),
               on_test: Callable[[TestOutcome], None] | None = None, in_process: bool = False,
               sandbox_uid: int | None = None, tasks: list[str] | tuple[str, ...] = (),
               weak_sandbox: bool = False, plugins: Sequence[object] = ()) -> Report:
    """Grade `directory` with the suites of `practices`; return the report.

    `select` is a pytest `-k` expression (for running a subset); `tasks`, task ids whose tests
    alone run (`("<practice>.3",)`). `on_test` is called after each
    test with its outcome (for progress bars). `hide`: more folders the student's code must not
    read, besides the solutions and the suites (a gradebook, say). `sandbox_uid`: the user the
    workers run as when graded as root (`Limits.uid`; a batch gives each slot its own).
    `in_process` runs the student's code in this process, without the sandbox: only for
    benchmarks, never for grading. Hidden tests are refused (`BadInput`, one line) where the
    sandbox cannot hide them (an ordinary user without namespaces: `strength.refusal`) unless
    `weak_sandbox` accepts that. `plugins`: more pytest plugin objects for the run (the release's
    `grader.recorded.Recording`).
    """
    from grader.edition import STUDENT
    from grader.sandbox import strength

    refused = None if in_process else strength.refusal(hidden_tests=not public_only and not STUDENT,
                                                       accept_weak=weak_sandbox)
    if refused:
        raise BadInput(refused)
    directory = Path(directory).resolve()
    if not in_process and os.geteuid() == 0 and strength.sandbox_kind() == strength.BY_USER:
        _close_secrets([*hide, str(directory)])
    outcomes = _Progress(on_test) if on_test else Outcomes()
    args = [str(paths.PRACTICES_DIR / p) for p in practices] + [
        "--submission", str(directory), "--device", device, "-p", "no:cacheprovider",
        "-p", "no:unraisableexception",  # its cleanup runs gc.collect() five times: ~0.8 s per run, nothing to grade
        "--import-mode=importlib", "-q", "--no-header", "-o", "addopts=", "-o", "pythonpath=",
        "--rootdir", str(paths.PRACTICES_DIR),
        "-W", "ignore::pytest.PytestAssertRewriteWarning",
    ]
    if public_only:
        args.append("--public-only")
    if call_timeout:
        args += ["--call-timeout", str(call_timeout)]
    if memory_gib:
        args += ["--memory-limit", str(memory_gib)]
    if select:
        args += ["-k", select]
    for task_id in tasks:
        args += ["--task", task_id]
    if in_process:
        args.append("--in-process")
    if sandbox_uid is not None:
        args += ["--sandbox-uid", str(sandbox_uid)]
    for folder in hide:
        args += ["--hide", str(folder)]
    started = time.perf_counter()
    log = io.StringIO()
    with contextlib.redirect_stdout(log), one_torch_thread():  # the suites' own tensors are small
        code = pytest.main(args, plugins=[outcomes, *plugins])
    errors = list(outcomes.collection_errors)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        last_line = (log.getvalue().strip().splitlines() or [""])[-1]
        errors.append(f"the grading suites could not run (pytest exit {int(code)}) {last_line}".strip())
    return build_report(str(directory), practices, list(outcomes.tests.values()), isolation=outcomes.isolation,
                        public_only=public_only, device=_device_name(device),
                        seconds=time.perf_counter() - started, errors=errors)


def save_pictures(report: Report, out: Path = paths.RUNS_DIR) -> Path | None:
    """Write the pictures and measures the graded runs attached into `out/check-<time>/` (see
    `grader.attachments.save_folder`); the folder, or None when no test attached any."""
    from grader.attachments import save_folder

    return save_folder(((t.id, t.pictures, t.measures) for p in report.practices for t in p.tasks), Path(out))


def _close_secrets(hidden: list[str]) -> None:
    """Without namespaces, as root: the grader's secret folders closed to other users before any
    worker starts (the sandbox does it again), or one line saying which cannot be (`BadInput`)."""
    from grader.sandbox import secrets

    try:
        secrets.close_to_others(secrets.grader_secrets(hidden))
    except secrets.SecretsOpen as error:
        raise BadInput(str(error)) from None


def _device_name(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class _Progress(Outcomes):
    def __init__(self, on_test: Callable[[TestOutcome], None]):
        super().__init__()
        self._on_test = on_test

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        if nodeid in self.tests:
            self._on_test(self.tests[nodeid])
