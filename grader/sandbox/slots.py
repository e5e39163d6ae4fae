"""Grading slots: a number for each grading host, unique on this machine while the host lives.

A slot's number gives its sandbox workers their own user (`slot_uid`), so the workers of two
students graded at the same time, by one `bootcamp grade` or by several (Dask workers, two
instructors' batches), can neither signal each other's processes nor read each other's files.
Numbers are leased with a lock file per number in a folder only root can write (`/run`, or a
private folder in the temp area): the lock goes with the process that holds it, even on a kill.
Without root, workers do not change user and slots are only counted.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import shutil
import stat
import tempfile
import warnings
from pathlib import Path

import psutil

from grader.sandbox import strength
from grader.sandbox.limits import NOBODY_UID, slot_uid

MAX_SLOTS = 4096
_unshared = itertools.count()


class Slot:
    """The lowest free slot number on this machine, held until `release()` or this process ends."""

    def __init__(self) -> None:
        self.number, self._lock = _lease()
        self.clear()  # whatever a crashed batch left running as this slot's user

    @property
    def uid(self) -> int:
        return slot_uid(self.number)

    def clear(self) -> None:
        """Kill every process of this slot's user (root only). Nothing of a graded submission may
        outlive it: a process it left behind, even a stopped one, would share the next student's
        user. Safe because the slot is leased: no other grading runs as this user. The files it
        left in the shared temp folders go too (only where there are no namespaces can there be any)."""
        kill_user(self.uid)
        if strength.sandbox_kind() == strength.BY_USER:
            remove_files_of(self.uid)

    def release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the lock
            self._lock = None


def kill_user(uid: int) -> None:
    """SIGKILL every process whose real user is `uid`, until none is left (root only; never nobody's)."""
    if os.geteuid() != 0 or uid in (0, NOBODY_UID):
        return
    for _ in range(100):
        found = [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]
        if not found:
            return
        for process in found:
            try:
                process.kill()  # SIGKILL ends a stopped process too
            except psutil.Error:
                pass
        psutil.wait_procs(found, timeout=0.5)


TEMP_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")


def remove_files_of(uid: int, folders: tuple[str, ...] = TEMP_FOLDERS) -> list[str]:
    """Remove every file and folder that `uid` owns under `folders` (root only; never nobody's,
    never root's): what a check left in the shared temp folders where it had no private ones.
    Symbolic links are removed, never followed; folders that user may not enter are not walked
    (nothing of its can be there). Returns what was removed."""
    if os.geteuid() != 0 or uid in (0, NOBODY_UID):
        return []
    removed = []
    for top in folders:
        for folder, subfolders, files in os.walk(top, onerror=lambda error: None):
            for name in list(subfolders) + files:
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if info.st_uid != uid:
                    if stat.S_ISDIR(info.st_mode) and not _enterable(info, uid):
                        subfolders.remove(name)  # nothing of `uid` can be below a folder it cannot enter
                    continue
                if stat.S_ISDIR(info.st_mode):
                    subfolders.remove(name)
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                removed.append(path)
    return removed


def _enterable(info: os.stat_result, uid: int) -> bool:
    """Whether a user `uid` whose only group is `uid` (a sandbox user) may enter a folder not its own."""
    return bool(info.st_mode & (stat.S_IXGRP if info.st_gid == uid else stat.S_IXOTH))


def _lease() -> tuple[int, int | None]:
    folder = _lock_folder()
    if folder is None:
        if os.geteuid() == 0:
            warnings.warn("no private folder for grading-slot locks (/run or the temp folder): slots are "
                          "numbered in this process only, and parallel batches may share sandbox users")
        return next(_unshared), None
    for number in range(MAX_SLOTS):
        lock = os.open(folder / f"{number}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return number, lock
        except BlockingIOError:
            os.close(lock)
    raise RuntimeError(f"all {MAX_SLOTS} grading slots on this machine are taken")


def _lock_folder() -> Path | None:
    """A folder that only this (root) user can write, for the lock files; None without root."""
    if os.geteuid() != 0:
        return None
    for folder in (Path("/run/bootcamp-slots"), Path(tempfile.gettempdir()) / "bootcamp-slots-root"):
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            info = os.lstat(folder)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and not info.st_mode & 0o022:
            return folder
    return None
