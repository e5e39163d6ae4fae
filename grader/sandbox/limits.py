"""Limits on a worker, and the isolation applied to it before any student code runs.

`Limits` is the policy (plain numbers, set by the grader). `isolate()` runs inside the worker's
zygote, before it forks the processes that import student code, and applies what the operating
system allows. On Linux, as root or as an ordinary user (in a user namespace):

- private mount, PID and network namespaces (`unshare`): no network but loopback;
- an allowlist view of the file system (`view.py`): a fresh root holding the interpreter and the
  packages it imported (read-only), the submission's own copy, a private size-capped /tmp,
  /var/tmp and /dev/shm, /dev essentials and the namespace's own /proc; no checkout, no `.git`,
  no home, no caches, no data. Secret folders inside what is bound (the suites in the grader
  package, `Limits.hide`) are covered;
- process 1 of the PID namespace (`reaper.py`) adopts orphans; when the check ends, however it
  ends, the kernel kills every process of the namespace, and no worker can name, signal or
  ptrace a process outside it (the zygote, the grader, another check);
- no privilege left: as root, a switch to an unprivileged user of its own (`uid`); in a user
  namespace, every capability dropped. Either way no exec can gain privileges again;
- resource limits: no core files, a cap on file size, a cap on processes (as root for the
  workers' user; as an ordinary user in the submission's user namespace, Linux 5.14+).

Where the kernel refuses namespaces (a container with Docker's defaults), as root, `by_user`
stands in for them: the check's own user with no capability, Landlock, a private temp folder,
the zygote kept out of the workers' reach, and kill-and-clean by user when the check ends.

Memory is capped from outside, by the grader watching the worker's resident memory, its
children's proportional share and the private tmpfs (see `processes.Worker.memory`). An
address-space limit (RLIMIT_AS) is deliberately not used: the CUDA build of torch reserves far
more address space than it uses and fails to import under a few GiB.

`isolate()` returns the measures that took effect; the report shows them.
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import asdict, dataclass, field, replace
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
_CLONE_NEWPID = 0x20000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_PR_SET_NO_NEW_PRIVS = 38


@dataclass(frozen=True)
class Limits:
    """What one submission's worker may use.

    call_timeout: seconds for one call into student code (a test may ask for more).
    budget: seconds of worker time for the whole submission, all tests together.
    memory_bytes: memory of the worker, its children and its private tmpfs, watched by the grader.
    output_bytes: captured stdout/stderr kept per test; the rest is counted and dropped.
    message_bytes: the largest reply the grader reads from the worker.
    file_bytes: the largest file the worker may write.
    threads: torch intra-op threads in each worker (0: torch's default). One by default: the
        same arithmetic on every machine, and parallel graders do not oversubscribe the cores.
    temp_bytes: the size of the private tmpfs behind /tmp, /var/tmp and /dev/shm.
    processes: how many processes the submission may have at once (the zygote and process 1 of
        its namespace included): `RLIMIT_NPROC`, counted for the workers' user, or, as an ordinary
        user, in the submission's own user namespace (Linux 5.14+), so never machine-wide.
    hide: folders the worker must not read: out of its view, and covered where they lie inside
        a folder it is given (the suites inside the grader package).
    uid: the unprivileged user and group the workers run as, when the grader runs as root. A batch
        gives each grading slot its own (`slot_uid`); None: the submission leases a slot of its
        own (`grader.sandbox.slots.Slot`), so no two checks on one machine share a user.
    """

    call_timeout: float = 20.0
    budget: float = 900.0
    memory_bytes: int = 4 * 2**30
    output_bytes: int = 64 * 2**10
    message_bytes: int = 512 * 2**20
    file_bytes: int = 1 * 2**30
    threads: int = 1
    temp_bytes: int = 256 * 2**20
    processes: int = 512
    hide: tuple[str, ...] = field(default_factory=tuple)
    uid: int | None = None

    def __post_init__(self) -> None:
        if self.uid is not None and not 0 < self.uid < 2**32 - 1:
            raise ValueError(f"uid {self.uid}: the workers must run as an unprivileged user")

    def to_json(self) -> dict:
        return asdict(self)


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _unshare(flags: int) -> None:
    if ctypes.CDLL(None, use_errno=True).unshare(flags) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare: {os.strerror(errno)}")


@dataclass
class Isolation:
    """What `isolate` set up: the measures in force, process 1 of the submission's PID namespace
    (None where the kernel gave none), and, as root without namespaces, what each worker applies
    to itself (`by_user`)."""

    measures: list[str]
    reaper: "reaper_module.Reaper | None" = None
    confinement: "by_user.WorkerConfinement | None" = None  # what each worker applies, without namespaces


def isolate(limits: Limits, layout: dict) -> Isolation:
    """Apply every measure the OS allows; return a description of each one that took effect.

    `layout`: the submission's folders, {"student": read-only copy, "work": writable working
    folder, "stage": an empty folder where the new root is built}. On Linux, as root or (in a
    user namespace) as an ordinary user: private mount, PID and network namespaces, the
    allowlist view of `view.py`, then no privilege left (another user as root; no capability in
    the user namespace otherwise). Where the kernel refuses namespaces, as root, `by_user` keeps
    the promises with a user per check, file modes, Landlock and kill-and-clean by user; as an
    ordinary user only the limits remain. The measures say which.
    """
    from grader.sandbox import capabilities, view
    from grader.sandbox import reaper as reaper_module

    isolation = Isolation([])
    measures = isolation.measures
    _set_rlimits(limits, measures)
    if not sys.platform.startswith("linux"):
        return isolation
    is_root = os.geteuid() == 0
    uid, gid = os.getuid(), os.getgid()
    if limits.uid is None:
        limits = replace(limits, uid=NOBODY_UID)
    flags = _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET
    try:
        if not is_root and not enter_user_namespace():
            raise OSError("no user namespace")
        _unshare(flags)
    except OSError:  # a container that refuses namespaces, or a kernel without user namespaces
        if is_root:
            from grader.sandbox import by_user

            isolation.confinement = by_user.confine(limits, layout, measures)
        else:
            measures.append("no namespaces (the kernel refused them): no allowlist, no private network")
        return isolation
    measures.append("no network (private network namespace)")
    view.make_private()
    root = view.NewRoot(layout["stage"])
    isolation.reaper = reaper_module.start(
        root.inside("/proc"),
        (lambda: _drop_privileges(limits.uid)) if is_root else (lambda: capabilities.keep_only(())))
    measures.append("own PID namespace: sees and signals only its own processes, all killed when the check ends")
    worker_uid = limits.uid if is_root else uid
    worker_gid = limits.uid if is_root else gid
    root.system()
    root.devices()
    root.temp(limits.temp_bytes)
    root.python(own=(layout["student"], layout["work"]))
    root.bind(layout["student"])
    root.bind(layout["work"], writable=True)
    root.users(worker_uid, worker_gid, layout["work"])
    hidden = root.hide(limits.hide)
    root.enter(layout["work"])
    measures.append("sees an allowlist of the file system: Python and the installed packages (read-only), "
                    f"its own copy of the submission, a private {limits.temp_bytes // 2**20} MiB /tmp, "
                    f"/dev/shm and /var/tmp{', its own /proc' if isolation.reaper.proc_mounted else ''}")
    if hidden:
        measures.append("secret folders out of view: " + ", ".join(hidden))
    if is_root:
        _drop_privileges(limits.uid)
        measures.append(f"runs as unprivileged uid {limits.uid}, no capabilities")
        _set_process_cap(limits, measures)
    else:
        capabilities.keep_only(())
        measures.append("no capabilities (user namespace)")
        if not is_root and _counts_processes_per_user_namespace():
            _set_process_cap(limits, measures)
    return isolation


_in_user_namespace = False


def enter_user_namespace() -> bool:
    """Move this process (not root) into a user namespace of its own, keeping its user and group
    ids; True if it is in one. The kernel allows it only while the process has one thread, so a
    zygote started on its own calls this before it imports torch (whose libraries start threads);
    `isolate` calls it again, and then it does nothing."""
    global _in_user_namespace
    if not _in_user_namespace and os.geteuid() != 0 and sys.platform.startswith("linux"):
        uid, gid = os.getuid(), os.getgid()
        try:
            _unshare(_CLONE_NEWUSER)
            _map_user(uid, gid)
            _in_user_namespace = True
        except OSError:
            pass
    return _in_user_namespace


def _map_user(uid: int, gid: int) -> None:
    """In a fresh user namespace: keep our own user and group ids, and only those."""
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def _set_rlimits(limits: Limits, measures: list[str]) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    measures.append(f"files capped at {limits.file_bytes // 2**20} MiB, no core dumps")


def _set_process_cap(limits: Limits, measures: list[str]) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    measures.append(f"at most {limits.processes} processes")


def _counts_processes_per_user_namespace() -> bool:
    """Since Linux 5.14 `RLIMIT_NPROC` counts a user's processes in each user namespace apart
    (`ucounts`): in the submission's own namespace the cap counts only its processes. Before,
    it counted every process of the user on the machine, which an ordinary user's cap must not."""
    try:
        major, minor = (int(part) for part in os.uname().release.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 14)


def _drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)  # the group of the same number (a slot's; nogroup for nobody, 65534)
    os.setresuid(uid, uid, uid)  # clears every capability
    _libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
