"""Paired images in the A|B layout of Isola et al.'s image-to-image translation sets:
`<root>/<name>/{train,val,test}/*.jpg`.

Each file holds A and B side by side (A left, B right), so its width is twice its height. For
facades (the CMP Facade Database as Isola et al. publish it) A is the photo and B the label map; all
images are 512x256. The train split is `train/`; the test split is `test/`, or `val/` for sets that
publish no test folder. Decoded images are cached in `<root>/<name>/<name>.cache.pt`.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from grader.data.cache import CACHE_SUFFIX, cached_decode
from grader.data.embedded import embedded_pairs
from grader.paths import data_root
from grader.data.sets import DataError, PairedSet

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
TEST_SPLITS = ("test", "val")  # the first present is the test split


def _natural_key(path: Path) -> list[int | str]:
    """Sort key that puts 2.jpg before 10.jpg."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def split_files(directory: Path) -> list[Path]:
    """The image files of one split folder, in natural order."""
    files = [p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    return sorted(files, key=_natural_key)


def read_pair(path: Path) -> np.ndarray:
    """One A|B image as uint8 `(H, 2H, 3)`; a DataError naming the file if it is not one."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width != 2 * height:
                raise DataError(
                    f"{path}: {width}x{height} pixels, but an A|B pair must be twice as wide "
                    "as high"
                )
            return np.asarray(image.convert("RGB"))  # (H, 2H, 3)
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{path}: unreadable image ({exc})") from None


def read_split(directory: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """All pairs in a split folder: A and B, each uint8 `(N, 3, H, W)`.

    Raises:
        DataError: the folder has no images, or an image is unreadable, not A|B, or not the same
            size as the first one.
    """
    files = split_files(directory)
    if not files:
        raise DataError(f"{directory}: no images (expected *.jpg files holding A|B pairs)")
    first = read_pair(files[0])
    pairs = np.empty((len(files), *first.shape), dtype=np.uint8)  # (N, H, 2W, 3)
    pairs[0] = first
    for i, path in enumerate(files[1:], start=1):
        pair = read_pair(path)
        if pair.shape != first.shape:
            raise DataError(
                f"{path}: {pair.shape[1]}x{pair.shape[0]} pixels, but {files[0].name} is "
                f"{first.shape[1]}x{first.shape[0]}; all pairs in a split must have one size"
            )
        pairs[i] = pair
    both = torch.from_numpy(pairs).permute(0, 3, 1, 2)  # (N, 3, H, 2W)
    width = both.shape[-1] // 2
    return both[..., :width].contiguous(), both[..., width:].contiguous()


def find_test_split(directory: Path) -> Path | None:
    """The folder that serves as the test split (`test/`, else `val/`), or None."""
    return next((directory / s for s in TEST_SPLITS if (directory / s).is_dir()), None)


def load_paired_dir(directory: Path) -> PairedSet:
    """An A|B set from `directory` (`train/`, and `test/` or `val/`), decoded once, cached.

    Raises:
        DataError: a split folder is missing, or an image in it is bad (the message names it).
    """
    name = directory.name
    train_dir, test_dir = directory / "train", find_test_split(directory)
    if not train_dir.is_dir() or test_dir is None:
        raise DataError(
            f"{name} not found: expected {train_dir}/*.jpg and {directory / 'test'}/*.jpg "
            f"(or run `bootcamp data fetch {name}`)"
        )

    def decode() -> dict[str, torch.Tensor]:
        train_a, train_b = read_split(train_dir)
        test_a, test_b = read_split(test_dir)
        return {"train_a": train_a, "train_b": train_b, "test_a": test_a, "test_b": test_b}

    sources = split_files(train_dir) + split_files(test_dir)
    tensors = cached_decode(directory / f"{name}{CACHE_SUFFIX}", sources, decode)
    n_train, n_test = len(tensors["train_a"]), len(tensors["test_a"])
    return PairedSet(
        name=name,
        source=f"{name} ({directory}): {n_train:,} train / {n_test:,} {test_dir.name} pairs",
        **tensors,
    )


def load_pairs(
    name: str = "facades",
    root: str | os.PathLike | None = None,
    *,
    embedded: bool | Literal["auto"] = "auto",
) -> PairedSet:
    """A|B image pairs for image-to-image translation: A and B uint8 `(N, 3, H, W)` per split.

    Args:
        name: the set's folder under the data root, e.g. "facades".
        root: the data root (default: `data_root()`).
        embedded: "auto" uses `<root>/<name>` when it is present and valid, else the embedded
            64x64 set; True always uses the embedded set; False requires `<root>/<name>`.

    For facades and the embedded set alike, A is the photo and B the map drawn from it.

    Raises:
        DataError: with `embedded=False`, when the set is missing or an image in it is bad.
    """
    if embedded not in ("auto", True, False):
        raise ValueError(f"embedded must be 'auto', True or False, got {embedded!r}")
    directory = data_root(root) / name
    if embedded is True:
        return embedded_pairs()
    if embedded is False:
        return load_paired_dir(directory)
    try:
        return load_paired_dir(directory)
    except DataError as exc:
        fallback = embedded_pairs()
        present = (directory / "train").is_dir()
        reason = f"not usable: {exc}" if present else "not found"
        return replace(
            fallback, name=name, source=f"{fallback.source} ({name} in {directory} {reason})"
        )
