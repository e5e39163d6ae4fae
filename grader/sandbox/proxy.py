"""The trusted side of the sandbox: start workers, call into them, judge nothing.

    submission = Submission("assignments/")            # one zygote, started on first use
    with submission.session("basics") as session:      # a fresh forked worker for this test
        basics = session.module                        # a Remote: a handle to the module
        y = basics.relu(torch.randn(3))                # runs in the worker; y is a plain tensor

Every reply is decoded as plain data (`wire`). A call that takes too long, a worker that dies or
grows past its memory cap becomes a `SandboxError` with a message for the student; the worker is
killed and the next session forks a fresh one.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import psutil

from grader import paths
from grader.sandbox import errors, wire
from grader.sandbox import zygote as zygote_protocol
from grader.sandbox.limits import NOBODY_GID, NOBODY_UID, Limits

_POLL_SECONDS = 0.05
_STARTUP_SECONDS = 120.0


def default_secrets() -> tuple[str, ...]:
    """Folders a worker must never read: the reference solutions and the grading suites."""
    return (str(paths.SOLUTIONS_DIR), str(paths.SUITES_DIR))


class Zygote:
    """A process that holds torch and forks workers (see `grader.sandbox.zygote`)."""

    def __init__(self, limits: Limits, workdir: Path, student_dir: Path):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = {"limits": limits.to_json(), "needed": _needed_paths(workdir, student_dir)}
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.zygote", str(theirs.fileno()), json.dumps(config)],
            pass_fds=[theirs.fileno()], cwd=workdir, env=_worker_environment(workdir),
            stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr,
            start_new_session=True,  # Ctrl-C in the terminal reaches the grader, which stops the workers
        )
        theirs.close()
        self.control = ours
        self._measures: list[str] | None = None
        self.finished: list[int] = []  # workers the grader is done with, reaped at the next fork

    @property
    def measures(self) -> list[str]:
        """The isolation measures in force; waits for the zygote to be ready (it starts at once,
        in parallel with whatever the grader does next)."""
        if self._measures is None:
            self.control.settimeout(_STARTUP_SECONDS)
            try:
                self._measures = self._receive()["ready"]
            except (OSError, EOFError, KeyError, wire.WireError) as error:
                self.close()
                raise RuntimeError(f"the sandbox worker failed to start: {self._startup_log() or error}") from None
            self.control.settimeout(None)
        return self._measures

    def fork(self, module_path: Path, module_name: str, shown_path: str, *, warm: bool = False) -> "Worker":
        _ = self.measures
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        output_read, output_write = os.pipe()
        request = {"op": "fork", "module_path": str(module_path), "module_name": module_name,
                   "shown_path": shown_path, "finished": self.finished, "warm": warm}
        self.finished = []
        try:
            zygote_protocol.send(self.control, request, (theirs.fileno(), output_write))
            pid = self._receive()["pid"]
        finally:
            theirs.close()
            os.close(output_write)
        return Worker(self, pid, ours, output_read)

    def reap(self, pid: int) -> int:
        zygote_protocol.send(self.control, {"op": "wait", "pid": pid})
        return self._receive()["status"]

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        """Stop the zygote and every process under it."""
        self.control.close()
        try:
            processes = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            processes = []
        for process in processes:
            try:
                process.kill()
            except psutil.Error:
                pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._stderr.close()

    def _receive(self) -> dict:
        message, _ = zygote_protocol.receive(self.control)
        return message

    def _startup_log(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip()[-2000:]


class Worker:
    """One forked worker process and the connection to it."""

    def __init__(self, zygote: Zygote, pid: int, conn: socket.socket, output_fd: int):
        self.zygote = zygote
        self.pid = pid
        self.conn = conn
        self.output_fd = output_fd
        self.output = bytearray()
        self.dropped_output = 0
        self.dead = False
        self.reaped = False

    def request(self, message: dict, *, call: str, timeout: float, limits: Limits,
                on_progress: Callable[[Any], None] | None = None) -> Any:
        """Send one request and wait for its reply, watching time, memory and output."""
        if self.dead:
            raise errors.WorkerDied(call, "the worker had already stopped")
        try:
            wire.send(self.conn, message)
        except OSError:
            raise self._died(call) from None
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise errors.WorkerTimeout(call, f"did not finish within {timeout:g} s: is there an "
                                                 "endless loop, or far more work than needed?")
            ready, _, _ = select.select([self.conn, self.output_fd], [], [], min(remaining, _POLL_SECONDS))
            if self.output_fd in ready:
                self._read_output(limits.output_bytes)
            if self.conn in ready:
                reply = self._receive(call, remaining, limits)
                if "progress" in reply:
                    if on_progress is not None:
                        on_progress(reply["progress"])
                    continue
                return self._unwrap(reply, call)
            if not ready and self.memory() > limits.memory_bytes:
                self.kill()
                raise errors.MemoryExceeded(call, f"used more than {limits.memory_bytes / 2**30:.1f} GiB "
                                                  "of memory: is a tensor far larger than it should be?")

    def _receive(self, call: str, remaining: float, limits: Limits) -> dict:
        self.conn.settimeout(max(remaining, 0.01))
        try:
            reply = wire.recv(self.conn, limits.message_bytes)
        except EOFError:
            raise self._died(call) from None
        except socket.timeout:
            self.kill()
            raise errors.WorkerTimeout(call, "the reply did not arrive in time") from None
        except wire.WireError as error:
            self.kill()
            raise errors.ProtocolError(call, str(error)) from None
        finally:
            self.conn.settimeout(None)
        if not isinstance(reply, dict) or not ({"ok", "error", "progress"} & reply.keys()):
            self.kill()
            raise errors.ProtocolError(call, "the worker sent a reply of the wrong form")
        return reply

    @staticmethod
    def _unwrap(reply: dict, call: str) -> Any:
        if "ok" in reply:
            return reply["ok"]
        raise errors.from_report(call, reply["error"] if isinstance(reply["error"], dict) else {})

    def _died(self, call: str) -> errors.WorkerDied:
        status = self.wait()
        if status is not None and os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
            how = f"was killed by signal {name}"
        elif status is not None and os.WIFEXITED(status):
            how = f"exited with code {os.WEXITSTATUS(status)}: does your code call exit(), sys.exit() or os._exit()?"
        else:
            how = "stopped unexpectedly"
        return errors.WorkerDied(call, f"the process running your code {how}")

    def _read_output(self, cap: int) -> None:
        try:
            chunk = os.read(self.output_fd, 1 << 16)
        except OSError:
            return
        room = max(cap - len(self.output), 0)
        self.output += chunk[:room]
        self.dropped_output += len(chunk) - len(chunk[:room])

    def drain_output(self, cap: int) -> str:
        """Read what the worker has written and not yet been read (its output is unbuffered, so
        everything printed before its last reply is there)."""
        while select.select([self.output_fd], [], [], 0)[0]:
            before = len(self.output) + self.dropped_output
            self._read_output(cap)
            if len(self.output) + self.dropped_output == before:  # end of file
                break
        text = self.output.decode(errors="replace")
        if self.dropped_output:
            text += f"\n[... {self.dropped_output} more bytes of output dropped]"
        return text

    def memory(self) -> int:
        """Resident memory of the worker and every process it started, in bytes."""
        try:
            process = psutil.Process(self.pid)
            total = process.memory_info().rss
            for child in process.children(recursive=True):
                total += child.memory_info().rss
            return total
        except psutil.Error:
            return 0

    def kill(self) -> None:
        """Kill the worker and every process it started (its status is collected later)."""
        if self.dead:
            return
        self.dead = True
        try:
            descendants = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            descendants = []
        for process in descendants:
            try:
                process.kill()
            except psutil.Error:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass

    def wait(self) -> int | None:
        """Kill the worker, then its wait status (from the zygote, which reaps it)."""
        self.kill()
        self.reaped = True
        try:
            return self.zygote.reap(self.pid)
        except (OSError, EOFError, wire.WireError, KeyError):
            return None

    def close(self, cap: int) -> str:
        """Collect the rest of the worker's output and kill it (the zygote reaps it later)."""
        text = self.drain_output(cap)
        self.kill()
        if not self.reaped:
            self.zygote.finished.append(self.pid)
        self.conn.close()
        os.close(self.output_fd)
        return text


class Remote:
    """A handle to an object that lives in the worker. Attribute access and calls go there."""

    __slots__ = ("_session", "_handle", "_type", "_name")

    def __init__(self, session: "Session", handle: int, type_name: str, name: str):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_name", name)

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
    """One test's worker: the student's module imported fresh, and calls into it."""

    def __init__(self, submission: "Submission", worker: Worker, practice: str, timeout: float):
        self.submission = submission
        self.worker = worker
        self.practice = practice
        self.timeout = timeout
        self.output = ""
        self._attributes: dict[tuple[int, str], Remote] = {}
        self.module: Remote = self._request({"op": "import"}, f"import {practice}", name=practice)

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
        return self._request({"op": "call", "h": remote._handle, "args": _encode(list(args)),
                              "kwargs": _encode(kwargs)}, call, name=f"{remote._name}(...)")

    def run(self, operation: str, *args: Any, timeout: float | None = None,
            on_progress: Callable[[Any], None] | None = None, **kwargs: Any) -> Any:
        """Run a trusted operation from `grader.sandbox.ops` in the worker; returns its data."""
        return self._request({"op": "trusted", "name": operation, "args": _encode(list(args)),
                              "kwargs": _encode(kwargs)}, f"{operation}(...)", timeout=timeout,
                             on_progress=on_progress)

    def _request(self, message: dict, call: str, *, name: str = "", timeout: float | None = None,
                 on_progress: Callable[[Any], None] | None = None) -> Any:
        reply = self.submission.request(self.worker, message, call=call, timeout=timeout or self.timeout,
                                        on_progress=on_progress)
        return self._wrap(reply, name or call)

    def _wrap(self, value: Any, name: str) -> Any:
        if wire.is_handle(value):
            return Remote(self, value[wire.HANDLE_KEY], str(value.get("type", "object")), name)
        if isinstance(value, list):
            return [self._wrap(v, f"{name}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return tuple(self._wrap(v, f"{name}[{i}]") for i, v in enumerate(value))
        if isinstance(value, dict):
            return {k: self._wrap(v, f"{name}[{k!r}]") for k, v in value.items()}
        return value


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
        hidden = secrets if secrets is not None else default_secrets()
        if not any(_inside(Path(p), self.directory) for p in _needed_paths(Path("/"), Path("/"))[1:]):
            hidden += (str(self.directory),)
        self.limits = Limits(**{**(limits or Limits()).to_json(), "hide": tuple(dict.fromkeys(hidden))})
        self.spent = 0.0
        self._tmp = Path(tempfile.mkdtemp(prefix="bootcamp-"))
        self._student_dir = self._tmp / "student"
        self._workdir = self._tmp / "work"
        self._copy_submission()
        self._zygote = Zygote(self.limits, self._workdir, self._student_dir)  # starts in the background

    def _copy_submission(self) -> None:
        self._student_dir.mkdir()
        self._workdir.mkdir()
        for source in sorted(self.directory.glob("*.py")):
            if source.is_file() and not source.is_symlink():
                shutil.copyfile(source, self._student_dir / source.name)
        os.chmod(self._tmp, 0o755)
        os.chmod(self._student_dir, 0o755)
        for copy in self._student_dir.iterdir():
            os.chmod(copy, 0o644)
        if os.geteuid() == 0 and self.limits.drop_privileges:
            os.chown(self._workdir, NOBODY_UID, NOBODY_GID)

    @property
    def isolation(self) -> list[str]:
        """The measures in force, as a list of sentences (starts the zygote if needed)."""
        return ["separate process per test (forked worker)",
                f"memory capped at {self.limits.memory_bytes / 2**30:.1f} GiB (resident memory watched)",
                f"{self.limits.call_timeout:g} s per call, {self.limits.budget:g} s per submission",
                f"output capped at {self.limits.output_bytes // 1024} KiB per test",
                *self.zygote().measures]

    def zygote(self) -> Zygote:
        """The zygote, replaced by a fresh one if it died."""
        if self._zygote is None or not self._zygote.alive():
            if self._zygote is not None:
                self._zygote.close()
            self._zygote = Zygote(self.limits, self._workdir, self._student_dir)
        return self._zygote

    def has_practice(self, practice: str) -> bool:
        return (self._student_dir / f"{practice}.py").is_file()

    @contextmanager
    def session(self, practice: str, *, timeout: float | None = None, warm: bool = False) -> Iterator[Session]:
        """A fresh worker with the student's `practice` module imported.

        `warm`: the practice trains models, so the zygote should initialise torch's optimizers
        and kernels once before forking (see `zygote._warm_up`).
        """
        module_path = self._student_dir / f"{practice}.py"
        shown = _shown_path(self.directory / f"{practice}.py")
        worker = self.zygote().fork(module_path, practice, shown, warm=warm)
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


def _needed_paths(workdir: Path, student_dir: Path) -> list[str]:
    """Paths a worker must reach after dropping privileges: Python, its packages, its folders."""
    candidates = {sys.prefix, sys.exec_prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent),
                  str(paths.PACKAGE_DIR.parent), str(workdir), str(student_dir)}
    candidates.update(p for p in sys.path if p)
    return sorted(p for p in candidates if os.path.isdir(p))


def _worker_environment(workdir: Path) -> dict[str, str]:
    """A small environment: nothing of the grader's own (tokens, credentials) reaches the worker."""
    keep = ("PATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(HOME=str(workdir), MPLCONFIGDIR=str(workdir), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=str(paths.PACKAGE_DIR.parent), PYTHONUNBUFFERED="1")
    return env
