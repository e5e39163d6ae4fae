"""The processes behind the sandbox: the zygote that forks workers, and one worker's connection.

`Zygote` starts `python -m grader.sandbox.zygote` with a small environment, which imports torch,
isolates itself and waits; its handshake is read lazily, so it starts in parallel with whatever
the grader does next. `Worker.request` sends one request and waits for the reply while watching
the clock, the worker's resident memory and its output; whatever goes wrong becomes a
`SandboxError` for the student, and the worker is killed.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import psutil

from grader import paths
from grader.sandbox import ctrl_c, errors, wire
from grader.sandbox.mother import current_mother, worker_environment
from grader.sandbox import zygote as zygote_protocol
from grader.sandbox.limits import Limits

_POLL_SECONDS = 0.05
_STARTUP_SECONDS = 120.0
_ANSWER_SECONDS = 60.0  # for a fork or a wait; a zygote that takes longer is stopped or stuck
_PSS_SECONDS = 0.1  # the most one memory measure spends on children's proportional memory


class Zygote:
    """A process that holds torch and forks workers (see `grader.sandbox.zygote`).

    Forked by the mother when this process has one (`use_mother`), else started on its own.
    """

    def __init__(self, limits: Limits, workdir: Path, student_dir: Path, temp: Path):
        layout = {"student": str(student_dir), "work": str(workdir), "stage": str(workdir.parent / "stage"),
                  "temp": str(temp)}
        self.temp = temp  # the workers' temp folder where there is no private tmpfs (`by_user`)
        self._config = {"limits": limits.to_json(), "layout": layout, "workdir": str(workdir)}
        self._env = worker_environment(workdir)
        self._stderr = tempfile.TemporaryFile()
        self.process: subprocess.Popen | None = None  # when started on its own
        self._pid: int | None = None
        self._process: psutil.Process | None = None  # knows its start time: never a reused pid
        self._mother = current_mother()
        if self._mother is None or not self._spawn():
            self._start()
        self._measures: list[str] | None = None
        self.finished: list[int] = []  # workers the grader is done with, reaped at the next fork

    def _spawn(self) -> bool:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            sent = self._mother.spawn(self._config, self._env, theirs.fileno(), self._stderr.fileno())
        finally:
            theirs.close()
        if sent:
            self.control = ours
        else:
            ours.close()
        return sent

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.zygote", str(theirs.fileno()), json.dumps(self._config)],
            pass_fds=[theirs.fileno()], cwd=self._config["workdir"], env=self._env,
            stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr,
            start_new_session=True,  # Ctrl-C in the terminal reaches the grader, which stops the workers
        )
        theirs.close()
        self.control = ours
        self._pid = self.process.pid
        self._process = psutil.Process(self._pid)

    @property
    def pid(self) -> int:
        """The zygote's process id; one forked by the mother says it first, once the mother is up."""
        if self._pid is None:
            try:
                self._pid = int(self._receive(_STARTUP_SECONDS)["pid"])
                self._process = psutil.Process(self._pid)
            except (OSError, EOFError, KeyError, psutil.Error, wire.WireError):  # the mother died: start on our own
                self.control.close()
                self._mother.failed = True
                self._start()
        return self._pid

    @property
    def measures(self) -> list[str]:
        """The isolation measures in force; waits for the zygote to be ready (it starts at once,
        in parallel with whatever the grader does next)."""
        if self._measures is None:
            _ = self.pid
            try:
                self._measures = self._receive(_STARTUP_SECONDS)["ready"]
            except (OSError, EOFError, KeyError, wire.WireError) as error:
                log = self._startup_log()
                self.close()
                raise RuntimeError(f"the sandbox worker failed to start: {log or error}") from None
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
            pid = self._receive(_ANSWER_SECONDS)["pid"]
        except (OSError, EOFError, KeyError, wire.WireError):
            ours.close()
            os.close(output_read)
            self.close()  # kills it, stopped or not, with all below it; the submission starts another
            raise errors.WorkerDied(f"import {module_name}", "the sandbox stopped answering: does your code "
                                                             "stop or kill processes it did not start?") from None
        finally:
            theirs.close()
            os.close(output_write)
        return Worker(self, pid, ours, output_read)

    def reap(self, pid: int) -> int:
        zygote_protocol.send(self.control, {"op": "wait", "pid": pid})
        return self._receive(_ANSWER_SECONDS)["status"]

    def alive(self) -> bool:
        _ = self.pid
        try:
            return self._process.is_running() and self._process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def close(self) -> None:
        """Stop the zygote and every process under it.

        Hanging up is enough: the zygote, a subreaper that has adopted every orphan of its
        workers, kills all of them and exits. Only if it has not within 5 s is it killed from
        here. A zygote the mother has not forked yet finds the socket closed, and exits.
        """
        self.control.close()
        if self._process is None:
            self._stderr.close()
            return
        try:
            self._process.wait(timeout=5)
        except (psutil.TimeoutExpired, psutil.Error):
            kill_descendants(self._process)
            try:
                self._process.kill()
                self._process.wait(timeout=5)
            except (psutil.TimeoutExpired, psutil.Error):
                pass
        if self.process is not None:
            self.process.wait()
        self._stderr.close()

    def _receive(self, timeout: float | None = None) -> dict:
        """The zygote's next message; with `timeout`, waited for in short slices, so that a
        deferred Ctrl-C (see `ctrl_c`) is not held up while a zygote starts."""
        if timeout is not None:
            deadline = time.monotonic() + timeout
            while not select.select([self.control], [], [], _POLL_SECONDS)[0]:
                ctrl_c.raise_if_pressed()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer within {timeout:g} s")
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
            ctrl_c.raise_if_pressed()
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
            if not ready and folder_bytes(self.zygote.temp) > limits.temp_bytes:  # no tmpfs caps it (`by_user`)
                self.kill()
                raise errors.MemoryExceeded(call, f"wrote more than {limits.temp_bytes // 2**20} MiB of "
                                                  "temporary files")

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
        """The memory the worker holds, in bytes: its resident memory, the proportional share
        (PSS) of every process it started, and what its private /tmp holds.

        A forked child shares its pages with the worker until it writes to them: counted by
        resident memory, 16 children of a worker that holds torch would count as 11 GiB. A
        page shared by several processes counts in PSS as a share for each, so together once.
        Files in the private tmpfs (/tmp, /var/tmp, /dev/shm) are memory too, in no process's.
        Reading a PSS walks the process's page tables; past `_PSS_SECONDS` in one measure (a
        submission with hundreds of children of huge maps), the rest count by resident memory,
        which can only count more.
        """
        total = _resident_memory(self.pid)
        deadline = time.monotonic() + _PSS_SECONDS
        for pid in descendants(self.pid):
            total += _proportional_memory(pid) if time.monotonic() < deadline else _resident_memory(pid)
        return total + private_temp_bytes(self.pid) + folder_bytes(self.zygote.temp)

    def kill(self) -> None:
        """Kill the worker and every process it started (its status is collected later)."""
        if self.dead:
            return
        self.dead = True
        kill_descendants(self.pid)
        try:
            os.killpg(self.pid, signal.SIGKILL)  # a worker leads its own process group from its start
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
        """Collect the rest of the worker's output and kill it with everything it started (the
        zygote reaps it later; orphans of its earlier children die at the next fork request)."""
        text = self.drain_output(cap)
        self.kill()
        if not self.reaped:
            self.zygote.finished.append(self.pid)
        self.conn.close()
        os.close(self.output_fd)
        return text


def kill_descendants(process: int | psutil.Process) -> None:
    """SIGKILL every process below `process` (a pid or a `psutil.Process`), not itself."""
    pid = process.pid if isinstance(process, psutil.Process) else process
    for descendant in descendants(pid):
        try:
            os.kill(descendant, signal.SIGKILL)
        except OSError:
            pass


def descendants(pid: int) -> list[int]:
    """The process ids below `pid`, parents before children.

    Read from each thread's /proc/PID/task/TID/children, which walks only this subtree (a
    worker's is usually empty: microseconds); where the kernel has no such file, psutil scans
    the whole process table (about half a millisecond)."""
    if not os.path.exists(f"/proc/{pid}/task/{pid}/children"):
        try:
            return [child.pid for child in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []
    found: list[int] = []
    parents = [pid]
    while parents:
        parent = parents.pop()
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:  # gone meanwhile
            continue
        for thread in threads:
            try:
                with open(f"/proc/{parent}/task/{thread}/children") as listing:
                    children = [int(child) for child in listing.read().split()]
            except (OSError, ValueError):
                continue
            found += children
            parents += children
    return found


def _proportional_memory(pid: int) -> int:
    """The process's proportional set size (PSS) in bytes; its resident memory where the kernel
    gives no /proc/PID/smaps_rollup; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return _resident_memory(pid)


def _resident_memory(pid: int) -> int:
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:  # gone meanwhile
        return 0


def private_temp_bytes(pid: int) -> int:
    """Bytes in use in the private tmpfs behind process `pid`'s /tmp (see `view.NewRoot.temp`);
    0 where its /tmp is the host's (no private view) or cannot be seen from here."""
    try:
        theirs = f"/proc/{pid}/root/tmp"
        if os.stat(theirs).st_dev == os.stat("/tmp").st_dev:
            return 0
        usage = os.statvfs(theirs)
    except OSError:
        return 0
    return (usage.f_blocks - usage.f_bfree) * usage.f_frsize


def folder_bytes(folder: Path, most_entries: int = 10_000) -> int:
    """Bytes of the files under `folder` (the workers' temp folder where it is not a private
    tmpfs); past `most_entries` entries each further one counts as a whole 1 MiB, so a
    submission cannot make the measure slow by writing many small files."""
    total, seen = 0, 0
    folders = [str(folder)]
    while folders:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > most_entries:
                total += 2**20
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                pass
    return total


def needed_paths(*folders: Path) -> list[str]:
    """Paths a worker must reach: Python, its packages, and `folders` (never hidden from it)."""
    candidates = {sys.prefix, sys.exec_prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent),
                  str(paths.PACKAGE_DIR.parent), *(str(folder) for folder in folders)}
    candidates.update(p for p in sys.path if p)
    return sorted(p for p in candidates if os.path.isdir(p))
