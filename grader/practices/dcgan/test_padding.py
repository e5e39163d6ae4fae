"""dcgan.1: upsample_padding, the padding pair that makes a transposed convolution double its input.

Checked against the formula out = (in - 1) * stride - 2 * padding + kernel + output_padding for
several kernels and strides, and by building the ConvTranspose2d here with the returned pair.
"""

from __future__ import annotations

import math

import torch

from grader.testing import assert_equal, check, task

HINT = ("out = (in - 1) * stride - 2 * padding + kernel_size + output_padding "
        "(conv_shapes.conv_transpose_output_size); out = stride * in needs 2 * padding - output_padding = "
        "kernel_size - stride with 0 <= output_padding < stride.")


def expected(kernel: int, stride: int) -> tuple[int, int]:
    padding = math.ceil((kernel - stride) / 2)
    return padding, 2 * padding - (kernel - stride)


@task("dcgan.1", points=1, category="values", visibility="public")
def test_upsample_padding_for_dcgan(student):
    assert_equal(student.upsample_padding(5, 2), (2, 1), call="upsample_padding(5, 2)", hint=HINT)
    assert_equal(student.upsample_padding(), (2, 1), call="upsample_padding()", hint="the defaults are 5 and 2.")


@task("dcgan.1", points=1, category="values", visibility="public")
def test_upsample_padding_doubles_a_transposed_convolution(student):
    for kernel in (3, 4, 5, 7):
        padding, output_padding = student.upsample_padding(kernel, 2)
        layer = torch.nn.ConvTranspose2d(1, 1, kernel, 2, padding, output_padding)
        for side in (4, 7):
            out = layer(torch.zeros(1, 1, side, side)).shape[-1]
            check(out == 2 * side, f"ConvTranspose2d(kernel_size={kernel}, stride=2, padding={padding}, "
                  f"output_padding={output_padding}) with upsample_padding({kernel}, 2) turns a {side} x {side} "
                  f"input into {out} x {out}; expected {2 * side} x {2 * side}.", HINT)


@task("dcgan.1", points=1, category="values", visibility="hidden")
def test_upsample_padding_other_strides(student):
    for kernel, stride in ((4, 2), (6, 2), (3, 3), (5, 3), (8, 4), (2, 2)):
        assert_equal(student.upsample_padding(kernel, stride), expected(kernel, stride),
                     call=f"upsample_padding({kernel}, {stride})", hint=HINT + " Take the smallest such padding.")
