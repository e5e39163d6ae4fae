"""What the kernel grants this grader, asked once before any zygote starts, and what follows.

Three cases, decided from what the kernel does, never from what it is called:

- `NAMESPACES`: `unshare` gives a mount, PID and network namespace (as root, or as an ordinary
  user in a user namespace): the allowlist view of `view.py`, the strongest sandbox;
- `BY_USER`: root where namespaces are refused (a container with Docker's defaults: Gradescope,
  CI, Kubernetes): a user per check, file modes, Landlock, kill-and-clean by user (`by_user`);
- `WEAK`: an ordinary user without user namespaces (a distribution that disables them): only
  the limits remain. Student code can then read whatever that user can, the hidden suites and
  the reference solutions included, so the grader refuses to run hidden tests there unless told
  to accept it (`refusal`); a student's own check of the public tests may run.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

NAMESPACES, BY_USER, WEAK = "namespaces", "by user", "weak"
ACCEPT_ENV = "BOOTCAMP_WEAK_SANDBOX"  # "1": accept the weak sandbox (what `--weak-sandbox` sets)
_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000


@functools.lru_cache(maxsize=None)
def sandbox_kind() -> str:
    """NAMESPACES, BY_USER or WEAK for this process (see the module's docstring)."""
    if not sys.platform.startswith("linux"):
        return WEAK
    if _unshare_works():
        return NAMESPACES
    return BY_USER if os.geteuid() == 0 else WEAK


def _unshare_works() -> bool:
    """Whether a child of this process may make the namespaces the zygote makes: a throwaway
    fork tries (a process with threads may not make a user namespace; its fork has one)."""
    flags = _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET | (0 if os.geteuid() == 0 else _CLONE_NEWUSER)
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if ctypes.CDLL(None).unshare(flags) == 0 else 1)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def refusal(*, hidden_tests: bool, accept_weak: bool = False) -> str | None:
    """One line that says why hidden tests may not run here and what to change; None if they may."""
    if not hidden_tests or accept_weak or os.environ.get(ACCEPT_ENV) == "1" or sandbox_kind() != WEAK:
        return None
    return ("this kernel gives an ordinary user no namespaces, so the sandbox cannot hide the solutions and "
            "the hidden suites from student code: grade as root, enable user namespaces "
            "(sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces), run only the public "
            f"tests (--public-only), or accept the weaker sandbox with --weak-sandbox ({ACCEPT_ENV}=1)")


def weak_notice() -> str | None:
    """The one line a check prints where the sandbox is weak; None elsewhere."""
    if sandbox_kind() != WEAK:
        return None
    return ("no namespaces for this user: student code runs with your user's rights, under the "
            "time, memory and output limits only")
