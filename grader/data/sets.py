"""What a loader returns: `ImageSet` for labelled images, `PairedSet` for A|B image pairs, and the
one error type every loader raises, `DataError`.

All image tensors are uint8 in `(N, C, H, W)` layout, exactly as decoded from the files; labels are
int64 `(N,)`. Normalising and moving to a device is the job of `grader.data.batches`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


class DataError(Exception):
    """A data file is missing, truncated, corrupt or in the wrong format.

    The message is one sentence for the user that names the file and says what is wrong; the CLI
    turns it into a `click.ClickException`.
    """


@dataclass(frozen=True)
class ImageSet:
    """A labelled image set with its standard train / test split.

    Attributes:
        name: short name of the set, e.g. "mnist" or "cifar10".
        train_images: uint8 `(N_train, C, H, W)`.
        train_labels: int64 `(N_train,)`, values in `range(len(classes))`.
        test_images: uint8 `(N_test, C, H, W)` (the held-out part for embedded sets).
        test_labels: int64 `(N_test,)`.
        source: a sentence saying which data was used, for logs and reports.
        classes: the class names, index i names label i.
    """

    name: str
    train_images: torch.Tensor  # (N_train, C, H, W) uint8
    train_labels: torch.Tensor  # (N_train,) int64
    test_images: torch.Tensor  # (N_test, C, H, W) uint8
    test_labels: torch.Tensor  # (N_test,) int64
    source: str
    classes: tuple[str, ...]


@dataclass(frozen=True)
class PairedSet:
    """Aligned image pairs for image-to-image translation.

    A is the left half of each stored A|B image and B the right half, as in Isola et al.'s files.
    For both `facades` and the embedded set, A is the photograph and B the map drawn from it
    (facade labels, or an edge map), so the translation the course trains is B -> A
    (`--direction BtoA` in Isola et al.'s code).

    Attributes:
        name: the set's name, e.g. "facades".
        train_a, train_b: uint8 `(N_train, 3, H, W)`, pair i is (train_a[i], train_b[i]).
        test_a, test_b: uint8 `(N_test, 3, H, W)`.
        source: a sentence saying which data was used.
    """

    name: str
    train_a: torch.Tensor  # (N_train, 3, H, W) uint8
    train_b: torch.Tensor  # (N_train, 3, H, W) uint8
    test_a: torch.Tensor  # (N_test, 3, H, W) uint8
    test_b: torch.Tensor  # (N_test, 3, H, W) uint8
    source: str
