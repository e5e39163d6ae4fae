"""A training run's folder: `runs/<practice>/<timestamp>/`, and its checkpoint written whole."""

from __future__ import annotations

import io
import time
from pathlib import Path

import torch

from grader.atomic import write_bytes_atomically


def new_run_folder(out: Path, practice: str) -> Path:
    """`out/<practice>/<YYYYmmdd-HHMMSS>`, with a suffix if that name is taken."""
    base = out / practice / time.strftime("%Y%m%d-%H%M%S")
    folder, number = base, 1
    while folder.exists():
        number += 1
        folder = base.with_name(f"{base.name}-{number}")
    folder.mkdir(parents=True)
    return folder


def save_checkpoint(state_dict: dict[str, torch.Tensor], path: Path) -> None:
    """`torch.save(state_dict)` to `path`, atomically (for `torch.load(weights_only=True)`)."""
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    write_bytes_atomically(path, buffer.getvalue())
