"""conv_shapes.5: conv2d by hand, against F.conv2d: values, gradients, and no torch convolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given

from grader.practices.conv_shapes.strategies import conv2d_cases, conv2d_tensors
from grader.testing import (
    NOT_DIFFERENTIABLE,
    assert_close,
    assert_grads_close,
    assert_no_forbidden_calls,
    check,
    fail,
    task,
)

CONV_HINT = ("y[b, o, h, w] = bias[o] + sum over c, i, j of weight[o, c, i, j] * x_padded[b, c, h*s + i*d, w*s + j*d]. "
             "Pad with F.pad(x, (p_w, p_w, p_h, p_h)) (the last dimension first), slice each shifted view as "
             "x_padded[:, :, i*d_h : i*d_h + s_h*(H_out - 1) + 1 : s_h, ...], and combine with torch.einsum.")
DILATION_HINT = "Kernel tap i sits i * dilation pixels from the first one: start each view at i * d, not at i."
PAIR_HINT = "stride, padding and dilation may be an int or a (height, width) pair: use _pair on each."
FORBIDDEN = ["torch.nn.functional.conv1d", "torch.nn.functional.conv2d", "torch.nn.functional.conv3d",
             "torch.conv1d", "torch.conv2d", "torch.conv3d", "torch.convolution", "torch._convolution",
             "torch.nn.functional.conv_transpose2d", "torch.conv_transpose2d", "torch.nn.functional.unfold",
             "torch._C._nn.im2col", "torch.Tensor.unfold"]


def _tensors(shape_x, shape_w, seed, bias=True, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(shape_x, generator=generator, dtype=dtype)
    weight = torch.randn(shape_w, generator=generator, dtype=dtype)
    b = torch.randn(shape_w[0], generator=generator, dtype=dtype) if bias else None
    return x, weight, b


def _describe(x, weight, bias, stride, padding, dilation) -> str:
    b = f"bias {tuple(bias.shape)}" if bias is not None else "bias=None"
    return (f"conv2d(x {tuple(x.shape)}, weight {tuple(weight.shape)}, {b}, stride={stride}, padding={padding}, "
            f"dilation={dilation})")


def _check_values(student, x, weight, bias, stride=1, padding=0, dilation=1, hint=CONV_HINT, **tolerance) -> None:
    expected = F.conv2d(x, weight, bias, stride, padding, dilation)
    assert_close(student.conv2d(x, weight, bias, stride, padding, dilation), expected,
                 call=_describe(x, weight, bias, stride, padding, dilation), hint=hint, **tolerance)


@task("conv_shapes.5", points=2, category="values", visibility="public")
def test_conv2d_matches_torch(student):
    x, weight, bias = _tensors((2, 3, 6, 5), (4, 3, 3, 3), seed=0)
    _check_values(student, x, weight, bias)


@task("conv_shapes.5", points=2, category="values", visibility="public")
def test_conv2d_stride_and_padding(student):
    x, weight, bias = _tensors((2, 2, 7, 8), (3, 2, 3, 2), seed=1)
    _check_values(student, x, weight, bias, stride=2, padding=1)
    _check_values(student, x, weight, bias, stride=(2, 1), padding=(0, 2), hint=CONV_HINT + " " + PAIR_HINT)


@task("conv_shapes.5", points=2, category="gradients", visibility="public")
def test_conv2d_gradients_match_torch(student_session):
    x, weight, bias = _tensors((2, 2, 5, 5), (3, 2, 3, 3), seed=2, dtype=torch.float64)
    assert_grads_close(student_session, "conv2d", [x, weight, bias, 2, 1, 1],
                       lambda *args: F.conv2d(*args), input_names=["x", "weight", "bias"], hint=CONV_HINT,
                       call=_describe(x, weight, bias, 2, 1, 1) + " in float64")


@task("conv_shapes.5", points=1, category="values", visibility="public", style=True)
def test_conv2d_does_not_call_torch_convolution(student_session):
    x, weight, bias = _tensors((1, 2, 5, 5), (2, 2, 3, 3), seed=3)
    assert_no_forbidden_calls(student_session, "conv2d", [x, weight, bias, 1, 1, 1], FORBIDDEN,
                              call="your conv2d(x, weight, bias)",
                              hint="Build the convolution from F.pad, slicing and torch.einsum (or sums of "
                                   "products): no torch convolution and no unfold.")


@task("conv_shapes.5", points=2, category="values", visibility="hidden")
def test_conv2d_dilation(student):
    x, weight, bias = _tensors((1, 2, 9, 10), (3, 2, 3, 3), seed=4)
    _check_values(student, x, weight, bias, dilation=2, hint=DILATION_HINT)
    _check_values(student, x, weight, bias, stride=2, padding=2, dilation=(1, 3), hint=DILATION_HINT + " " + PAIR_HINT)


@task("conv_shapes.5", points=1, category="values", visibility="hidden")
def test_conv2d_edge_cases(student):
    x, weight, _ = _tensors((2, 3, 4, 5), (2, 3, 1, 1), seed=5, bias=False)
    _check_values(student, x, weight, None, hint="bias may be None: then add nothing.")  # 1x1 kernel, no bias
    x, weight, bias = _tensors((1, 2, 3, 4), (2, 2, 5, 6), seed=6)
    _check_values(student, x, weight, bias, padding=1, hint="A kernel as large as the padded input gives a 1x1 output.")
    x, weight, bias = _tensors((1, 1, 3, 3), (1, 1, 2, 2), seed=7)
    _check_values(student, x, weight, bias, stride=5, hint="A stride larger than the input still gives one output.")


@task("conv_shapes.5", points=3, category="values", visibility="hidden")
@given(case=conv2d_cases())
def test_conv2d_random_configurations(student_session, case):
    x, weight, bias = conv2d_tensors(case)
    _check_values(student_session.module, x, weight, bias, case["stride"], case["padding"], case["dilation"],
                  hint=CONV_HINT + " " + PAIR_HINT, atol=1e-9, rtol=1e-7)


@task("conv_shapes.5", points=2, category="gradients", visibility="hidden")
@given(case=conv2d_cases())
def test_conv2d_random_gradients(student_session, case):
    x, weight, bias = conv2d_tensors(case)
    options = [case["stride"], case["padding"], case["dilation"]]
    inputs = [x, weight, bias, *options]
    assert_grads_close(student_session, "conv2d", inputs, lambda *args: F.conv2d(*args),
                       input_names=["x", "weight", "bias"], hint=CONV_HINT,
                       call=_describe(x, weight, bias, *options) + " in float64")


class _StudentConv2d(torch.autograd.Function):
    """The student's conv2d as a function of this process: forward and backward run in the worker."""

    @staticmethod
    def forward(ctx, x, weight, bias, session, options):
        ctx.session, ctx.options = session, options
        ctx.fn = session.module.conv2d
        ctx.save_for_backward(x, weight, bias)
        return ctx.fn(x, weight, bias, *options)

    @staticmethod
    def backward(ctx, grad_output):
        x, weight, bias = ctx.saved_tensors
        with torch.enable_grad():  # matters only when the session runs in this process (--in-process)
            _, grads = ctx.session.run("vjp", ctx.fn, [x, weight, bias, *ctx.options], grad_output)
        return grads[0], grads[1], grads[2], None, None


@task("conv_shapes.5", points=3, category="gradients", visibility="hidden")
def test_conv2d_passes_gradcheck(student_session):
    x, weight, bias = _tensors((1, 2, 4, 4), (2, 2, 2, 2), seed=8, dtype=torch.float64)
    options = ((2, 1), 1, (1, 2))
    call = _describe(x, weight, bias, *options) + " in float64"
    output, grads = student_session.run("vjp", student_session.module.conv2d, [x, weight, bias, *options],
                                        torch.ones_like(F.conv2d(x, weight, bias, *options)))
    check(isinstance(output, torch.Tensor) and output.dtype == torch.float64,
          f"{call} should return a float64 tensor.", CONV_HINT)
    if any(g is None for g in grads[:3]):
        fail(f"{call}: no gradient flows back to x, weight or bias: {NOT_DIFFERENTIABLE}", CONV_HINT)
    inputs = tuple(t.detach().requires_grad_(True) for t in (x, weight, bias))
    ok = torch.autograd.gradcheck(lambda a, w, b: _StudentConv2d.apply(a, w, b, student_session, options), inputs,
                                  eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=False)
    check(ok, f"torch.autograd.gradcheck on {call}: the gradients autograd computes through your conv2d differ "
              "from finite differences of its output.",
          "Use only differentiable torch operations (slicing, F.pad, einsum, sums), no in-place writes into a "
          "tensor that autograd still needs, and nothing that leaves the graph (.detach(), .item(), .numpy()).")
