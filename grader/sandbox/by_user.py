"""The sandbox where the kernel refuses namespaces, as root: a container with Docker's defaults.

Gradescope runs its autograder that way, and so do most CI containers and Kubernetes pods: the
default seccomp profile refuses `unshare`, `setns`, `mount` and `clone` with a namespace flag,
and the capability bounding set is Docker's short list. There the zygote cannot build the
allowlist view of `view.py`, and keeps the same promises with what needs no namespace:

- every worker runs as the check's own unprivileged user (`Limits.uid`, leased per check), with
  no capability left: a non-root user has none after `setresuid`, so file modes hold even where
  the bounding set keeps CAP_DAC_OVERRIDE. The grader closes its secret folders to other users
  before it starts the zygote (`secrets.close_to_others`);
- Landlock, where the kernel offers it, as the allowlist: a worker may read Python, its packages
  and its own copy of the submission, write its working folder and private temp folder, use the
  harmless devices, its own `/proc` entries, and nothing else (no checkout, no `.git`, no other
  checkout, no `/tmp`, no other process's `/proc`); from ABI 4 no TCP, from ABI 6 no signal to a
  process outside its own domain;
- a private temp folder (`TMPDIR`, `TMP`, `TEMP`) only that user may use; after the check, every
  process of that user is killed and every file it owns in `/tmp`, `/var/tmp` and `/dev/shm`
  removed (`proxy.Submission.close`: `slots.kill_user`, `slots.remove_files_of`);
- the zygote stays root with only the capabilities it needs to start workers (change of user,
  kill), not dumpable: a worker, another user, can neither signal nor trace it.

`confine(limits, layout, measures)` runs in the zygote and returns the `WorkerConfinement` that
each forked worker applies to itself first thing (`zygote._Spare`).
"""

from __future__ import annotations

import ctypes
import os
import resource
import tempfile
from dataclasses import dataclass

from grader.sandbox import capabilities, landlock, view

_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38
_CAP_KILL, _CAP_SETGID, _CAP_SETUID = 5, 6, 7
ZYGOTE_CAPABILITIES = (_CAP_KILL, _CAP_SETGID, _CAP_SETUID)  # to kill its workers and start them as another user
TEMP_VARIABLES = ("TMPDIR", "TMP", "TEMP", "TEMPDIR")


@dataclass
class WorkerConfinement:
    """What a forked worker applies to itself before anything else (see `apply`)."""

    uid: int
    processes: int
    ruleset_fd: int | None
    landlock_abi: int = 0

    def apply(self) -> None:
        """Become the check's user (every capability gone), cap its processes, and enter the
        Landlock domain: the allowlist, and no signal to the zygote or another worker. A second
        layer narrows `/proc` to this worker's own entries (`/proc/self`): which process that is
        is known only here, after the fork."""
        own_proc = _own_proc_layer(self.landlock_abi) if self.ruleset_fd is not None else None
        os.setgroups([])
        os.setresgid(self.uid, self.uid, self.uid)
        os.setresuid(self.uid, self.uid, self.uid)  # from root to a user: every capability cleared
        resource.setrlimit(resource.RLIMIT_NPROC, (self.processes, self.processes))
        libc = ctypes.CDLL(None)
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
        if self.ruleset_fd is not None:
            landlock.restrict(self.ruleset_fd)
            os.close(self.ruleset_fd)
            landlock.restrict(own_proc.fd)
            own_proc.close()


def _own_proc_layer(version: int) -> landlock.Ruleset:
    """A ruleset that allows everything but `/proc`, and of `/proc` the listing of process ids and
    this process's own folder."""
    layer = landlock.Ruleset(version)
    for name in os.listdir("/"):
        if name != "proc":
            layer.allow(f"/{name}", layer.rights)
    layer.allow("/proc", landlock.READ_DIR)  # the list of process ids; no other process's files
    layer.allow(f"/proc/{os.getpid()}", landlock.READ)
    return layer


def confine(limits, layout: dict, measures: list[str]) -> WorkerConfinement:
    """In the zygote (root, no namespaces): the private temp folder, the workers' Landlock
    ruleset, and the zygote's own capabilities cut to starting workers. Appends the measures."""
    temp = layout["temp"]
    os.environ.update({name: temp for name in TEMP_VARIABLES})
    tempfile.tempdir = None  # found again from TMPDIR
    measures.append("no namespaces (the kernel refused them): the measures below stand in")
    measures.append(f"runs as unprivileged uid {limits.uid}, no capabilities (file modes hold)")
    measures.append(f"at most {limits.processes} processes")
    measures.append("a private temp folder (TMPDIR) only its user may use; when the check ends, every "
                    f"process of uid {limits.uid} is killed and its files in /tmp, /var/tmp and /dev/shm removed")
    ruleset = _ruleset(limits, layout)
    if ruleset is not None:
        measures.append(f"sees an allowlist of the file system (Landlock ABI {ruleset.version}): Python and the "
                        "installed packages (read-only), its own copy of the submission, its working and temp "
                        "folders, its own /proc entries; no checkout, no /tmp")
        if limits.hide:
            measures.append("secret folders out of reach: " + ", ".join(limits.hide))
        if ruleset.governs_network:
            measures.append("no TCP connections (Landlock)")
        if ruleset.scopes_signals:
            measures.append("signals and traces only its own processes (Landlock scope)")
    _keep_only(ZYGOTE_CAPABILITIES)
    measures.append("the zygote keeps another user (root, with only the capabilities to start workers) and "
                    "is not dumpable: no worker can signal or trace it")
    return WorkerConfinement(limits.uid, limits.processes, ruleset.fd if ruleset is not None else None,
                             ruleset.version if ruleset is not None else 0)


def _ruleset(limits, layout: dict) -> landlock.Ruleset | None:
    """The workers' allowlist, the same as the view's (`view.py`); None without Landlock."""
    version = landlock.abi()
    if not version:
        return None
    ruleset = landlock.Ruleset(version)
    hidden = tuple(limits.hide)
    for path in (*view.SYSTEM, *view.SYSTEM_FILES):
        ruleset.allow(path, landlock.READ, except_for=hidden)
    for path, _ in view.python_paths(own=(layout["student"], layout["work"])):
        ruleset.allow(path, landlock.READ, except_for=hidden)
    ruleset.allow(layout["student"], landlock.READ)
    for folder in (layout["work"], layout["temp"]):
        ruleset.allow(folder, landlock.WRITE)
    gpus = [f"/dev/{name}" for name in sorted(os.listdir("/dev")) if name.startswith("nvidia")]
    for device in [f"/dev/{name}" for name in view.DEVICES] + gpus:
        ruleset.allow(device, landlock.DEVICE)
    if gpus:
        ruleset.allow("/sys", landlock.READ)  # the CUDA driver reads the devices' PCI entries
    ruleset.allow("/proc", landlock.READ)  # narrowed to the worker's own in each worker (`apply`)
    return ruleset


def _keep_only(kept: tuple[int, ...]) -> None:
    """Cut this (root) process's capabilities to `kept`, for good (`capabilities.keep_only`), and
    make it undumpable: no other process of its user may ptrace it or read its memory."""
    capabilities.keep_only(kept)
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
