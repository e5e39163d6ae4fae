# breaks: conv_shapes.3
# why: d ignored
"""Practice `conv_shapes`: the arithmetic of convolutions, and a convolution written by hand.

Lecture: the convolution appendix. A convolution slides a kernel of size k over an input of size
i, with stride s (the step between two positions), zero padding p (added on both sides) and
dilation d (the gap between kernel taps: the kernel covers d(k - 1) + 1 input pixels, its
effective size). Along one axis the output size is

    o = floor((i + 2p - d(k - 1) - 1) / s) + 1,   which is floor((i - k + 2p) / s) + 1 for d = 1.

A transposed convolution maps sizes the other way:

    o = (i - 1)s - 2p + d(k - 1) + output_padding + 1.

The receptive field of a stack of layers is how many input pixels one output pixel sees:

    r = 1 + sum_l (k_l - 1) d_l prod_{j<l} s_j,

so pix2pix's PatchGAN discriminator, whose layers are (4, 2), (4, 2), (4, 2), (4, 1), (4, 1)
as (kernel, stride), looks at 70x70 patches.

Finally you write conv2d itself with slicing and einsum, and check it against PyTorch's, values
and gradients.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    """Given: an int or a pair of ints, as a pair (height, width): 3 -> (3, 3), (1, 2) -> (1, 2)."""
    if isinstance(value, int):
        return value, value
    first, second = value
    return int(first), int(second)


def conv_output_size(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Output size of a convolution along one axis: o = floor((i + 2p - d(k - 1) - 1) / s) + 1.

    i: input size, k: kernel size, s: stride, p: zero padding on each side, d: dilation.
    Returns an int. Raises ValueError for what PyTorch rejects: i < 1, k < 1, s < 1, d < 1,
    p < 0, or an output size below 1 (the padded input is smaller than the effective kernel
    d(k - 1) + 1).
    """
    # TODO conv_shapes.1: implement conv_output_size
    ### BEGIN SOLUTION
    if i < 1 or k < 1 or s < 1 or d < 1:
        raise ValueError(f"input, kernel, stride and dilation must be positive, got i={i}, k={k}, s={s}, d={d}")
    if p < 0:
        raise ValueError(f"padding must not be negative, got p={p}")
    span = i + 2 * p - d * (k - 1) - 1
    if span < 0:
        raise ValueError(f"the padded input ({i + 2 * p}) is smaller than the effective kernel ({d * (k - 1) + 1})")
    return span // s + 1
    ### END SOLUTION


def conv_transpose_output_size(i: int, k: int, s: int = 1, p: int = 0, output_padding: int = 0,
                               d: int = 1) -> int:
    """Output size of a transposed convolution along one axis.

    o = (i - 1)s - 2p + d(k - 1) + output_padding + 1
    i: input size, k: kernel size, s: stride, p: padding, output_padding: extra size added on one
    side, d: dilation. Returns an int. Raises ValueError for what PyTorch rejects: i < 1, k < 1,
    s < 1, d < 1, p < 0, output_padding < 0, an output_padding that is not smaller than either the
    stride or the dilation (it must satisfy output_padding < s or output_padding < d), or an
    output size below 1.
    """
    # TODO conv_shapes.2: implement conv_transpose_output_size
    ### BEGIN SOLUTION
    if i < 1 or k < 1 or s < 1 or d < 1:
        raise ValueError(f"input, kernel, stride and dilation must be positive, got i={i}, k={k}, s={s}, d={d}")
    if p < 0 or output_padding < 0:
        raise ValueError(f"padding and output_padding must not be negative, got p={p}, "
                         f"output_padding={output_padding}")
    if not (output_padding < s or output_padding < d):
        raise ValueError(f"output_padding ({output_padding}) must be smaller than either the stride ({s}) "
                         f"or the dilation ({d})")
    o = (i - 1) * s - 2 * p + d * (k - 1) + output_padding + 1
    if o < 1:
        raise ValueError(f"the output size would be {o}, below 1")
    return o
    ### END SOLUTION


def same_padding(k: int, d: int = 1) -> int:
    """The padding p that keeps the size at stride 1 ("same" convolution): o = i.

    With s = 1, o = i + 2p - d(k - 1), so p = d(k - 1) / 2. It exists only when the effective
    kernel d(k - 1) + 1 is odd; for an even effective kernel no symmetric padding keeps the size:
    raise ValueError. Also raise ValueError for k < 1 or d < 1. Returns an int.
    """
    # TODO conv_shapes.3: implement same_padding
    ### BEGIN SOLUTION
    if k < 1 or d < 1:
        raise ValueError(f"kernel and dilation must be positive, got k={k}, d={d}")
    extent = k - 1
    if extent % 2:
        raise ValueError(f"the effective kernel {extent + 1} is even: no symmetric padding keeps the size")
    return extent // 2
    ### END SOLUTION


def receptive_field(layers: Sequence[Sequence[int]]) -> int:
    """Receptive field of a stack of convolutions, from input to output.

    layers: a list of (kernel, stride) or (kernel, stride, dilation) tuples, the first layer
    first; dilation is 1 when not given. Returns the int
        r = 1 + sum_l (k_l - 1) d_l prod_{j<l} s_j
    (each layer widens the field by (k_l - 1) d_l pixels of its own input, and one pixel there
    spans the product of all earlier strides in the image). An empty list gives 1.
    PatchGAN, [(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)], gives 70.
    """
    # TODO conv_shapes.4: implement receptive_field
    ### BEGIN SOLUTION
    field, jump = 1, 1  # jump: input pixels between two neighbouring pixels of the current layer
    for layer in layers:
        k, s, d = (*layer, 1) if len(layer) == 2 else layer
        field += (k - 1) * d * jump
        jump *= s
    return field
    ### END SOLUTION


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
           dilation: int | tuple[int, int] = 1) -> torch.Tensor:
    """2-d convolution (cross-correlation, as in deep learning), like F.conv2d, written by hand.

    x: (B, C_in, H, W); weight: (C_out, C_in, kH, kW); bias: (C_out,) or None.
    stride, padding, dilation: an int or a pair (height, width); `_pair` turns them into pairs.
    Returns y: (B, C_out, H_out, W_out), with H_out = floor((H + 2p - d(kH - 1) - 1) / s) + 1
    (and the same for W_out), and
        y[b, o, h, w] = bias[o] + sum_{c, i, j} weight[o, c, i, j]
                                  * x_padded[b, c, h * s + i * d, w * s + j * d].
    Any tensor operations except torch's convolutions and unfold (no F.conv2d, torch.conv2d,
    F.unfold, Tensor.unfold, nn.Unfold). The result must be differentiable by autograd with
    respect to x, weight and bias. A way: zero-pad x with F.pad, take the kH * kW shifted,
    strided views of it by slicing (each (B, C_in, H_out, W_out)), and combine them with the
    weights with torch.einsum.
    """
    # TODO conv_shapes.5: implement conv2d
    ### BEGIN SOLUTION
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    batch, channels, height, width = x.shape
    _, _, kh, kw = weight.shape
    h_out = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    padded = F.pad(x, (pw, pw, ph, ph))  # (B, C_in, H + 2ph, W + 2pw)
    taps = [padded[:, :, i * dh: i * dh + sh * (h_out - 1) + 1: sh,
                   j * dw: j * dw + sw * (w_out - 1) + 1: sw]  # (B, C_in, H_out, W_out)
            for i in range(kh) for j in range(kw)]
    patches = torch.stack(taps, dim=2).reshape(batch, channels, kh, kw, h_out, w_out)
    y = torch.einsum("bcijhw,ocij->bohw", patches, weight)  # (B, C_out, H_out, W_out)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return y
    ### END SOLUTION
