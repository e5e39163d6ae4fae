"""The first process of a submission's PID namespace: it mounts /proc, adopts orphans, and ends
everything when it ends.

After the zygote calls `unshare(CLONE_NEWPID)`, its next child becomes process 1 of a new PID
namespace, and every later child (each worker) is created in that namespace too. The zygote
itself stays outside: a worker cannot name it, nor the grader, the mother or another check's
processes, so it can neither signal nor ptrace them, and its `/proc` lists only its own
submission's processes. Process 1 of a namespace:

- mounts the namespace's `/proc` in the new root (only a process inside may);
- adopts every orphan of the workers (a double fork into its own session included), and reaps
  them (SIGCHLD ignored);
- ignores every signal sent from inside the namespace, SIGKILL and SIGSTOP included: the
  kernel's rule for a namespace's init that has no handlers;
- kills its adopted orphans whenever the zygote writes a byte on its command pipe (at each fork
  request, as the zygote did before with its own orphans);
- exits when that pipe closes (the zygote ended, however it ended) or its parent dies, and the
  kernel then kills every process left in the namespace. So nothing a check starts outlives it.

`start(proc_target)` forks it and returns a `Reaper` for the zygote.
"""

from __future__ import annotations

import ctypes
import os
import signal
from typing import Callable

from grader.sandbox import view

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4


class Reaper:
    """The zygote's handle on process 1 of its submission's namespace."""

    def __init__(self, pid: int, command_fd: int, proc_mounted: bool):
        self.pid = pid
        self.command_fd = command_fd
        self.proc_mounted = proc_mounted

    def kill_orphans(self) -> None:
        try:
            os.write(self.command_fd, b"k")
        except OSError:
            pass

    def kill_everything(self) -> None:
        """SIGKILL process 1: the kernel then kills every process of the namespace."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass


def start(proc_target: str, drop_privileges: Callable[[], None]) -> Reaper:
    """Fork process 1 of the namespace made by `unshare(CLONE_NEWPID)` (call right after it).

    Once /proc is mounted it calls `drop_privileges`: it then runs as the workers' user, so the
    zygote (which drops to that user too) can kill it, and, not dumpable, no worker can trace it.
    """
    command_read, command_write = os.pipe()
    report_read, report_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(command_write)
            os.close(report_read)
            _run(command_read, report_write, proc_target, drop_privileges)
        finally:
            os._exit(0)
    os.close(command_read)
    os.close(report_write)
    mounted = os.read(report_read, 1) == b"1"
    os.close(report_read)
    return Reaper(pid, command_write, mounted)


def _run(command_fd: int, report_fd: int, proc_target: str, drop_privileges: Callable[[], None]) -> None:
    libc = ctypes.CDLL(None)
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(number, signal.SIG_DFL)  # no handler: signals from inside the namespace are ignored
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # orphans are reaped by the kernel
    try:
        view.mount("proc", proc_target, "proc", view.MS_NOSUID | view.MS_NODEV | view.MS_NOEXEC)
        proc = os.open(proc_target, os.O_DIRECTORY | os.O_RDONLY)
        os.write(report_fd, b"1")
    except OSError:
        proc = None
        os.write(report_fd, b"0")
    os.close(report_fd)
    drop_privileges()
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after the change of user, which clears it
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace by the workers' user
    while os.read(command_fd, 64):
        if proc is not None:
            _kill_adopted(proc)


def _kill_adopted(proc: int) -> None:
    """SIGKILL every process whose parent is this one (the workers' parent is the zygote, which is
    outside the namespace: their parent id reads 0 here)."""
    for name in os.listdir(proc):
        if not name.isdigit() or name == "1":
            continue
        try:
            with open(f"{name}/stat", opener=lambda path, flags: os.open(path, flags, dir_fd=proc)) as stat:
                parent = int(stat.read().rpartition(")")[2].split()[1])
            if parent == 1:
                os.kill(int(name), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass
