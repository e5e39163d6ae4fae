"""Values that come from the reference solutions, computed live or read from what a release recorded.

A suite reaches the reference only through functions marked `@recorded`, which live in a
practice's suite folder, take literal arguments and return plain data:

    @recorded
    def reference_logits(seed: int, batch: int, data_seed: int, train: bool) -> torch.Tensor:
        \"""(B, 10): the reference MnistCNN (weights drawn with `seed`) on digits(batch, data_seed).\"""
        ...

    expected = reference_logits(seed=0, batch=8, data_seed=0, train=False)

Where the value comes from:

- the instructor's edition (`solutions/<practice>.py` is there): the function runs, as written;
- an edition without it (the student edition, a Gradescope zip without `solutions/`): the value is
  read from `grader/practices/<practice>/expected.pt`, written by `bootcamp release`.

`record(practices, hidden=...)` makes those values: it grades the reference solutions with the tests
that use recorded values (found from their code by `grader.handout.strip.Reach`, which stops at
`@recorded` definitions) while every call of a `@recorded` function is noted with the visibility of
the test that made it. The student edition gets the values public tests use (`hidden=False`), the
Gradescope zip those of every test (`hidden=True`). A value is stored under its key,
`<module>.<function>(<argument>=<value>, ...)` with every argument given or defaulted, for example
`reference_model.reference_logits(seed=0, batch=8, data_seed=0, train=False)`. Since the
reference passes every check of the recording run, a test calls its `@recorded` functions before
it judges, never only on the way to a failure message (such a value would not be recorded).

A data file is `torch.save({"format": FORMAT, "practice": p, "fingerprint": f, "values": {key:
value}})`, read back with `torch.load(..., weights_only=True)`: tensors, numbers, strings, None
and lists, tuples and dicts of them, never a pickled object. `f` is the SHA-256 of the grader's
code as the edition ships it (`grader/**.py`), so a file recorded for other code is refused with one
line (`RecordedError`, which a test reports as the grader's fault, never the student's).
The files sit in the suites' folder, which a sandbox worker can never read.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import inspect
import io
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pytest
import torch

from grader import paths
from grader.testing import GradingFailure

FORMAT = 1
FILE = "expected.pt"
DATA_DIR = paths.PRACTICES_DIR  # <practice>/expected.pt is read from here (the project's tests point it elsewhere)
GRADER_FAULT = "this is a problem of the grader, not of your code"


class RecordedError(GradingFailure):
    """A recorded value that cannot be had: no file, a stale or damaged one, a key it lacks."""


# ---------------------------------------------------------------------------------------- the decorator


def recorded(function: Callable[..., Any]) -> Callable[..., Any]:
    """Mark `function` as a value computed from the reference (see the module docstring)."""
    practice, module = _home(function)
    signature = inspect.signature(function)

    @functools.wraps(function)
    def value(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        key = f"{module}.{function.__name__}({', '.join(f'{k}={_literal(v, k)}' for k, v in bound.arguments.items())})"
        if _recording is not None:
            data = plain(function(*args, **kwargs), key)
            _recording.note(practice, key, data)
            return copy.deepcopy(data)
        if live(practice):
            return function(*args, **kwargs)
        return copy.deepcopy(stored(practice, key))

    return value


def live(practice: str) -> bool:
    """Whether values of `practice` are computed now: the instructor's edition with its reference."""
    from grader.edition import STUDENT

    return not STUDENT and (paths.SOLUTIONS_DIR / f"{practice}.py").is_file()


def _home(function: Callable[..., Any]) -> tuple[str, str]:
    """(practice, module within its suite) of a function defined under grader/practices/<practice>/."""
    path = Path(inspect.getfile(function)).resolve()
    try:
        parts = path.relative_to(paths.PRACTICES_DIR.resolve()).with_suffix("").parts
    except ValueError:
        parts = ()
    if len(parts) < 2:
        raise ValueError(f"@recorded {function.__qualname__}: recorded values belong to one practice; define it in "
                         f"grader/practices/<practice>/, not in {path}")
    return parts[0], ".".join(parts[1:])


def _literal(value: Any, name: str) -> str:
    """A canonical text for an argument: literals only, dicts by sorted key, so equal calls share a key."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_literal(v, name) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return "{" + ", ".join(f"{k!r}: {_literal(value[k], name)}" for k in sorted(value)) + "}"
    raise TypeError(f"a recorded value's argument {name} must be a literal (numbers, strings, None, lists, tuples "
                    f"and dicts of them), not {type(value).__name__}")


def plain(value: Any, key: str) -> Any:
    """`value` as data `torch.load(weights_only=True)` reads back: tensors detached, cloned, on the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").clone().contiguous()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = [plain(v, key) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: plain(v, key) for k, v in value.items()}
    raise TypeError(f"{key} returned {type(value).__name__}: a recorded value is plain data (tensors, numbers, "
                    "strings, None, lists, tuples and dicts with string keys)")


# ---------------------------------------------------------------------------------------- the data files


def fingerprint(files: Mapping[str, bytes]) -> str:
    """SHA-256 of the grader's code among `files` (`grader/**.py`): the suites and every helper
    their values depend on (the probes, the inputs they make), so values recorded for other code
    are refused rather than judged as the student's fault."""
    digest = hashlib.sha256()
    for name in sorted(n for n in files if n.startswith("grader/") and n.endswith(".py")):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def installed_fingerprint() -> str:
    """`fingerprint` of the code of the grader that runs."""
    return fingerprint({f"grader/{p.relative_to(paths.PACKAGE_DIR).as_posix()}": p.read_bytes()
                        for p in paths.PACKAGE_DIR.rglob("*.py") if "__pycache__" not in p.parts})


def data_file(practice: str, values: Mapping[str, Any], code_fingerprint: str) -> bytes:
    """The bytes of `grader/practices/<practice>/expected.pt`."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "practice": practice, "fingerprint": code_fingerprint,
                "values": dict(sorted(values.items()))}, buffer)
    return buffer.getvalue()


def data_files(books: Mapping[str, Mapping[str, Any]], files: Mapping[str, bytes]) -> dict[str, bytes]:
    """{`grader/practices/<practice>/expected.pt`: bytes} for each practice with values, fingerprinted
    with the grader's code among `files` (the edition's files, as it ships them)."""
    return {f"grader/practices/{practice}/{FILE}": data_file(practice, values, fingerprint(files))
            for practice, values in books.items() if values}


def stored(practice: str, key: str) -> Any:
    """The value recorded under `key` for `practice`, or a `RecordedError` that says what is wrong."""
    values = _load(DATA_DIR / practice / FILE, practice)
    if key not in values:
        raise RecordedError(f"the grader has no recorded value {key} in {DATA_DIR / practice / FILE}: the file is "
                            f"older than the suite; rebuild the edition with `bootcamp release` ({GRADER_FAULT}).")
    return values[key]


@functools.lru_cache(maxsize=None)
def _read(path: Path, stamp: tuple[int, int], practice: str) -> dict[str, Any]:
    try:
        book = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:  # noqa: BLE001  any damage is one line
        raise RecordedError(f"the grader's recorded values {path} cannot be read ({type(error).__name__}: "
                            f"{str(error).splitlines()[0] if str(error) else ''}); {GRADER_FAULT}.") from None
    if not isinstance(book, dict) or book.get("format") != FORMAT or book.get("practice") != practice \
            or not isinstance(book.get("values"), dict):
        raise RecordedError(f"the grader's recorded values {path} are not format {FORMAT} for {practice}; rebuild the "
                            f"edition with `bootcamp release` ({GRADER_FAULT}).")
    if book.get("fingerprint") != installed_fingerprint():
        raise RecordedError(f"the grader's recorded values {path} were recorded for other {practice} suite files "
                            f"(stale); rebuild the edition with `bootcamp release` ({GRADER_FAULT}).")
    return book["values"]


def _load(path: Path, practice: str) -> dict[str, Any]:
    try:
        status = path.stat()
    except OSError:
        raise RecordedError(f"the grader's recorded values {path} are missing; rebuild the edition with "
                            f"`bootcamp release` ({GRADER_FAULT}).") from None
    return _read(path, (status.st_mtime_ns, status.st_size), practice)


# ---------------------------------------------------------------------------------------- recording


class Recording:
    """What `@recorded` functions returned while tests ran, and the visibilities of the tests that
    asked (a pytest plugin: it follows which test runs)."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}
        self.used: dict[str, dict[str, set[str]]] = {}
        self.visibility = "public"  # outside a test (an import, a fixture of the session): needed by all

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        from grader.plugin import task_of

        self.visibility = task_of(item).get("visibility", "public")
        try:
            return (yield)
        finally:
            self.visibility = "public"

    def note(self, practice: str, key: str, value: Any) -> None:
        self.values.setdefault(practice, {})[key] = value
        self.used.setdefault(practice, {}).setdefault(key, set()).add(self.visibility)

    def book(self, practice: str, *, hidden: bool) -> dict[str, Any]:
        """The values of `practice` that public tests used (with `hidden`: that any test used)."""
        return {key: value for key, value in self.values.get(practice, {}).items()
                if hidden or "public" in self.used[practice][key]}


_recording: Recording | None = None


def tests_using_values(practices: Iterable[str], *, hidden: bool) -> dict[str, list[str]]:
    """practice -> names of its tests (public ones; with `hidden`, all) that call a `@recorded`
    function, found from their code."""
    from grader.handout.strip import Reach, suite_tests

    found: dict[str, list[str]] = {}
    for practice, _, test in suite_tests(Reach(paths.PACKAGE_DIR), list(practices)):
        if test.recorded and (hidden or test.visibility == "public"):
            found.setdefault(practice, []).append(test.name)
    return found


def record(practices: Iterable[str], *, hidden: bool) -> dict[str, dict[str, Any]]:
    """practice -> {key: value}: grade `solutions/` with the tests that use recorded values (the
    public ones; with `hidden`, all) and keep what their `@recorded` calls returned. Every such
    test must pass, or the recording would miss values: a `ReleaseError` names the first that did not."""
    sources = _sources_digest()
    practices = tuple(practices)
    return copy.deepcopy(_record(practices, hidden, sources))


@functools.lru_cache(maxsize=8)
def _record(practices: tuple[str, ...], hidden: bool, sources: str) -> dict[str, dict[str, Any]]:
    global _recording
    from grader.check import run_suites
    from grader.release import ReleaseError

    tests = tests_using_values(practices, hidden=hidden)
    if not tests:
        return {}
    recording = Recording()
    names = sorted({name for names in tests.values() for name in names})
    _recording = recording
    try:
        report = run_suites(paths.SOLUTIONS_DIR, [p for p in practices if p in tests], public_only=not hidden,
                            device="cpu", select=" or ".join(names), weak_sandbox=True, plugins=[recording])
    finally:
        _recording = None
    ran = {(p.name, t.name.split("[")[0]): t for p in report.practices for task in p.tasks for t in task.tests}
    for practice, wanted in tests.items():
        for name in wanted:
            test = ran.get((practice, name))
            if test is None or test.status != "passed":
                why = "did not run" if test is None else f"is {test.status}: {test.message.splitlines()[0]}"
                raise ReleaseError(f"recording the expected values: the reference solution's {practice} {name} {why}")
    if report.errors:
        raise ReleaseError(f"recording the expected values: {report.errors[0]}")
    return {practice: recording.book(practice, hidden=hidden) for practice in tests}


def _sources_digest() -> str:
    """What a recording depends on: the grader's code and the reference solutions."""
    digest = hashlib.sha256()
    for folder in (paths.PACKAGE_DIR, paths.SOLUTIONS_DIR):
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" not in path.parts:
                digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
