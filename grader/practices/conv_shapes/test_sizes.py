"""conv_shapes.1-4: output sizes, 'same' padding and receptive fields, against what PyTorch does.

Expected sizes come from running torch's own convolutions here (see `oracles`); where PyTorch
refuses the arguments, the student's function must raise ValueError.
"""

from __future__ import annotations

from hypothesis import given

from grader.practices.conv_shapes import oracles
from grader.practices.conv_shapes.strategies import (
    conv_arguments,
    conv_transpose_arguments,
    invalid_conv_arguments,
    invalid_conv_transpose_arguments,
    kernels_and_dilations,
    layer_stacks,
)
from grader.sandbox import NotImplementedByStudent, StudentException
from grader.testing import assert_equal, assert_raises, fail, task

CONV_HINT = ("o = floor((i + 2p - d(k - 1) - 1) / s) + 1: use integer floor division (//) and return an int, "
             "not a float.")
CONV_REJECT_HINT = ("PyTorch refuses a kernel, stride or dilation below 1, a negative padding, and an input "
                    "whose padded size i + 2p is smaller than the effective kernel d(k - 1) + 1 (output below 1).")
TRANSPOSE_HINT = "o = (i - 1)s - 2p + d(k - 1) + output_padding + 1, an int."
TRANSPOSE_REJECT_HINT = ("PyTorch refuses non-positive sizes, strides or dilations, negative padding or "
                         "output_padding, an output_padding that is not smaller than the stride or the dilation "
                         "(it needs output_padding < s or output_padding < d), and an output size below 1.")
SAME_HINT = ("At stride 1, o = i + 2p - d(k - 1), so p = d(k - 1) / 2 as an int; if d(k - 1) is odd (the "
             "effective kernel d(k - 1) + 1 is even) no symmetric padding works: raise ValueError.")
FIELD_HINT = ("r = 1 + sum over layers of (k_l - 1) * d_l * (product of the strides of the layers BEFORE l). "
              "A layer's own stride does not widen its field; it only spreads the later layers' taps.")


def _expect_value(action, expected: int, *, call: str, hint: str, reject_hint: str) -> None:
    """The student's `action()` returns `expected`; a ValueError there is wrong: PyTorch accepts these."""
    try:
        actual = action()
    except StudentException as error:
        if isinstance(error, NotImplementedByStudent) or error.exc_type != "ValueError":
            raise
        fail(f"{call} should return {expected!r} (PyTorch accepts these arguments), but {error.message}",
             reject_hint)
    assert_equal(actual, expected, call=call, hint=hint)


def _check_conv_size(student, i: int, k: int, s: int, p: int, d: int) -> None:
    call = f"conv_output_size(i={i}, k={k}, s={s}, p={p}, d={d})"
    expected = oracles.conv_size(i, k, s, p, d)
    if expected is None:
        assert_raises(lambda: student.conv_output_size(i, k, s, p, d), ValueError, call=call, hint=CONV_REJECT_HINT)
    else:
        _expect_value(lambda: student.conv_output_size(i, k, s, p, d), expected, call=call, hint=CONV_HINT,
                      reject_hint=CONV_REJECT_HINT)


def _check_transpose_size(student, i: int, k: int, s: int, p: int, op: int, d: int) -> None:
    call = f"conv_transpose_output_size(i={i}, k={k}, s={s}, p={p}, output_padding={op}, d={d})"
    expected = oracles.conv_transpose_size(i, k, s, p, op, d)
    if expected is None:
        assert_raises(lambda: student.conv_transpose_output_size(i, k, s, p, op, d), ValueError, call=call,
                      hint=TRANSPOSE_REJECT_HINT)
    else:
        _expect_value(lambda: student.conv_transpose_output_size(i, k, s, p, op, d), expected, call=call,
                      hint=TRANSPOSE_HINT, reject_hint=TRANSPOSE_REJECT_HINT)


def _check_same_padding(student, k: int, d: int) -> None:
    call = f"same_padding(k={k}, d={d})"
    expected = oracles.same_padding(k, d)
    if expected is None:
        assert_raises(lambda: student.same_padding(k, d), ValueError, call=call, hint=SAME_HINT)
    else:
        _expect_value(lambda: student.same_padding(k, d), expected, call=call, hint=SAME_HINT,
                      reject_hint=SAME_HINT)


# ----------------------------------------------------------------------------- conv_shapes.1


@task("conv_shapes.1", points=1, category="shapes", visibility="public")
def test_conv_output_size_examples(student):
    # a 32x32 image with a 5x5 kernel; a halving 4x4 stride-2 layer; 3x3 'same'; dilation 2
    for i, k, s, p, d in [(32, 5, 1, 0, 1), (32, 5, 1, 2, 1), (64, 4, 2, 1, 1), (28, 3, 1, 1, 1), (7, 3, 2, 0, 1),
                          (10, 3, 1, 0, 2), (9, 2, 3, 1, 1)]:
        _check_conv_size(student, i, k, s, p, d)


@task("conv_shapes.1", points=1, category="shapes", visibility="public")
def test_conv_output_size_rejects_a_kernel_larger_than_the_input(student):
    for i, k, s, p, d in [(2, 3, 1, 0, 1), (4, 3, 1, 0, 2)]:
        _check_conv_size(student, i, k, s, p, d)


@task("conv_shapes.1", points=2, category="shapes", visibility="hidden")
@given(arguments=conv_arguments())
def test_conv_output_size_matches_torch(student_session, arguments):
    _check_conv_size(student_session.module, *arguments)


@task("conv_shapes.1", points=1, category="shapes", visibility="hidden")
@given(arguments=invalid_conv_arguments())
def test_conv_output_size_rejects_invalid_arguments(student_session, arguments):
    _check_conv_size(student_session.module, *arguments)


# ----------------------------------------------------------------------------- conv_shapes.2


@task("conv_shapes.2", points=1, category="shapes", visibility="public")
def test_conv_transpose_output_size_examples(student):
    # DCGAN's generator doubles 4 -> 8 with (k=4, s=2, p=1); a 1x1 seed grows to 4x4 with k=4, s=1;
    # output_padding 1 at stride 1 is allowed when the dilation is 2
    for i, k, s, p, op, d in [(4, 4, 2, 1, 0, 1), (1, 4, 1, 0, 0, 1), (7, 3, 2, 1, 1, 1), (5, 3, 1, 1, 0, 1),
                              (3, 3, 2, 0, 0, 2), (4, 3, 1, 0, 1, 2)]:
        _check_transpose_size(student, i, k, s, p, op, d)


@task("conv_shapes.2", points=1, category="shapes", visibility="public")
def test_conv_transpose_output_size_rejects_a_large_output_padding(student):
    for i, k, s, p, op, d in [(4, 3, 2, 0, 2, 1), (4, 3, 1, 0, 1, 1), (4, 3, 2, 0, 3, 2)]:
        _check_transpose_size(student, i, k, s, p, op, d)


@task("conv_shapes.2", points=2, category="shapes", visibility="hidden")
@given(arguments=conv_transpose_arguments())
def test_conv_transpose_output_size_matches_torch(student_session, arguments):
    _check_transpose_size(student_session.module, *arguments)


@task("conv_shapes.2", points=1, category="shapes", visibility="hidden")
@given(arguments=invalid_conv_transpose_arguments())
def test_conv_transpose_output_size_rejects_invalid_arguments(student_session, arguments):
    _check_transpose_size(student_session.module, *arguments)


@task("conv_shapes.2", points=1, category="shapes", visibility="hidden")
def test_conv_transpose_output_size_rejects_an_empty_output(student):
    for i, k, s, p, op, d in [(1, 1, 1, 1, 0, 1), (2, 1, 1, 1, 0, 1), (1, 3, 1, 2, 0, 1)]:
        _check_transpose_size(student, i, k, s, p, op, d)


# ----------------------------------------------------------------------------- conv_shapes.3


@task("conv_shapes.3", points=1, category="shapes", visibility="public")
def test_same_padding_examples(student):
    for k, d in [(1, 1), (3, 1), (5, 1), (7, 1), (3, 2), (4, 2)]:
        _check_same_padding(student, k, d)


@task("conv_shapes.3", points=1, category="shapes", visibility="public")
def test_same_padding_rejects_an_even_kernel(student):
    for k, d in [(2, 1), (4, 1), (4, 3)]:
        _check_same_padding(student, k, d)


@task("conv_shapes.3", points=2, category="shapes", visibility="hidden")
@given(kd=kernels_and_dilations)
def test_same_padding_keeps_the_size_in_torch(student_session, kd):
    _check_same_padding(student_session.module, *kd)


# ----------------------------------------------------------------------------- conv_shapes.4


@task("conv_shapes.4", points=2, category="shapes", visibility="public")
def test_receptive_field_of_the_patchgan_is_70(student):
    # fixed by the lecture: pix2pix's 70x70 PatchGAN discriminator
    patchgan = [(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]
    assert_equal(student.receptive_field(patchgan), 70, call=f"receptive_field({patchgan})", hint=FIELD_HINT)


@task("conv_shapes.4", points=1, category="shapes", visibility="public")
def test_receptive_field_small_stacks(student):
    for layers in ([(3, 1)], [(3, 1), (3, 1)], [(3, 2), (3, 1)], [(2, 2), (2, 2), (2, 2)]):
        assert_equal(student.receptive_field(layers), oracles.receptive_field(layers),
                     call=f"receptive_field({layers})", hint=FIELD_HINT)


@task("conv_shapes.4", points=1, category="shapes", visibility="hidden")
def test_receptive_field_with_dilation_and_of_no_layers(student):
    for layers in ([], [(3, 1, 2)], [(3, 1, 1), (3, 1, 2), (3, 1, 4)], [(4, 2, 1), (3, 1, 2)]):
        assert_equal(student.receptive_field(layers), oracles.receptive_field(layers),
                     call=f"receptive_field({layers})",
                     hint=FIELD_HINT + " A (kernel, stride, dilation) layer widens the field by (k - 1) * d; "
                                       "with no layers the field is 1 pixel.")


@task("conv_shapes.4", points=2, category="shapes", visibility="hidden")
@given(layers=layer_stacks)
def test_receptive_field_matches_autograd(student_session, layers):
    assert_equal(student_session.module.receptive_field(layers), oracles.receptive_field(layers),
                 call=f"receptive_field({layers})", hint=FIELD_HINT)


# ----------------------------------------------------------------------------- every argument PyTorch checks


@task("conv_shapes.1", points=1, category="shapes", visibility="hidden")
def test_conv_output_size_rejects_each_argument_torch_rejects(student):
    """A stride, kernel, dilation or input of 0, a negative padding: nn.Conv2d refuses each."""
    for i, k, s, p, d in [(8, 3, 0, 0, 1), (8, 3, 1, -1, 1), (8, 3, 1, 0, 0), (8, 0, 1, 0, 1), (0, 3, 1, 1, 1),
                          (8, 3, -2, 0, 1)]:
        _check_conv_size(student, i, k, s, p, d)


@task("conv_shapes.2", points=1, category="shapes", visibility="hidden")
def test_conv_transpose_output_size_rejects_each_argument_torch_rejects(student):
    """A stride or dilation of 0, a negative padding or output_padding: nn.ConvTranspose2d refuses each."""
    for i, k, s, p, op, d in [(8, 3, 0, 0, 0, 1), (8, 3, 1, -1, 0, 1), (8, 3, 2, 0, -1, 1), (8, 3, 1, 0, 0, 0),
                              (8, 0, 1, 0, 0, 1)]:
        _check_transpose_size(student, i, k, s, p, op, d)


@task("conv_shapes.3", points=1, category="shapes", visibility="hidden")
def test_same_padding_rejects_a_kernel_or_dilation_of_zero(student):
    for k, d in [(0, 1), (3, 0), (-3, 1)]:
        _check_same_padding(student, k, d)
