"""Make the folders on the way to some paths enterable by every user, in a private mount namespace.

The tests run workers as other users (uid 1000, or a check's own uid under Docker's defaults)
with the interpreter and packages of this test run, which may lie under a folder only root may
enter (pyenv's Python in a 0700 /root). As root, `enter(targets)` moves this process into a
mount namespace of its own where each such folder is covered by a tmpfs (mode 755) that holds
only the needed child, bound from the original: nothing else of the folder shows, and the
machine's own mounts are untouched. Call it before giving up root (or entering Docker's defaults).
"""

from __future__ import annotations

import os

from grader.sandbox import view
from grader.sandbox.limits import _CLONE_NEWNS, _unshare


def enter(targets: list[str]) -> None:
    _unshare(_CLONE_NEWNS)
    view.make_private()
    blocked: dict[str, set[str]] = {}
    for target in {os.path.abspath(p) for p in targets}:
        parts = target.split(os.sep)
        for depth in range(2, len(parts)):
            folder_on_way = os.sep.join(parts[:depth])
            if not os.stat(folder_on_way).st_mode & 0o001:
                blocked.setdefault(folder_on_way, set()).add(parts[depth])
    for on_way in sorted(blocked, key=len):
        handles = {name: os.open(os.path.join(on_way, name), os.O_PATH) for name in blocked[on_way]}
        view.tmpfs(on_way, "mode=755")
        for name, handle in handles.items():
            original = f"/proc/self/fd/{handle}"
            place = os.path.join(on_way, name)
            os.mkdir(place) if os.path.isdir(original) else open(place, "w").close()
            view.mount(original, place, None, view.MS_BIND | view.MS_REC)
