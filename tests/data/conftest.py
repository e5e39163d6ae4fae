"""Writers for small files in each real published format, and a local HTTP server for fetch.

The writers build the bytes by hand (struct, gzip, pickle protocol 2, tarfile, Pillow) rather than
with `grader.data`'s own code, so a loader bug cannot cancel out in a writer bug.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import socket
import struct
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from grader.data.manifest import FileSpec, SetSpec

MNIST_NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def idx_bytes(magic: int, array: np.ndarray) -> bytes:
    """An uncompressed IDX file: big-endian magic, big-endian dims, then the uint8 data."""
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.astype(np.uint8).tobytes()


def write_mnist(
    directory: Path, n_train: int = 6, n_test: int = 4, seed: int = 0
) -> dict[str, np.ndarray]:
    """The four MNIST .gz files with random digits; returns the arrays written."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        images_name, labels_name = MNIST_NAMES[split]
        (directory / images_name).write_bytes(gzip.compress(idx_bytes(2051, images)))
        (directory / labels_name).write_bytes(gzip.compress(idx_bytes(2049, labels)))
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    return arrays


def cifar_batch(n: int, seed: int) -> dict[bytes, object]:
    """A batch dict the way the published ones are: bytes keys, uint8 (n, 3072) data, int labels."""
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": b"training batch",
        b"labels": [int(x) for x in rng.integers(0, 10, size=n)],
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }


def _py2_str(data: bytes) -> bytes:
    """A Python 2 `str` in pickle protocol 2: SHORT_BINSTRING or BINSTRING."""
    if len(data) < 256:
        return b"U" + bytes([len(data)]) + data
    return b"T" + struct.pack("<I", len(data)) + data


def _py2_int(value: int) -> bytes:
    if 0 <= value < 256:
        return b"K" + bytes([value])  # BININT1
    return b"J" + struct.pack("<i", value)  # BININT


def _py2_uint8_array(array: np.ndarray) -> bytes:
    """A uint8 array as Python 2's cPickle wrote numpy 1.x arrays (globals `numpy.core....`)."""
    ints = b"".join(_py2_int(d) for d in array.shape)
    dtype = (
        b"cnumpy\ndtype\n" + _py2_str(b"u1") + _py2_int(0) + _py2_int(1) + b"\x87R"
        b"(" + _py2_int(3) + _py2_str(b"|") + b"NNN" + _py2_int(-1) + _py2_int(-1) + _py2_int(0)
        + b"tb"
    )  # fmt: skip
    return (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        + _py2_int(0) + b"\x85" + _py2_str(b"b") + b"\x87R"  # _reconstruct(ndarray, (0,), "b")
        + b"(" + _py2_int(1) + b"(" + ints + b"t" + dtype + b"\x89"  # version, shape, dtype, False
        + _py2_str(array.tobytes()) + b"tb"  # the raw data, then __setstate__
    )  # fmt: skip


def py2_pickle(batch: dict[bytes, object]) -> bytes:
    """A CIFAR batch dict pickled byte for byte as the published files are (Python 2, protocol 2).

    Handles the value types CIFAR uses: str (bytes here), int, lists of them, uint8 arrays.
    """
    items = b""
    for key, value in batch.items():
        if isinstance(value, np.ndarray):
            encoded = _py2_uint8_array(value)
        elif isinstance(value, list):
            encoded = (
                b"]("
                + b"".join(_py2_str(v) if isinstance(v, bytes) else _py2_int(v) for v in value)
                + b"e"
            )
        elif isinstance(value, bytes):
            encoded = _py2_str(value)
        else:
            encoded = _py2_int(value)
        items += _py2_str(key) + encoded
    return b"\x80\x02}(" + items + b"u."  # PROTO 2, EMPTY_DICT, MARK ... SETITEMS, STOP


CIFAR_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


def write_cifar(
    path: Path, per_batch: int = 3, members: dict[str, bytes] | None = None
) -> dict[str, dict]:
    """A cifar-10-python.tar.gz with five train batches, a test batch and batches.meta.

    Members are pickled as Python 2 wrote them (`py2_pickle`), like the published archive.

    `members` replaces (or, with new names, adds) raw member bytes, for corrupt-input tests.
    Returns the batch dicts by name.
    """
    batches = {f"data_batch_{i}": cifar_batch(per_batch, seed=i) for i in range(1, 6)}
    batches["test_batch"] = cifar_batch(per_batch, seed=9)
    meta = {
        b"label_names": [name.encode() for name in CIFAR_CLASSES],
        b"num_cases_per_batch": per_batch,
    }
    raw = {name: py2_pickle(batch) for name, batch in batches.items()}
    raw["batches.meta"] = py2_pickle(meta)
    raw.update(members or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in raw.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return batches


def pair_image(
    height: int,
    a_color: tuple[int, int, int],
    b_color: tuple[int, int, int],
    width: int | None = None,
) -> Image.Image:
    """An A|B image: A a flat `a_color` left half, B a flat `b_color` right half."""
    width = 2 * height if width is None else width
    image = Image.new("RGB", (width, height), b_color)
    image.paste(Image.new("RGB", (width // 2, height), a_color), (0, 0))
    return image


def write_pairs(directory: Path, splits: dict[str, int], height: int = 16) -> None:
    """`<directory>/<split>/1.jpg ...` A|B JPEGs; image i has A gray level 10*i, B blue."""
    for split, n in splits.items():
        (directory / split).mkdir(parents=True, exist_ok=True)
        for i in range(1, n + 1):
            pair_image(height, (10 * i, 10 * i, 10 * i), (0, 0, 200)).save(
                directory / split / f"{i}.jpg", quality=95
            )


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def file_spec(path: str, data: bytes, urls: list[str]) -> FileSpec:
    return FileSpec(path=path, md5=md5_of(data), size=len(data), urls=tuple(urls))


def set_spec(name: str, kind: str, files: list[FileSpec], splits: dict[str, int]) -> SetSpec:
    return SetSpec(
        name, kind, "test set", "test licence", "http://example.invalid", tuple(files), splits
    )


class FileServer:
    """A local HTTP server serving `files` (URL path -> bytes), honouring Range requests or not."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.honour_range = True
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Range")))
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                range_header = self.headers.get("Range")
                if range_header and server.honour_range:
                    start = int(range_header.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                self.wfile.write(data[start:])

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def formats() -> SimpleNamespace:
    """The writers above, for tests: `formats.write_mnist(tmp_path / "mnist")`."""
    return SimpleNamespace(
        idx_bytes=idx_bytes,
        write_mnist=write_mnist,
        mnist_names=MNIST_NAMES,
        cifar_batch=cifar_batch,
        py2_pickle=py2_pickle,
        cifar_classes=CIFAR_CLASSES,
        write_cifar=write_cifar,
        pair_image=pair_image,
        write_pairs=write_pairs,
        md5_of=md5_of,
        file_spec=file_spec,
        set_spec=set_spec,
    )


@pytest.fixture
def file_server():
    server = FileServer()
    yield server
    server.close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
