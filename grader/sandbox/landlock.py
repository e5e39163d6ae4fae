"""Landlock: a path allowlist the kernel enforces on a process and everything it starts.

Where namespaces are refused (a container with Docker's default seccomp profile), Landlock still
works: it needs no privilege and no namespace, only `PR_SET_NO_NEW_PRIVS`. A *ruleset* names the
kinds of access it governs and, for each allowed folder or file, the access allowed beneath it;
whatever it governs and no rule allows is refused (EACCES), whatever the file modes say. A
process that calls `restrict(ruleset)` enters a new *domain*, kept across fork and exec, and
never left. From ABI 4 a ruleset also governs TCP bind and connect, and from ABI 6 it can
*scope* signals: a process in a domain then cannot signal a process outside it (nor, as always
with Landlock, ptrace one).

The rules only allow, so a secret inside an allowed folder (the grading suites inside the grader
package) is left out by allowing the folder's other entries one by one (`Ruleset.allow`).

    ruleset = Ruleset(abi())           # 0: no Landlock on this kernel
    ruleset.allow("/usr", READ)
    ruleset.allow(work, WRITE)
    restrict(ruleset.fd)               # in the process to confine (a forked worker)
"""

from __future__ import annotations

import ctypes
import functools
import os

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_MAKE_AND_REMOVE = sum(1 << bit for bit in range(4, 13))  # remove dir/file, make char/dir/reg/sock/fifo/block/sym
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the rights a rule on a file may carry
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

READ = EXECUTE | READ_FILE | READ_DIR
WRITE = READ | WRITE_FILE | _MAKE_AND_REMOVE | REFER | TRUNCATE
DEVICE = READ_FILE | WRITE_FILE | TRUNCATE | IOCTL_DEV


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@functools.lru_cache(maxsize=None)
def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _syscall(number: int, *args) -> int:
    result = _libc().syscall(ctypes.c_long(number), *args)
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"landlock: {os.strerror(errno)}")
    return result


@functools.lru_cache(maxsize=None)
def abi() -> int:
    """The Landlock ABI version this kernel offers; 0 where it has none (or it is disabled)."""
    try:
        return _syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except OSError:
        return 0


def handled_fs(version: int) -> int:
    """Every file-system right ABI `version` governs."""
    rights = READ | WRITE_FILE | _MAKE_AND_REMOVE
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    if version >= 5:
        rights |= IOCTL_DEV
    return rights


class Ruleset:
    """A ruleset being built: every file-system right the ABI knows is governed; TCP too (ABI 4+),
    and signals and abstract sockets are scoped (ABI 6+). `fd` stays open for `restrict`."""

    def __init__(self, version: int):
        self.version = version
        self.rights = handled_fs(version)
        attr = _RulesetAttr(self.rights, _NET_BIND_TCP | _NET_CONNECT_TCP if version >= 4 else 0,
                            SCOPE_SIGNAL | SCOPE_ABSTRACT_UNIX_SOCKET if version >= 6 else 0)
        size = 24 if version >= 6 else 16 if version >= 4 else 8
        self.fd = _syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
        os.set_inheritable(self.fd, False)
        self.allowed: list[str] = []

    @property
    def governs_network(self) -> bool:
        return self.version >= 4

    @property
    def scopes_signals(self) -> bool:
        return self.version >= 6

    def allow(self, path: str, access: int, *, except_for: tuple[str, ...] = ()) -> None:
        """Allow `access` beneath `path` (a folder or a file), but not beneath any of `except_for`
        that lies inside it: then the folder's other entries are allowed one by one."""
        path = os.path.abspath(path)
        inside = [secret for secret in except_for if _within(secret, path)]
        if any(secret == path for secret in inside) or not os.path.lexists(path):
            return
        if inside and os.path.isdir(path) and not os.path.islink(path):
            for name in sorted(os.listdir(path)):
                self.allow(os.path.join(path, name), access, except_for=tuple(inside))
            return
        try:
            handle = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            rule = access & self.rights & (_FILE_RIGHTS if not os.path.isdir(path) else ~0)
            attr = _PathBeneathAttr(rule, handle)
            _syscall(_ADD_RULE, ctypes.c_int(self.fd), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(attr),
                     ctypes.c_uint32(0))
            self.allowed.append(path)
        finally:
            os.close(handle)

    def close(self) -> None:
        os.close(self.fd)


def restrict(ruleset_fd: int) -> None:
    """Enter the ruleset's domain, for good (and everything this process starts from now on)."""
    _libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _syscall(_RESTRICT_SELF, ctypes.c_int(ruleset_fd), ctypes.c_uint32(0))


def _within(path: str, folder: str) -> bool:
    path, folder = os.path.abspath(path), os.path.abspath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
