"""The trusted side of the sandbox: start workers, call into them, judge nothing.

    submission = Submission("assignments/")            # one zygote, started on first use
    with submission.session(practice) as session:      # a fresh forked worker for this test
        module = session.module                        # a Remote: a handle to the module
        y = module.relu(torch.randn(3))                # runs in the worker; y is a plain tensor

Every reply is decoded as plain data (`wire`). A call that takes too long, a worker that dies or
grows past its memory cap becomes a `SandboxError` with a message for the student; the worker is
killed and the next session forks a fresh one.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

from grader import paths
from grader.sandbox import errors, strength, wire
from grader.sandbox import secrets as secret_folders
from grader.sandbox.limits import NOBODY_UID, Limits
from grader.sandbox.processes import Worker, Zygote, needed_paths


def default_secrets() -> tuple[str, ...]:
    """Folders a worker must never read: the reference solutions, the grading suites, and the
    installed packages the grader's embedded data sets come from (the digits and photos the
    judge trains and tests on; a worker gets the data it needs as tensors)."""
    import importlib.util

    found = []
    for package in (paths.MNIST_PACKAGE, paths.PHOTOS_PACKAGE):
        try:
            spec = importlib.util.find_spec(package)  # finds, does not import
        except (ImportError, ValueError):
            spec = None
        found += list(spec.submodule_search_locations or []) if spec is not None else []
    return (str(paths.SOLUTIONS_DIR), str(paths.PRACTICES_DIR), *found)


class Remote:
    """A handle to an object that lives in the worker. Attribute access and calls go there."""

    __slots__ = ("_session", "_handle", "_type", "_name", "_defined")

    def __init__(self, session: "Session", handle: int, type_name: str, name: str,
                 defined: tuple[int, str] | None = None):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_defined", defined)  # (line, name) in the student's file, if defined there

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._session.getattr(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._session.setattr(self, name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<{self._type} {self._name} in the student's worker>"


class Session:
    """One test's worker: the student's module imported fresh, and calls into it.

    `checked` is the last object defined in the student's file that the test called, or handed
    to a trusted operation (a function, a class, a model); `where_checked()` says where it is,
    for a failure message.
    """

    def __init__(self, submission: "Submission", worker: Worker, practice: str, timeout: float):
        self.submission = submission
        self.worker = worker
        self.practice = practice
        self.timeout = timeout
        self.output = ""
        self.checked: Remote | None = None  # the last student-defined code this test called
        self._attributes: dict[tuple[int, str], Remote] = {}
        try:
            self.module: Remote = self._request({"op": "import"}, f"import {practice}", name=practice)
        except (errors.WorkerTimeout, errors.WorkerDied) as error:  # it would hang or crash every test the same way
            submission.failed_imports[practice] = error
            raise

    def getattr(self, remote: Remote, name: str) -> Any:
        """An attribute of a student object; the module's functions and classes are looked up once."""
        key = (remote._handle, name)
        if key in self._attributes:
            return self._attributes[key]
        path = f"{remote._name}.{name}" if remote._name != self.practice else name
        value = self._request({"op": "getattr", "h": remote._handle, "name": name}, path, name=path)
        if remote is self.module and isinstance(value, Remote):
            self._attributes[key] = value
        return value

    def setattr(self, remote: Remote, name: str, value: Any) -> None:
        self._request({"op": "setattr", "h": remote._handle, "name": name, "value": _encode(value)},
                      f"{remote._name}.{name} = {describe(value)}")

    def call(self, remote: Remote, args: tuple, kwargs: dict) -> Any:
        shown = ", ".join([describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()])
        call = f"{remote._name}({shown})"
        if remote._defined is not None:
            self.checked = remote
        return self._request({"op": "call", "h": remote._handle, "args": _encode(list(args)),
                              "kwargs": _encode(kwargs)}, call, name=f"{remote._name}(...)")

    def run(self, operation: str, *args: Any, timeout: float | None = None,
            on_progress: Callable[[Any], None] | None = None, **kwargs: Any) -> Any:
        """Run a trusted operation from `grader.sandbox.ops` in the worker; returns its data.

        The last argument defined in the student's file (`train_step`, say, after the model's
        class) counts as the code the test checked. A failure names the operation by its function
        (`train_step_probe(...)`), never by the grader module it lives in.
        """
        defined = [a for a in (*args, *kwargs.values()) if isinstance(a, Remote) and a._defined is not None]
        if defined:
            self.checked = defined[-1]
        return self._request({"op": "trusted", "name": operation, "args": _encode(list(args)),
                              "kwargs": _encode(kwargs)}, f"{operation.rpartition(':')[2]}(...)", timeout=timeout,
                             on_progress=on_progress)

    def where_checked(self) -> str:
        """'File "<practice>.py", line 12, in relu' for the last student-defined code called, or ""."""
        if self.checked is None:
            return ""
        shown = _shown_path(self.submission.directory / f"{self.practice}.py")
        line, name = self.checked._defined
        return f'File "{shown}", line {line}, in {name}'

    def _request(self, message: dict, call: str, *, name: str = "", timeout: float | None = None,
                 on_progress: Callable[[Any], None] | None = None) -> Any:
        reply = self.submission.request(self.worker, message, call=call, timeout=timeout or self.timeout,
                                        on_progress=on_progress)
        return self._wrap(reply, name or call)

    def _wrap(self, value: Any, name: str) -> Any:
        if wire.is_handle(value):
            return Remote(self, value[wire.HANDLE_KEY], str(value.get("type", "object")), name,
                          _definition(value.get("defined")))
        if isinstance(value, list):
            return [self._wrap(v, f"{name}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return tuple(self._wrap(v, f"{name}[{i}]") for i, v in enumerate(value))
        if isinstance(value, dict):
            return {k: self._wrap(v, f"{name}[{k!r}]") for k, v in value.items()}
        return value


_QUALIFIED_NAME = re.compile(r"[A-Za-z_][\w.<>]{0,99}")


def _definition(defined: Any) -> tuple[int, str] | None:
    """A handle's (line, name) as the worker sent it, if it has that form (it is untrusted data)."""
    if (isinstance(defined, (list, tuple)) and len(defined) == 2 and type(defined[0]) is int and 0 < defined[0] < 10**7
            and isinstance(defined[1], str) and _QUALIFIED_NAME.fullmatch(defined[1])):
        return defined[0], defined[1]
    return None


def _encode(value: Any) -> Any:
    def handle_of(obj: Any) -> dict:
        if isinstance(obj, Remote):
            return {wire.HANDLE_KEY: obj._handle}
        raise wire.Unencodable(f"cannot send a {type(obj).__name__} to the worker")

    return wire.to_data(value, keep=handle_of)


def describe(value: Any) -> str:
    """A short, readable description of an argument, for messages: `tensor(3, 4, float32)`."""
    import torch

    if isinstance(value, torch.Tensor):
        dims = ", ".join(str(d) for d in value.shape)
        return f"tensor(shape=({dims}), {str(value.dtype).removeprefix('torch.')})"
    if isinstance(value, Remote):
        return value._name
    if isinstance(value, (list, tuple)):
        inner = ", ".join(describe(v) for v in value[:6]) + (", ..." if len(value) > 6 else "")
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Submission:
    """A student's folder, graded through sandboxed workers.

    The student's files are copied to a private folder first, so the worker can neither see the
    original folder nor change it. One zygote serves all sessions; a zygote that died is
    replaced. `spent` counts seconds of worker time against `limits.budget`.
    """

    def __init__(self, directory: str | Path, limits: Limits | None = None,
                 secrets: tuple[str, ...] | None = None):
        self.directory = Path(directory).resolve()
        needed = needed_paths()
        hidden = [Path(p).resolve() for p in (secrets if secrets is not None else default_secrets())]
        hidden = [p for p in dict.fromkeys(hidden + [self.directory])  # never a folder Python needs
                  if not any(_inside(Path(n), p) for n in needed)]
        limits = Limits(**{**(limits or Limits()).to_json(), "hide": tuple(str(p) for p in hidden)})
        self._slot = None
        if limits.uid is None:  # a user of its own, held while it is graded (see `Limits.uid`)
            from grader.sandbox.slots import Slot

            self._slot = Slot() if os.geteuid() == 0 else None
            limits = replace(limits, uid=self._slot.uid if self._slot is not None else NOBODY_UID)
        self.limits = limits
        # Root where the kernel refuses namespaces: no view hides the secrets, file modes must.
        self.by_user = os.geteuid() == 0 and strength.sandbox_kind() == strength.BY_USER
        self.closed = secret_folders.close_to_others(secret_folders.grader_secrets(limits.hide)) if self.by_user else []
        self.spent = 0.0
        self.failed_imports: dict[str, errors.SandboxError] = {}  # practice -> how its import hung or crashed
        self._tmp = Path(tempfile.mkdtemp(prefix="bootcamp-"))
        self._student_dir = self._tmp / "student"
        self._workdir = self._tmp / "work"
        self._temp = self._tmp / "temp"  # the workers' TMPDIR where there is no private /tmp
        self._copy_submission()
        self._zygote = Zygote(self.limits, self._workdir, self._student_dir, self._temp)  # starts in the background

    def _copy_submission(self) -> None:
        self._student_dir.mkdir()
        self._workdir.mkdir()
        self._temp.mkdir()
        for source in sorted(self.directory.glob("*.py")):
            if source.is_file() and not source.is_symlink():
                shutil.copyfile(source, self._student_dir / source.name)
        os.chmod(self._tmp, 0o755)
        os.chmod(self._student_dir, 0o755)
        for copy in self._student_dir.iterdir():
            os.chmod(copy, 0o644)
        if os.geteuid() == 0:
            # Only this submission's workers may enter its folders: they read the copy (group
            # read, not write, so no test can change what the next one imports) and own the
            # working folder. Workers of other slots run as other users and see neither.
            uid = self.limits.uid
            os.chown(self._student_dir, 0, uid)
            os.chmod(self._student_dir, 0o750)
            for own in (self._workdir, self._temp):
                os.chown(own, uid, uid)
                os.chmod(own, 0o700)

    @property
    def isolation(self) -> list[str]:
        """The measures in force, as a list of sentences (starts the zygote if needed)."""
        return ["separate process per test (forked worker)",
                f"memory capped at {self.limits.memory_bytes / 2**30:.1f} GiB (resident memory and temp files watched)",
                f"{self.limits.call_timeout:g} s per call, {self.limits.budget:g} s per submission",
                f"output capped at {self.limits.output_bytes // 1024} KiB per test",
                *self.zygote().measures,
                *([f"secret folders closed to other users: {', '.join(self.closed)}"] if self.closed else [])]

    def zygote(self) -> Zygote:
        """The zygote, replaced by a fresh one if it died."""
        if self._zygote is None or not self._zygote.alive():
            if self._zygote is not None:
                self._zygote.close()
            self._zygote = Zygote(self.limits, self._workdir, self._student_dir, self._temp)
        return self._zygote

    def has_practice(self, practice: str) -> bool:
        return (self._student_dir / f"{practice}.py").is_file()

    @contextmanager
    def session(self, practice: str, *, timeout: float | None = None, warm: bool = False) -> Iterator[Session]:
        """A fresh worker with the student's `practice` module imported.

        `warm`: the practice trains models, so the zygote should initialise torch's optimizers
        and kernels once before forking (see `prefork.warm_up`). A module whose import timed out or
        killed its worker once fails every later session at once with the same error, so a hung
        import costs one timeout per submission, not one per test.
        """
        failed = self.failed_imports.get(practice)
        if failed is not None:
            raise type(failed)(failed.call, failed.message, failed.traceback)
        module_path = self._student_dir / f"{practice}.py"
        shown = _shown_path(self.directory / f"{practice}.py")
        zygote = self.zygote()
        _ = zygote.measures  # its start is the grader's cost; what follows is the submission's
        started = time.monotonic()
        try:
            worker = zygote.fork(module_path, practice, shown, warm=warm)
        finally:  # a fork the submission slowed down (a zygote it stopped, say) is charged to it
            self.spent += time.monotonic() - started
        session = None
        try:
            session = Session(self, worker, practice, timeout or self.limits.call_timeout)
            yield session
        finally:
            output = worker.close(self.limits.output_bytes)
            if session is not None:
                session.output = output

    def request(self, worker: Worker, message: dict, *, call: str, timeout: float,
                on_progress: Callable[[Any], None] | None) -> Any:
        left = self.limits.budget - self.spent
        if left <= 0:
            raise errors.BudgetExhausted(call, f"your submission used its whole time budget of "
                                               f"{self.limits.budget:g} s")
        started = time.monotonic()
        try:
            return worker.request(message, call=call, timeout=min(timeout, left), limits=self.limits,
                                  on_progress=on_progress)
        finally:
            self.spent += time.monotonic() - started

    def close(self) -> None:
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None
        if self._slot is not None:
            self._slot.clear()  # nothing of this submission may run on as its user, nor stay in /tmp
            self._slot.release()
            self._slot = None
        elif self.by_user:  # a user the caller leased (a batch's slot): cleared all the same
            from grader.sandbox.slots import kill_user, remove_files_of

            kill_user(self.limits.uid)
            remove_files_of(self.limits.uid)
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "Submission":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve() == folder or folder in path.resolve().parents


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
