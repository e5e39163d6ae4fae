"""Limits on a worker, and the isolation applied to it before any student code runs.

`Limits` is the policy (plain numbers, set by the grader). `isolate()` runs inside the worker's
zygote, before it forks the processes that import student code, and applies what the operating
system allows:

- a private network namespace with no interfaces but loopback (`unshare`), so no network;
- when the grader runs as root on Linux: a private mount namespace where the secret folders
  (`solutions/`, the grading suites, the gradebook) are covered by empty read-only tmpfs mounts,
  then a switch to an unprivileged user with no capabilities, so it can neither read them nor
  unmount the covers;
- resource limits: no core files, a cap on file size, a cap on processes when unprivileged.

Memory is capped from outside, by the grader watching the worker's resident memory (see
`Worker`). An address-space limit (RLIMIT_AS) is deliberately not used: the CUDA build of torch
reserves far more address space than it uses and fails to import under a few GiB.

`isolate()` returns the list of measures that took effect; the report shows it.
"""

from __future__ import annotations

import ctypes
import os
import stat
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

NOBODY_UID = 65534
# Users for parallel grading slots: 65536 + slot. systemd documents 65536-524287 as unused (no
# account, system user, dynamic service user or container range), so no one's files become a
# worker's. A container that maps only 65536 ids gets 65533 - slot instead (65000-65533 is
# reserved by Debian's policy; systemd may hand 61184-65519 to dynamic service users).
SLOT_UID_BASE = 65536
SLOT_USERS = 524288 - SLOT_UID_BASE
_SMALL_MAP_USERS = 534


def slot_uid(slot: int) -> int:
    """The unprivileged user (and group) of grading slot `slot`: 65536 + slot where this
    process's user namespace maps that id, else 65533 - slot where it maps that; else nobody."""
    for uid in (SLOT_UID_BASE + slot % SLOT_USERS, NOBODY_UID - 1 - slot % _SMALL_MAP_USERS):
        if _mapped(uid):
            return uid
    return NOBODY_UID


def _mapped(uid: int) -> bool:
    """Whether `uid` is a user and group id this process could switch to (see user_namespaces(7))."""
    for table in ("uid_map", "gid_map"):
        try:
            rows = [line.split() for line in Path(f"/proc/self/{table}").read_text().splitlines() if line.strip()]
        except OSError:
            return False
        if not any(int(inside) <= uid < int(inside) + int(count) for inside, _, count in rows):
            return False
    return True

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18


@dataclass(frozen=True)
class Limits:
    """What one submission's worker may use.

    call_timeout: seconds for one call into student code (a test may ask for more).
    budget: seconds of worker time for the whole submission, all tests together.
    memory_bytes: resident memory of the worker and its children, watched by the grader.
    output_bytes: captured stdout/stderr kept per test; the rest is counted and dropped.
    message_bytes: the largest reply the grader reads from the worker.
    file_bytes: the largest file the worker may write.
    threads: torch intra-op threads in each worker (0: torch's default). One by default: the
        same arithmetic on every machine, and parallel graders do not oversubscribe the cores.
    hide: folders the worker must not read (covered when the grader runs as root on Linux).
    uid: the unprivileged user and group the workers run as, when the grader runs as root. A batch
        gives each grading slot its own (`slot_uid`), so the workers of two students graded at
        the same time can neither signal each other's processes nor read each other's files.
    """

    call_timeout: float = 20.0
    budget: float = 900.0
    memory_bytes: int = 4 * 2**30
    output_bytes: int = 64 * 2**10
    message_bytes: int = 512 * 2**20
    file_bytes: int = 1 * 2**30
    threads: int = 1
    isolate_network: bool = True
    drop_privileges: bool = True
    hide: tuple[str, ...] = field(default_factory=tuple)
    uid: int = NOBODY_UID

    def __post_init__(self) -> None:
        if not 0 < self.uid < 2**32 - 1:
            raise ValueError(f"uid {self.uid}: the workers must run as an unprivileged user")

    def to_json(self) -> dict:
        return asdict(self)


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _unshare(flags: int) -> None:
    _check(_libc().unshare(flags), "unshare")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc().mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags),
                         encode(data)), f"mount {target}")


def isolate(limits: Limits, needed: list[str]) -> list[str]:
    """Apply every measure the OS allows; return a description of each one that took effect.

    `needed` are paths the worker must still reach after dropping privileges (the Python
    installation, the grader's sandbox package, the student's copy, its working folder).
    """
    measures: list[str] = []
    _set_rlimits(limits, measures)
    if not sys.platform.startswith("linux"):
        return measures
    is_root = os.geteuid() == 0
    if is_root:
        flags = _CLONE_NEWNS | (_CLONE_NEWNET if limits.isolate_network else 0)
        try:
            _unshare(flags)
        except OSError:
            return measures
        if limits.isolate_network:
            measures.append("no network (private network namespace)")
        _mount("none", "/", None, _MS_REC | _MS_PRIVATE)
        hidden = _hide(limits.hide)
        if hidden:
            measures.append("secret folders covered: " + ", ".join(hidden))
        if limits.drop_privileges:
            _expose(needed)
            _drop_privileges(limits.uid)
            measures.append(f"runs as unprivileged uid {limits.uid}, no capabilities")
            _set_process_cap(measures)
    elif limits.isolate_network:
        try:  # an unprivileged user namespace, where the kernel allows one
            _unshare(_CLONE_NEWUSER | _CLONE_NEWNET)
            measures.append("no network (private user and network namespace)")
        except OSError:
            pass
    return measures


def _set_rlimits(limits: Limits, measures: list[str]) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    measures.append(f"files capped at {limits.file_bytes // 2**20} MiB, no core dumps")


def _set_process_cap(measures: list[str]) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_NPROC, (512, 512))
    measures.append("at most 512 processes")


def _hide(folders: tuple[str, ...]) -> list[str]:
    hidden = []
    for folder in folders:
        if os.path.isdir(folder):
            _mount("tmpfs", folder, "tmpfs", _MS_RDONLY | _MS_NOSUID | _MS_NODEV, "size=4k,mode=000")
            hidden.append(folder)
    return hidden


def _traversable_by_others(path: Path) -> bool:
    return bool(os.stat(path).st_mode & stat.S_IXOTH)


def _expose(needed: list[str]) -> None:
    """Make every needed path reachable by an unprivileged user, in this mount namespace only.

    A folder on the way that others may not enter (a 0700 home, say) is covered by a
    world-enterable tmpfs that holds just the needed children, bind-mounted from the originals.
    The real folder's mode is never changed, and nothing else in it becomes visible.
    """
    blocked: dict[Path, set[str]] = {}
    for target in {Path(p).resolve() for p in needed}:
        for depth in range(2, len(target.parts)):
            folder = Path(*target.parts[:depth])
            if not _traversable_by_others(folder):
                blocked.setdefault(folder, set()).add(target.parts[depth])
    for folder in sorted(blocked, key=lambda f: len(f.parts)):
        _cover_keeping(folder, sorted(blocked[folder]))


def _cover_keeping(folder: Path, children: list[str]) -> None:
    handles = {name: os.open(folder / name, os.O_PATH) for name in children}
    try:
        _mount("tmpfs", str(folder), "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=755")
        for name, handle in handles.items():
            original = f"/proc/self/fd/{handle}"
            (folder / name).mkdir() if os.path.isdir(original) else (folder / name).touch()
            _mount(original, str(folder / name), None, _MS_BIND | _MS_REC)
    finally:
        for handle in handles.values():
            os.close(handle)


def _drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)  # the group of the same number (65534: nogroup)
    os.setresuid(uid, uid, uid)  # clears every capability
