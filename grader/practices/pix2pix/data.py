"""The pairs pix2pix trains on, turned the requested way, and the model sizes that suit them.

Both sets store A (the photo) and B (the map drawn from it: facade labels, or an edge map):

    direction AtoB   photo -> map    (the embedded set: photo -> Sobel edge map)
    direction BtoA   map -> photo    (facades: label map -> facade photo, the paper's direction)

The graded convergence check translates the embedded set AtoB: a photo's edge map is a fixed
function of it, learnable in a minute on a CPU. The other way (an edge map's colours) is not: the
held-out photo's colours cannot be read off its edges, and on it nothing trained for 90 s did
better than the mean training photo (L1 0.453 against 0.450 for seed 0).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from grader.data import DataError, load_pairs
from grader.data.pairs import load_paired_dir
from grader.paths import data_root

DIRECTIONS = ("AtoB", "BtoA")
DATASETS = ("paired", "facades")
FACADES_FILES = ("facades/train/1.jpg ... 400.jpg (400 images, 512x256, photo left, label map right) and "
                 "facades/test/1.jpg ... 106.jpg (or facades/val/), from facades.tar.gz of the pix2pix datasets "
                 "(see datasets/README.md)")


@dataclass(frozen=True)
class Pairs:
    """uint8 (N, 3, H, W) inputs and targets for training and held out, in the chosen direction."""

    train_inputs: torch.Tensor
    train_targets: torch.Tensor
    held_out_inputs: torch.Tensor
    held_out_targets: torch.Tensor
    source: str
    direction: str

    @property
    def size(self) -> int:
        return self.train_inputs.shape[-1]


def turned(pairs, direction: str, source: str) -> Pairs:
    """A PairedSet's A/B split turned into inputs and targets for `direction`."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    a_to_b = direction == "AtoB"
    return Pairs(pairs.train_a if a_to_b else pairs.train_b, pairs.train_b if a_to_b else pairs.train_a,
                 pairs.test_a if a_to_b else pairs.test_b, pairs.test_b if a_to_b else pairs.test_a,
                 source, direction)


def embedded(direction: str = "AtoB") -> Pairs:
    """The embedded 64x64 set (photo | Sobel edge map): 360 train / 80 held-out pairs."""
    pairs = load_pairs(embedded=True)
    return turned(pairs, direction, pairs.source)


def facades(root: str | os.PathLike | None = None, direction: str = "BtoA") -> Pairs:
    """Facades at 256x256 from `<root>/facades`; a DataError saying which files to place where."""
    directory = data_root(root) / "facades"
    try:
        pairs = load_paired_dir(directory)
    except DataError as error:
        raise DataError(f"facades not usable ({error}); place {FACADES_FILES} under {data_root(root)}") from None
    return turned(pairs, direction, pairs.source)


def facades_present(root: str | os.PathLike | None = None) -> bool:
    directory = data_root(root) / "facades"
    return (directory / "train").is_dir() and any((directory / split).is_dir() for split in ("test", "val"))


def model_sizes(size: int, *, wide: bool) -> tuple[dict[str, int], dict[str, int]]:
    """(UNetGenerator kwargs, PatchDiscriminator kwargs) for square images of side `size`.

    256: the paper's models (depth 8, ngf 64, ndf 64). 64: depth 6 with reduced widths, ngf = ndf
    = 32 when `wide`, else 16 (the graded CPU check). Other sizes: the deepest U-Net that fits.
    """
    if size >= 256:
        return {"ngf": 64, "depth": 8}, {"ndf": 64}
    depth = max(2, min(8, size.bit_length() - 1))
    while size % 2 ** depth:
        depth -= 1
    width = 32 if wide else 16
    return {"ngf": width, "depth": depth}, {"ndf": width}
