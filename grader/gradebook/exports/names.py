"""A student id as a file name, the same in every export and report that writes one file per student."""

from __future__ import annotations

import hashlib


def safe_name(student: str) -> str:
    """A student id as a file name (ids come from file names, but a merged gradebook may hold any)."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-_.@+") else "_" for c in student).lstrip(".")
    if cleaned == student:
        return cleaned
    # a changed name gets a short hash, so two ids never share a file
    return f"{cleaned or '_'}-{hashlib.sha256(student.encode('utf-8', 'backslashreplace')).hexdigest()[:8]}"
