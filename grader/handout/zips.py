"""A `.zip` written in one piece: members with fixed times (the same sources give the same bytes),
through a temporary file renamed into place, so a reader never finds half a zip."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def write_zip(target: Path, members: dict[str, tuple[bytes, int]]) -> None:
    """Write `members` (name -> (content, unix mode)) to the zip `target`."""
    target = Path(target)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, (content, mode) in members.items():
                info = zipfile.ZipInfo(name, ZIP_TIME)
                info.external_attr = mode << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
