"""CIFAR-10, python version: read straight from the published `cifar-10-python.tar.gz`.

The archive holds `cifar-10-batches-py/` with `data_batch_1` ... `data_batch_5` (10,000 images
each, the train split), `test_batch` (10,000) and `batches.meta` (the class names). Each batch is
a pickled dict: `b"data"` a uint8 `(10000, 3072)` array, each row a 32x32 image stored as 1024 red
then 1024 green then 1024 blue values, row-major; `b"labels"` a list of ints 0-9. The batches are
unpickled with the restricted unpickler, nothing is extracted to disk, and the decoded tensors are
cached in `<root>/cifar10/cifar10.cache.pt`.
"""

from __future__ import annotations

import os
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np
import torch

from grader.data.cache import CACHE_SUFFIX, cached_decode
from grader.paths import data_root
from grader.data.sets import DataError, ImageSet
from grader.data.unpickle import RefusedGlobal, restricted_loads

CIFAR_DIR = "cifar10"
CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
BATCH_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)
META = "batches.meta"


def _read_members(archive: Path) -> dict[str, bytes]:
    """The bytes of each batch and of the meta file inside the archive, by member name."""
    wanted = {f"{BATCH_DIR}/{name}" for name in (*TRAIN_BATCHES, *TEST_BATCHES, META)}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name in wanted and member.isfile():
                    found[member.name.rsplit("/", 1)[1]] = tar.extractfile(member).read()
    except FileNotFoundError:
        raise DataError(f"{archive}: file not found") from None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DataError(
            f"{archive}: truncated or corrupt archive ({exc or type(exc).__name__})"
        ) from None
    if missing := sorted(name for name in wanted if name.rsplit("/", 1)[1] not in found):
        raise DataError(f"{archive}: not the CIFAR-10 python archive, missing {', '.join(missing)}")
    return found


def _unpickle(data: bytes, where: str) -> dict:
    """One restricted-unpickled member, which must be a dict."""
    try:
        value = restricted_loads(data)
    except RefusedGlobal as exc:
        raise DataError(f"{where}: {exc}: not a CIFAR batch") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise DataError(
            f"{where}: truncated or corrupt pickle ({exc or type(exc).__name__})"
        ) from None
    if not isinstance(value, dict):
        raise DataError(f"{where}: expected a pickled dict, found {type(value).__name__}")
    return value


def _decode_batch(data: bytes, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch's images uint8 `(N, 3, 32, 32)` and labels int64 `(N,)`."""
    batch = _unpickle(data, where)
    pixels, labels = batch.get(b"data"), batch.get(b"labels")
    if (
        not isinstance(pixels, np.ndarray)
        or pixels.dtype != np.uint8
        or pixels.ndim != 2
        or pixels.shape[1] != 3072
    ):
        found = (
            f"{pixels.dtype} {pixels.shape}"
            if isinstance(pixels, np.ndarray)
            else type(pixels).__name__
        )
        raise DataError(f"{where}: b'data' must be a uint8 (N, 3072) array, found {found}")
    if not isinstance(labels, list) or not all(
        isinstance(label, int) and 0 <= label <= 9 for label in labels
    ):
        raise DataError(f"{where}: b'labels' must be a list of ints 0-9")
    if len(labels) != len(pixels):
        raise DataError(f"{where}: {len(labels):,} labels but {len(pixels):,} images")
    images = torch.from_numpy(pixels.reshape(-1, 3, 32, 32).copy())  # (N, 3, 32, 32)
    return images, torch.tensor(labels, dtype=torch.int64)


def decode_cifar_archive(archive: Path) -> dict[str, torch.Tensor | list[str]]:
    """Decode the whole archive: train `(50000, 3, 32, 32)`, test `(10000, 3, 32, 32)`, class names.

    Raises:
        DataError: naming the archive (and member) when it is truncated, corrupt or malformed.
    """
    members = _read_members(archive)
    splits = {}
    for split, names in (("train", TRAIN_BATCHES), ("test", TEST_BATCHES)):
        decoded = [
            _decode_batch(members[name], f"{archive} ({BATCH_DIR}/{name})") for name in names
        ]
        splits[f"{split}_images"] = torch.cat([images for images, _ in decoded])
        splits[f"{split}_labels"] = torch.cat([labels for _, labels in decoded])
    meta_where = f"{archive} ({BATCH_DIR}/{META})"
    names = _unpickle(members[META], meta_where).get(b"label_names")
    if (
        not isinstance(names, list)
        or len(names) != 10
        or not all(isinstance(n, bytes) for n in names)
    ):
        raise DataError(f"{meta_where}: b'label_names' must be a list of 10 names")
    return {**splits, "classes": [name.decode("latin1") for name in names]}


def load_cifar10(root: str | os.PathLike | None = None) -> ImageSet:
    """CIFAR-10 from `<root>/cifar10/cifar-10-python.tar.gz`: images uint8 `(N, 3, 32, 32)`.

    There is no embedded fallback: CIFAR-10 must be fetched or placed by hand.

    Raises:
        DataError: the archive is missing (the message says where to place it) or corrupt.
    """
    archive = data_root(root) / CIFAR_DIR / CIFAR_ARCHIVE
    if not archive.is_file():
        raise DataError(
            f"CIFAR-10 not found: place {CIFAR_ARCHIVE} at {archive} "
            "(or run `bootcamp data fetch cifar10`)"
        )
    decoded = cached_decode(
        archive.parent / f"cifar10{CACHE_SUFFIX}", [archive], lambda: decode_cifar_archive(archive)
    )
    n_train, n_test = len(decoded["train_labels"]), len(decoded["test_labels"])
    return ImageSet(
        name="cifar10",
        train_images=decoded["train_images"],  # (50000, 3, 32, 32)
        train_labels=decoded["train_labels"],  # (50000,)
        test_images=decoded["test_images"],  # (10000, 3, 32, 32)
        test_labels=decoded["test_labels"],  # (10000,)
        source=f"CIFAR-10 ({archive}): {n_train:,} train / {n_test:,} test",
        classes=tuple(decoded["classes"]),
    )
