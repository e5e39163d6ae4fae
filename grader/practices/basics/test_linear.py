"""basics.5-7: a fully connected layer forward and backward, and one gradient-descent step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given

from grader.practices.basics.strategies import dtypes, learning_rates, linear_dims, randn, seeds, shapes
from grader.testing import (
    assert_close,
    assert_grads_close,
    assert_no_forbidden_calls,
    check,
    fail,
    reference,
    task,
)
from grader.recorded import recorded

FORWARD_HINT = ("y = x W^T + b: x is (B, D_in) and W is (D_out, D_in), as in nn.Linear, so multiply by the "
                "transpose of W (x @ W.T) and add b to every row.")
BACKWARD_HINT = ("By the chain rule for y = x W^T + b: dx = dy @ W (B, D_in), dW = dy^T @ x (D_out, D_in), "
                 "db = dy summed over the batch (dim 0), shape (D_out,).")
SGD_HINT = "W_new = W - lr * dW: step against the gradient, scaled by the learning rate."


def _layer(batch: int, d_in: int, d_out: int, seed: int, dtype: torch.dtype = torch.float32):
    return (randn((batch, d_in), seed, dtype), randn((d_out, d_in), seed + 1, dtype),
            randn((d_out,), seed + 2, dtype))


def _autograd_backward(dy: torch.Tensor, x: torch.Tensor, W: torch.Tensor, b: torch.Tensor):
    """The gradients of <F.linear(x, W, b), dy>, by torch's autograd (trusted side)."""
    leaves = [t.detach().clone().requires_grad_(True) for t in (x, W, b)]
    return torch.autograd.grad(F.linear(*leaves), leaves, dy)


def _assert_backward(student, dy, x, W, b, call: str) -> None:
    result = student.linear_backward(dy, x, W)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        fail(f"{call} should return a tuple (dx, dW, db) of three tensors, but your code returned "
             f"{type(result).__name__}{'' if not isinstance(result, (tuple, list)) else f' of {len(result)}'}.",
             BACKWARD_HINT)
    for name, got, want in zip(("dx", "dW", "db"), result, _autograd_backward(dy, x, W, b)):
        assert_close(got, want, call=f"{name} from {call}", hint=BACKWARD_HINT)


# ----------------------------------------------------------------------------- basics.5


@task("basics.5", points=1, category="values", visibility="public")
def test_linear_forward_matches_nn_linear(student):
    x, W, b = _layer(4, 3, 2, seed=0)
    assert_close(student.linear_forward(x, W, b), F.linear(x, W, b),
                 call="linear_forward(x (4, 3), W (2, 3), b (2,))", hint=FORWARD_HINT)


@task("basics.5", points=1, category="shapes", visibility="hidden")
@given(dims=linear_dims(), seed=seeds, dtype=dtypes)
def test_linear_forward_any_sizes(student_session, dims, seed, dtype):
    batch, d_in, d_out = dims
    x, W, b = _layer(batch, d_in, d_out, seed, dtype)
    assert_close(student_session.module.linear_forward(x, W, b), F.linear(x, W, b),
                 call=f"linear_forward(x ({batch}, {d_in}), W ({d_out}, {d_in}), b ({d_out},)) in {dtype}",
                 hint=FORWARD_HINT + " Check the case B = 1 or D_out = 1 too.")


@task("basics.5", points=1, category="gradients", visibility="hidden")
def test_linear_forward_is_differentiable(student_session):
    x, W, b = _layer(5, 4, 3, seed=7, dtype=torch.float64)
    assert_grads_close(student_session, "linear_forward", [x, W, b], F.linear,
                       call="linear_forward(x (5, 4), W (3, 4), b (3,)) in float64",
                       input_names=["x", "W", "b"], hint=FORWARD_HINT)


@task("basics.5", points=1, category="values", visibility="hidden", style=True)
def test_linear_forward_is_written_by_hand(student_session):
    x, W, b = _layer(2, 3, 4, seed=1)
    assert_no_forbidden_calls(student_session, "linear_forward", [x, W, b],
                              ["torch.nn.functional.linear", "torch._C._nn.linear"],
                              call="your linear_forward(x, W, b)", hint=FORWARD_HINT)


# ----------------------------------------------------------------------------- basics.6


@task("basics.6", points=2, category="gradients", visibility="public")
def test_linear_backward_matches_autograd(student):
    x, W, b = _layer(4, 3, 2, seed=0)
    dy = randn((4, 2), seed=9)
    _assert_backward(student, dy, x, W, b, call="linear_backward(dy (4, 2), x (4, 3), W (2, 3))")


@task("basics.6", points=2, category="gradients", visibility="hidden")
@given(dims=linear_dims(), seed=seeds)
def test_linear_backward_any_sizes(student_session, dims, seed):
    batch, d_in, d_out = dims
    x, W, b = _layer(batch, d_in, d_out, seed, torch.float64)
    dy = randn((batch, d_out), seed + 3, torch.float64)
    _assert_backward(student_session.module, dy, x, W, b,
                     call=f"linear_backward(dy ({batch}, {d_out}), x ({batch}, {d_in}), W ({d_out}, {d_in}))")


@task("basics.6", points=1, category="gradients", visibility="hidden", style=True)
def test_linear_backward_uses_no_autograd(student_session):
    x, W, _ = _layer(3, 2, 4, seed=2)
    dy = randn((3, 4), seed=3)
    assert_no_forbidden_calls(
        student_session, "linear_backward", [dy, x, W],
        ["torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward", "torch.func.vjp",
         "torch.func.grad", "torch.autograd.functional.vjp", "torch.autograd.functional.jacobian"],
        call="your linear_backward(dy, x, W)", hint=BACKWARD_HINT + " Write these three products yourself.")


# ----------------------------------------------------------------------------- basics.7


@task("basics.7", points=1, category="values", visibility="public")
def test_sgd_step_moves_against_the_gradient(student):
    W, dW = randn((3, 2), seed=0), randn((3, 2), seed=1)
    assert_close(student.sgd_step(W, dW, 0.1), W - 0.1 * dW, call="sgd_step(W (3, 2), dW (3, 2), lr=0.1)",
                 hint=SGD_HINT)


@task("basics.7", points=1, category="values", visibility="hidden")
@given(shape=shapes, seed=seeds, dtype=dtypes, lr=learning_rates)
def test_sgd_step_any_shape(student_session, shape, seed, dtype, lr):
    W, dW = randn(shape, seed, dtype), randn(shape, seed + 1, dtype)
    assert_close(student_session.module.sgd_step(W, dW, lr), W - lr * dW,
                 call=f"sgd_step(W {shape}, dW {shape}, lr={lr}) in {dtype}", hint=SGD_HINT)


@task("basics.7", points=1, category="values", visibility="hidden")
def test_sgd_step_does_not_modify_w_in_place(student_session):
    W, dW = randn((4, 3), seed=4), randn((4, 3), seed=5)
    fn = student_session.module.sgd_step
    output, after, same = student_session.run("call_inspecting_inputs", fn, [W, dW, 0.5])
    assert_close(output, W - 0.5 * dW, call="sgd_step(W, dW, lr=0.5)", hint=SGD_HINT)
    check(isinstance(after, list) and len(after) == 3 and isinstance(after[0], torch.Tensor)
          and torch.equal(after[0], W) and not same[0],
          "sgd_step(W, dW, lr=0.5) changed W in place (or returned W itself); it must return a new tensor "
          "and leave W as it was.",
          "Write W - lr * dW rather than W -= lr * dW, W.sub_(...) or W.data[...] = ...")
    check(torch.equal(after[1], dW), "sgd_step(W, dW, lr=0.5) changed dW; leave the gradient as it was.")


def _least_squares() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (32, 3), y = x W_true^T (32, 2) and W_true (2, 3), float64."""
    x, W_true = randn((32, 3), seed=12, dtype=torch.float64), randn((2, 3), seed=13, dtype=torch.float64)
    return x, x @ W_true.T, W_true


@recorded
def reference_descent(steps: int, lr: float) -> torch.Tensor:
    """W (2, 3) after `steps` steps of the reference's sgd_step from zero, dW = 2 (x W^T - y)^T x / B."""
    x, y, _ = _least_squares()
    W = torch.zeros(2, 3, dtype=torch.float64)
    for _ in range(steps):
        W = reference("basics").sgd_step(W, 2 * (x @ W.T - y).T @ x / len(x), lr)
    return W


@task("basics.7", points=1, category="convergence", visibility="hidden")
def test_gradient_descent_fits_least_squares(student):
    """Gradient descent on L(W) = mean ||x W^T - y||^2 with the student's step reaches the minimum."""
    x, y, W_true = _least_squares()
    W, expected = torch.zeros(2, 3, dtype=torch.float64), reference_descent(steps=60, lr=0.3)
    for _ in range(60):
        W = student.sgd_step(W, 2 * (x @ W.T - y).T @ x / len(x), 0.3)
        if not isinstance(W, torch.Tensor):
            fail(f"sgd_step(W, dW, lr=0.3) should return a tensor, but your code returned a {type(W).__name__}.",
                 SGD_HINT)
    assert_close(W, expected, call="60 steps of gradient descent with your sgd_step(W, dW, lr=0.3)",
                 atol=1e-8, rtol=1e-6, hint=SGD_HINT)
    check(torch.allclose(W, W_true, atol=1e-3), "60 steps of gradient descent with your sgd_step did not reach "
          "the least-squares solution.", SGD_HINT)
