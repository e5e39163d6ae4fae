"""linreg.1-2: a linear model's prediction, and its fit by gradient descent judged on held-out data.
"""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.practices.linreg.synthetic import linear_data, mean_squared_error
from grader.recorded import recorded
from grader.testing import assert_close, check, fail, reference, task

PREDICT_HINT = "y_hat = x w + b: x is (N, D) and w is (D,), so x @ w is (N,); add b to every entry."
FIT_HINT = ("Start from w = 0 and b = 0 and repeat, `steps` times: r = x w + b - y, w <- w - lr * (2/N) x^T r, "
            "b <- b - lr * (2/N) sum(r). Return the tuple (w, b).")

STEPS, LR = 200, 0.1  # lr 0.1 on standard normal features: each step shrinks the distance to the minimum by
                      # about (1 - 2 lr) = 0.8, so 200 steps leave nothing of it
# The held-out bar: the label noise's variance NOISE^2 is the least mean squared error any predictor
# reaches on average; the least-squares fit from 200 examples adds about NOISE^2 * (D + 1) / N (2% of it)
# and 1000 held-out examples spread the measured error by about 4.5% of it. Twice the noise's variance
# (0.02) leaves room for both: the reference reaches 0.0113 on this data, while the same model without
# its bias lands at 0.34, and one stopped after 10 of the 200 steps at 0.10.
BAR_TIMES_NOISE = 2.0


def _inputs(batch: int, features: int, seed: int, dtype: torch.dtype = torch.float32):
    """x (batch, features), w (features,) and a 0-dim b, standard normal from a seeded generator."""
    generator = torch.Generator().manual_seed(seed)
    x, w, b = (torch.randn(shape, generator=generator, dtype=torch.float64).to(dtype)
               for shape in ((batch, features), (features,), ()))
    return x, w, b


@recorded
def reference_predictions(batch: int, features: int, seed: int) -> torch.Tensor:
    """(batch,): the reference's predict on `_inputs(batch, features, seed)`."""
    return reference("linreg").predict(*_inputs(batch, features, seed))


@recorded
def reference_fit(seed: int, steps: int, lr: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(w (D,), b 0-dim), float64: the reference's fit on the training split of `linear_data(seed)`."""
    data = linear_data(seed, dtype=torch.float64)
    return tuple(reference("linreg").fit(data.train_x, data.train_y, steps, lr))


def _fitted(student, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float, call: str):
    """The student's (w, b) for fit(x, y, steps, lr), with their kinds and shapes checked."""
    result = student.fit(x, y, steps, lr)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"{call} should return a tuple (w, b) of two tensors, but your code returned "
             f"{type(result).__name__}{f' of {len(result)}' if isinstance(result, (tuple, list)) else ''}.", FIT_HINT)
    w, b = result
    check(isinstance(w, torch.Tensor) and tuple(w.shape) == (x.shape[1],),
          f"{call} should return w of shape ({x.shape[1]},), but yours is "
          f"{tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__}.", FIT_HINT)
    check(isinstance(b, torch.Tensor) and b.numel() == 1,
          f"{call} should return b as a 0-dim tensor, but yours is "
          f"{tuple(b.shape) if isinstance(b, torch.Tensor) else type(b).__name__}.", FIT_HINT)
    return w, b


# ----------------------------------------------------------------------------- linreg.1


@task("linreg.1", points=1, category="values", visibility="public")
def test_predict_matches_the_reference(student):
    expected = reference_predictions(batch=6, features=3, seed=0)
    assert_close(student.predict(*_inputs(6, 3, seed=0)), expected, call="predict(x (6, 3), w (3,), b)",
                 hint=PREDICT_HINT)


@task("linreg.1", points=1, category="shapes", visibility="hidden")
@given(batch=st.integers(1, 7), features=st.integers(1, 5), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([torch.float32, torch.float64]))
def test_predict_any_sizes_with_a_number_for_b(student_session, batch, features, seed, dtype):
    x, w, b = _inputs(batch, features, seed, dtype)
    assert_close(student_session.module.predict(x, w, float(b)), x @ w + float(b),
                 call=f"predict(x ({batch}, {features}), w ({features},), b={float(b):.3g}) in {dtype}",
                 hint=PREDICT_HINT + " Check N = 1 and D = 1 too.")


# ----------------------------------------------------------------------------- linreg.2


@task("linreg.2", points=2, category="convergence", visibility="public")
def test_fit_reaches_the_noise_floor_on_held_out_data(student):
    """The fitted model's mean squared error on held-out examples (whose labels stay here) is
    within BAR_TIMES_NOISE of the label noise's variance."""
    data = linear_data(seed=0)
    call = f"fit(x (200, 3), y (200,), steps={STEPS}, lr={LR})"
    w, b = _fitted(student, data.train_x, data.train_y, STEPS, LR, call)
    error, bar = mean_squared_error(data.test_x, data.test_y, w, b), BAR_TIMES_NOISE * data.noise ** 2
    check(error <= bar, f"the model {call} returned has a mean squared error of {error:.4g} on held-out examples; "
          f"at most {bar:.4g} was expected (twice the variance of the labels' noise, {data.noise ** 2:.4g}).",
          FIT_HINT)


@task("linreg.2", points=1, category="values", visibility="hidden")
def test_fit_takes_the_steps_of_gradient_descent_from_zero(student):
    expected_w, expected_b = reference_fit(seed=1, steps=5, lr=0.05)
    data = linear_data(seed=1, dtype=torch.float64)
    call = "fit(x (200, 3), y (200,), steps=5, lr=0.05) in float64"
    w, b = _fitted(student, data.train_x, data.train_y, 5, 0.05, call)
    assert_close(w, expected_w, call=f"w from {call}", atol=1e-10, rtol=1e-8, hint=FIT_HINT)
    assert_close(b, expected_b, call=f"b from {call}", atol=1e-10, rtol=1e-8, hint=FIT_HINT)
