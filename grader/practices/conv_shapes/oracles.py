"""What PyTorch itself says, for the `conv_shapes` tests: sizes, refusals, receptive fields.

Each answer comes from running torch's own layers on small zero or one tensors here, in the
trusted process, so the tests never hard-code a size. None means PyTorch refuses the arguments.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def conv_size(i: int, k: int, s: int, p: int, d: int) -> int | None:
    """The output length of F.conv1d, or None if PyTorch refuses these arguments."""
    if i < 1 or k < 1:  # no tensor has a negative length, and torch refuses an empty input or kernel
        return None
    try:
        return int(F.conv1d(torch.zeros(1, 1, i), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d).shape[-1])
    except RuntimeError:
        return None


def conv_transpose_size(i: int, k: int, s: int, p: int, output_padding: int, d: int) -> int | None:
    """The output length of F.conv_transpose1d, or None if PyTorch refuses these arguments."""
    if i < 1 or k < 1:
        return None
    try:
        y = F.conv_transpose1d(torch.zeros(1, 1, i), torch.zeros(1, 1, k), stride=s, padding=p,
                               output_padding=output_padding, dilation=d)
    except RuntimeError:
        return None
    return int(y.shape[-1])


def same_padding(k: int, d: int, i: int = 9) -> int | None:
    """The symmetric padding with which F.conv1d at stride 1 keeps length i, or None if none does."""
    if k < 1 or d < 1:
        return None
    for p in range(0, d * (k - 1) + 1):
        if conv_size(i, k, 1, p, d) == i:
            return p
    return None


def receptive_field(layers: Sequence[Sequence[int]]) -> int:
    """Measured with autograd: how many input pixels one output pixel of the stack depends on.

    A chain of 1-d convolutions with all-one kernels (no padding) runs over an all-one input long
    enough for the whole field; the gradient of the first output pixel is nonzero exactly on the
    input pixels it sees, from index 0 to r - 1.
    """
    full = [(*layer, 1) if len(layer) == 2 else tuple(layer) for layer in layers]
    stride_product = 1
    for _, s, _ in full:
        stride_product *= s
    length = 1 + sum((k - 1) * d for k, _, d in full) * stride_product  # at least the field
    x = torch.ones(1, 1, length, dtype=torch.float64, requires_grad=True)
    y = x
    for k, s, d in full:
        y = F.conv1d(y, torch.ones(1, 1, k, dtype=torch.float64), stride=s, dilation=d)
    (grad,) = torch.autograd.grad(y[0, 0, 0], x)
    return int(torch.nonzero(grad[0, 0]).max()) + 1
