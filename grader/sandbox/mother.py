"""The mother: a warm process that forks zygotes, so a new submission's sandbox starts in milliseconds.

A zygote started on its own is a fresh Python that imports torch: seconds. The mother is such a
Python too, started once: it imports torch, warms up, and then only forks zygotes when asked
(see `grader.sandbox.zygote`, which also runs it). It holds nothing of the grader's: it was
started by exec with the workers' small environment (`worker_environment`), and it reads nothing
but spawn requests.

    use_mother(Mother())     # every later Zygote of this process, and of its forks, comes from it

Each grading host starts one before it forks the processes that grade, and the `bootcamp`
command starts one first thing for the commands that grade or train, so that its torch import
runs while the grader imports its own. This module imports only the standard library, so it
can be used before anything heavy is loaded.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from grader import paths


class Mother:
    """The mother process and the socket to ask it for zygotes.

    Requests queue in its socket while it starts; if it has died, zygotes start on their own.
    """

    def __init__(self, *, batch: bool = False) -> None:
        """`batch`: it will fork a zygote per submission, again and again (a grading host), so it
        spends the time between requests on more warm-up (see `zygote.mother`)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(  # in "/", with no home: it writes nothing anywhere
            [sys.executable, "-m", "grader.sandbox.zygote", "--mother", str(theirs.fileno()),
             *(["--batch"] if batch else [])],
            pass_fds=[theirs.fileno()], cwd="/", env=worker_environment(Path("/nonexistent")),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        theirs.close()
        self.control = ours
        self.failed = False

    def spawn(self, config: dict, env: dict[str, str], control_fd: int, log_fd: int) -> bool:
        """Ask for a zygote on `control_fd`; False if the mother is known to be gone."""
        from grader.sandbox import zygote as zygote_protocol

        if not self.failed:
            try:
                zygote_protocol.send(self.control, {"op": "spawn", "config": config, "env": env},
                                     (control_fd, log_fd))
            except OSError:
                self.failed = True
        return not self.failed

    def close(self) -> None:
        self.control.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


_mother: Mother | None = None


def use_mother(mother: Mother | None) -> None:
    """Start every later `Zygote` of this process (and of its forks) from `mother`."""
    global _mother
    _mother = mother


def current_mother() -> Mother | None:
    return _mother


def worker_environment(workdir: Path) -> dict[str, str]:
    """A small environment: nothing of the grader's own (tokens, credentials) reaches the worker."""
    keep = ("PATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(HOME=str(workdir), MPLCONFIGDIR=str(workdir), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=str(paths.PACKAGE_DIR.parent), PYTHONUNBUFFERED="1")
    # malloc'd memory in 2 MiB pages where the kernel allows (glibc 2.35+; ignored elsewhere): a
    # process holding torch then forks and exits in fewer page-table entries (see `prefork`)
    env["GLIBC_TUNABLES"] = ":".join(filter(None, [os.environ.get("GLIBC_TUNABLES"), "glibc.malloc.hugetlb=1"]))
    return env
