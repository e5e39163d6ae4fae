"""MNIST: the full published set when it is under the data root, else the embedded subset.

The full set is the four gzipped IDX files as published, in `<root>/mnist/`; they are decoded once
and cached in `<root>/mnist/mnist.cache.pt`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Literal

import torch

from grader.data.cache import CACHE_SUFFIX, cached_decode
from grader.data.embedded import embedded_mnist
from grader.data.idx import read_idx_images, read_idx_labels
from grader.paths import data_root
from grader.data.sets import DataError, ImageSet

MNIST_DIR = "mnist"
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
MNIST_CLASSES = tuple(str(digit) for digit in range(10))
IMAGE_SIZE = (28, 28)
MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)  # of the training pixels in [0, 1], per channel


def read_mnist_split(images_path: Path, labels_path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """One split's images `(N, 1, 28, 28)` uint8 and labels `(N,)` int64, checked to agree."""
    images = read_idx_images(images_path)  # (N, 1, H, W)
    labels = read_idx_labels(labels_path)  # (N,)
    if tuple(images.shape[2:]) != IMAGE_SIZE:
        raise DataError(
            f"{images_path}: images are {images.shape[2]}x{images.shape[3]}, expected 28x28"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{labels_path}: {len(labels):,} labels but {images_path.name} "
            f"has {len(images):,} images"
        )
    if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) <= 9:
        raise DataError(f"{labels_path}: labels outside 0-9 (found {int(labels.max())})")
    return images, labels


def missing_mnist_files(directory: Path) -> list[Path]:
    """The published MNIST files not present in `directory`."""
    return [directory / name for name in MNIST_FILES.values() if not (directory / name).is_file()]


def load_full_mnist(directory: Path) -> ImageSet:
    """Read the four published MNIST files in `directory` (decoded once, then cached).

    Raises:
        DataError: a file is missing, or is truncated, corrupt or inconsistent with its partner.
    """
    if missing := missing_mnist_files(directory):
        listed = ", ".join(str(path) for path in missing)
        raise DataError(
            f"full MNIST not found: place {listed} (or run `bootcamp data fetch mnist`)"
        )
    paths = {key: directory / name for key, name in MNIST_FILES.items()}

    def decode() -> dict[str, torch.Tensor]:
        train_images, train_labels = read_mnist_split(paths["train_images"], paths["train_labels"])
        test_images, test_labels = read_mnist_split(paths["test_images"], paths["test_labels"])
        return {
            "train_images": train_images,
            "train_labels": train_labels,
            "test_images": test_images,
            "test_labels": test_labels,
        }

    tensors = cached_decode(directory / f"mnist{CACHE_SUFFIX}", list(paths.values()), decode)
    n_train, n_test = len(tensors["train_labels"]), len(tensors["test_labels"])
    return ImageSet(
        name="mnist",
        source=f"full MNIST ({directory}): {n_train:,} train / {n_test:,} test",
        classes=MNIST_CLASSES,
        **tensors,
    )


def load_mnist(
    root: str | os.PathLike | None = None, *, embedded: bool | Literal["auto"] = "auto"
) -> ImageSet:
    """MNIST digits: images uint8 `(N, 1, 28, 28)`, labels int64 `(N,)`.

    Args:
        root: the data root (default: `data_root()`); full MNIST is read from `<root>/mnist/`.
        embedded: "auto" uses full MNIST when its files are present and valid, else the embedded
            4,000 / 1,000 subset; True always uses the embedded subset; False requires full MNIST.

    The returned set's `source` says which data was used and, for "auto", why full MNIST was not.

    Raises:
        DataError: with `embedded=False`, when full MNIST is missing (the message lists the exact
            files to place) or corrupt.
    """
    if embedded not in ("auto", True, False):
        raise ValueError(f"embedded must be 'auto', True or False, got {embedded!r}")
    directory = data_root(root) / MNIST_DIR
    if embedded is True:
        return embedded_mnist()
    if embedded is False:
        return load_full_mnist(directory)
    try:
        return load_full_mnist(directory)
    except DataError as exc:
        fallback = embedded_mnist()
        reason = "not found" if missing_mnist_files(directory) else f"not usable: {exc}"
        return replace(fallback, source=f"{fallback.source} (full MNIST in {directory} {reason})")
