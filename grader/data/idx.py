"""The IDX file format of MNIST, read and written without third-party parsers.

An IDX file is a header then raw data, all big-endian (http://yann.lecun.com/exdb/mnist/):

    bytes 0-1   zero
    byte  2     element type, 0x08 = unsigned byte (the only type MNIST uses)
    byte  3     number of dimensions d
    4 * d bytes each dimension as an unsigned 32-bit integer
    then        prod(dims) elements, row-major

Taken as one big-endian 32-bit number, the first four bytes are the "magic number": 2051 (0x803)
for an image file (d = 3: count, rows, columns) and 2049 (0x801) for a label file (d = 1: count).
MNIST publishes each file gzip-compressed.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from grader.data.sets import DataError

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension


def read_gzip(path: Path) -> bytes:
    """The decompressed bytes of a gzip file; a missing, truncated or corrupt one is a DataError."""
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except EOFError:
        raise DataError(f"{path}: truncated gzip file (the stream ends early)") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: not a valid gzip file ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def parse_idx(data: bytes, path: Path, magic: int) -> np.ndarray:
    """Parse IDX bytes into a uint8 array of the shape the header states.

    Args:
        data: the decompressed file.
        path: the file's name, for error messages.
        magic: the magic number the file must carry (`IMAGES_MAGIC` or `LABELS_MAGIC`).
    """
    if len(data) < 4:
        raise DataError(f"{path}: too short to be an IDX file ({len(data)} bytes)")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(f"{path}: wrong IDX magic number {found}, expected {magic}")
    ndim = data[3]
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header_size + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "has trailing bytes"
        raise DataError(
            f"{path}: {problem}: header says {' x '.join(map(str, dims))} bytes of data, "
            f"file has {len(data) - header_size}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(dims)


def read_idx_images(path: Path) -> torch.Tensor:
    """A gzipped IDX image file as uint8 `(N, 1, H, W)`."""
    array = parse_idx(read_gzip(path), path, IMAGES_MAGIC)  # (N, H, W)
    return torch.from_numpy(array.copy()).unsqueeze(1)  # (N, 1, H, W)


def read_idx_labels(path: Path) -> torch.Tensor:
    """A gzipped IDX label file as int64 `(N,)`."""
    array = parse_idx(read_gzip(path), path, LABELS_MAGIC)  # (N,)
    return torch.from_numpy(array.astype(np.int64))


def write_idx_gz(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzipped IDX file: `(N, H, W)` images or `(N,)` labels."""
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise ValueError(
            f"expected uint8 (N,) labels or (N, H, W) images, got {array.dtype} {array.shape}"
        )
    magic = IMAGES_MAGIC if array.ndim == 3 else LABELS_MAGIC
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    # mtime=0 makes the file's bytes, and so its md5, depend on the data alone
    with gzip.GzipFile(path, "wb", mtime=0) as handle:
        handle.write(header + np.ascontiguousarray(array).tobytes())
