"""What went wrong with the machine, not the input, as one line: what happened, what is kept, what to do.

`bootcamp grade` records each submission in its own transaction, so whatever stops a batch (a
full disk, an `--out` folder made read-only or removed while it runs) loses nothing that was
recorded, and the same command continues where it stopped. The instructor is told exactly that,
in one line, instead of a traceback:

    grading/: the disk is full (database or disk is full); every submission recorded before is kept
    in grading/gradebook.sqlite: free some space and run the same command again to continue

`describe` turns an `OSError` or a `sqlite3.Error` into that line; `GradebookError` (not a
gradebook, one from a newer grader) is already one line and is passed through.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def kind(error: BaseException, out: Path | None = None) -> str:
    """"full", "read-only", "gone", or "other": from the error's number, else from the folder's state."""
    if isinstance(error, OSError) and error.errno is not None:
        if error.errno in _FULL:
            return "full"
        if error.errno in _READ_ONLY:
            return "read-only"
        if error.errno in (errno.ENOENT, errno.ESTALE, errno.ENOTDIR):
            return "gone"
    text = str(error).lower()
    if "disk is full" in text:
        return "full"
    if out is not None:  # SQLite says "unable to open database file" for each of these
        if not out.is_dir():
            return "gone"
        info = os.statvfs(out)
        if info.f_flag & os.ST_RDONLY or not os.access(out, os.W_OK):
            return "read-only"
        if info.f_bavail == 0:
            return "full"
    if "readonly" in text or "read-only" in text:
        return "read-only"
    return "other"


def describe(error: BaseException, out: Path, *, grading: bool = True) -> str:
    """One line for a fault under `out` while grading (or, with `grading=False`, while exporting)."""
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, OSError) and error.strerror:
        reason = error.strerror
    found = kind(error, Path(out))
    kept = (f"every submission recorded before is kept in {out / 'gradebook.sqlite'}" if grading
            else "the gradebook is not changed by an export; files already written are whole")
    again = "run the same command again to continue" if grading else "run the same command again"
    if found == "full":
        return f"{out}: the disk is full ({reason}); {kept}: free some space and {again}"
    if found == "read-only":
        return f"{out}: cannot write there ({reason}); {kept}: make it writable (or choose another --out) and {again}"
    if found == "gone":
        return (f"{out}: the folder or a file in it disappeared ({reason}); what was recorded is in its "
                f"gradebook.sqlite wherever the folder went: put it back (or choose another --out) and {again}")
    return f"{out}: {reason}; {kept}: {again}"


FAULTS = (OSError, sqlite3.Error)
