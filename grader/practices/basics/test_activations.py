"""basics.1: relu, leaky_relu, tanh and sigmoid, against torch's, values and gradients."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given

from grader.practices.basics.strategies import away_from_zero, dtypes, randn, seeds, shapes, slopes
from grader.testing import assert_close, assert_grads_close, assert_no_forbidden_calls, check, task

RELU_HINT = "ReLU keeps positive inputs and sends negative ones (and 0) to 0: max(0, x)."
LEAKY_HINT = ("Leaky ReLU keeps positive inputs unchanged and multiplies only the negative ones by "
              "negative_slope (the argument, not a fixed number).")
TANH_HINT = "tanh(x) = (e^x - e^-x) / (e^x + e^-x); it lies in [-1, 1] and is odd: tanh(-x) = -tanh(x)."
SIGMOID_HINT = "sigmoid(x) = 1 / (1 + e^-x); it lies in [0, 1] and sigmoid(0) = 0.5."
STABLE_HINT = ("e^x overflows to inf for large x (float32 above about 88), and inf/inf is nan. Take exp only "
               "of -|x|, which lies in (0, 1], and pick the formula by the sign of x.")
GRADIENT_HINT = ("torch.where evaluates both branches, and an inf or nan in the branch it does not pick still "
                 "makes the gradient nan: make both branches finite for every x (exp of -|x| only).")


def _grid(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Values from -6 to 6, with 0 and small numbers of both signs."""
    return torch.cat([torch.linspace(-6, 6, 25), torch.tensor([-1e-3, 1e-3, 0.5, -0.5])]).to(dtype)


@task("basics.1", points=1, category="values", visibility="public")
def test_relu_matches_torch(student):
    x = _grid()
    assert_close(student.relu(x), torch.relu(x), call="relu(x) for x from -6 to 6", hint=RELU_HINT)


@task("basics.1", points=1, category="values", visibility="public")
def test_leaky_relu_matches_torch(student):
    x = _grid()
    assert_close(student.leaky_relu(x), F.leaky_relu(x), call="leaky_relu(x) for x from -6 to 6",
                 hint=LEAKY_HINT)
    assert_close(student.leaky_relu(x, 0.2), F.leaky_relu(x, 0.2), call="leaky_relu(x, negative_slope=0.2)",
                 hint=LEAKY_HINT)


@task("basics.1", points=1, category="values", visibility="public")
def test_tanh_matches_torch(student):
    x = _grid()
    assert_close(student.tanh(x), torch.tanh(x), call="tanh(x) for x from -6 to 6", hint=TANH_HINT)


@task("basics.1", points=1, category="values", visibility="public")
def test_sigmoid_matches_torch(student):
    x = _grid()
    assert_close(student.sigmoid(x), torch.sigmoid(x), call="sigmoid(x) for x from -6 to 6", hint=SIGMOID_HINT)


@task("basics.1", points=2, category="values", visibility="hidden")
@given(shape=shapes, dtype=dtypes, seed=seeds, slope=slopes)
def test_activations_any_shape_and_dtype(student_session, shape, dtype, seed, slope):
    student = student_session.module
    x = randn(shape, seed, dtype, scale=4.0)
    where = f"tensor of shape {shape}, {dtype}"
    assert_close(student.relu(x), torch.relu(x), call=f"relu(x) for a {where}", hint=RELU_HINT)
    assert_close(student.leaky_relu(x, slope), F.leaky_relu(x, slope),
                 call=f"leaky_relu(x, negative_slope={slope}) for a {where}", hint=LEAKY_HINT)
    assert_close(student.tanh(x), torch.tanh(x), call=f"tanh(x) for a {where}", hint=TANH_HINT)
    assert_close(student.sigmoid(x), torch.sigmoid(x), call=f"sigmoid(x) for a {where}", hint=SIGMOID_HINT)


def _extremes(dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor([-1000.0, -100.0, -89.0, -30.0, -1.0, 0.0, 1.0, 30.0, 89.0, 100.0, 1000.0], dtype=dtype)


@task("basics.1", points=1, category="values", visibility="hidden")
def test_tanh_is_stable_for_large_inputs(student):
    for dtype in (torch.float32, torch.float64):
        x = _extremes(dtype)
        assert_close(student.tanh(x), torch.tanh(x), call=f"tanh(x) for x = +-1000, +-100, +-89, ... ({dtype})",
                     hint=STABLE_HINT)


@task("basics.1", points=1, category="values", visibility="hidden")
def test_sigmoid_is_stable_for_large_inputs(student):
    for dtype in (torch.float32, torch.float64):
        x = _extremes(dtype)
        assert_close(student.sigmoid(x), torch.sigmoid(x),
                     call=f"sigmoid(x) for x = +-1000, +-100, +-89, ... ({dtype})", hint=STABLE_HINT)


@task("basics.1", points=2, category="gradients", visibility="hidden")
def test_activation_gradients_match_torch(student_session):
    x = away_from_zero(randn((4, 5), seed=11, dtype=torch.float64, scale=3.0))
    x_far = torch.cat([x.flatten(), torch.tensor([-1000.0, -60.0, 60.0, 1000.0], dtype=torch.float64)])
    cases = [
        ("relu", [x], torch.relu, "relu(x) in float64", RELU_HINT),
        ("leaky_relu", [x, 0.1], lambda t, s: F.leaky_relu(t, s), "leaky_relu(x, 0.1) in float64", LEAKY_HINT),
        ("tanh", [x_far], torch.tanh, "tanh(x) in float64, x including +-1000", TANH_HINT + " " + GRADIENT_HINT),
        ("sigmoid", [x_far], torch.sigmoid, "sigmoid(x) in float64, x including +-1000",
         SIGMOID_HINT + " " + GRADIENT_HINT),
    ]
    for name, inputs, expected_fn, call, hint in cases:
        assert_grads_close(student_session, name, inputs, expected_fn, call=call, input_names=["x"], hint=hint)


@task("basics.1", points=1, category="values", visibility="hidden", style=True)
def test_activations_are_written_from_their_formulas(student_session):
    x = randn((3, 4), seed=5)
    forbidden = {
        "relu": ["torch.relu", "torch.nn.functional.relu", "torch.Tensor.relu", "torch.relu_",
                 "torch.nn.functional.relu_"],
        "leaky_relu": ["torch.nn.functional.leaky_relu", "torch._C._nn.leaky_relu", "torch.nn.functional.rrelu"],
        "tanh": ["torch.tanh", "torch.nn.functional.tanh", "torch.Tensor.tanh"],
        "sigmoid": ["torch.sigmoid", "torch.nn.functional.sigmoid", "torch.Tensor.sigmoid",
                    "torch.special.expit"],
    }
    for name, names in forbidden.items():
        assert_no_forbidden_calls(student_session, name, [x], names, call=f"your {name}(x)",
                                  hint=f"Write {name} with elementwise operations (torch.where, torch.exp, "
                                       "arithmetic) instead of calling torch's.")


KINK_HINT = ("at exactly 0 relu and leaky_relu have a kink: any subgradient counts there (a value between the two "
             "one-sided slopes, as torch.where(x > 0, ...), torch.where(x >= 0, ...) and torch.maximum give), but "
             "not nan, inf or a value outside them; everywhere else the gradient is the slope of the side x is on.")


def _kink_gradient(student_session, name: str, x: torch.Tensor, args: list, slopes: tuple[float, float],
                   call: str, hint: str) -> None:
    """The gradient of the student's `name(x, *args)` (one per element, from a backward of ones): the
    slope of x's side away from 0, and a subgradient, between the two one-sided slopes, at 0."""
    _, grads = student_session.run("vjp", getattr(student_session.module, name), [x, *args], torch.ones_like(x))
    grad = grads[0] if grads else None
    check(isinstance(grad, torch.Tensor) and grad.shape == x.shape,
          f"{call}: no gradient flows back to x through your result.", hint)
    left, right = slopes
    expected = torch.where(x > 0, torch.full_like(x, right), torch.full_like(x, left))
    away = x != 0
    assert_close(grad[away], expected[away], call=f"the gradient of {call} at the inputs other than 0",
                 atol=1e-7, rtol=1e-5, hint=hint)
    low, high = min(left, right), max(left, right)
    at_zero = grad[~away]
    check(bool(torch.isfinite(at_zero).all()) and bool(((at_zero >= low) & (at_zero <= high)).all()),
          f"the gradient of {call} at x = 0 is {at_zero.tolist()}; expected a subgradient, a number from {low:g} "
          f"to {high:g}.", hint)


@task("basics.1", points=1, category="gradients", visibility="hidden")
def test_activation_gradients_at_the_kink_and_at_zero(student_session):
    """At exactly 0 any subgradient of relu (in [0, 1]) and leaky_relu (between its slope and 1)
    counts, as their docstrings say; tanh and sigmoid are smooth there and must match torch."""
    x = torch.tensor([-2.0, -1e-12, 0.0, 1e-12, 2.0], dtype=torch.float64)
    _kink_gradient(student_session, "relu", x, [], (0.0, 1.0),
                   "relu(x) at x = -2, -1e-12, 0, 1e-12, 2 in float64", RELU_HINT + " " + KINK_HINT)
    _kink_gradient(student_session, "leaky_relu", x, [0.1], (0.1, 1.0),
                   "leaky_relu(x, 0.1) at x = -2, -1e-12, 0, 1e-12, 2 in float64", LEAKY_HINT + " " + KINK_HINT)
    cases = [
        ("tanh", [x], torch.tanh, "tanh(x) at x = -2, ..., 0, ..., 2 in float64", TANH_HINT),
        ("sigmoid", [x], torch.sigmoid, "sigmoid(x) at x = -2, ..., 0, ..., 2 in float64", SIGMOID_HINT),
    ]
    for name, inputs, expected_fn, call, hint in cases:
        assert_grads_close(student_session, name, inputs, expected_fn, call=call, input_names=["x"], hint=hint)
