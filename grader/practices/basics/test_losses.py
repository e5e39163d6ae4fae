"""basics.2-4: binary cross-entropy, cross-entropy and the regression losses, against torch.nn.functional.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given

from grader.practices.basics.strategies import (
    away_from_zero,
    classification,
    dtypes,
    loss_shapes,
    randint,
    randn,
    reductions,
    seeds,
    uniform,
)
from grader.testing import assert_close, assert_grads_close, assert_no_forbidden_calls, task

REDUCTION_HINT = ('"mean" averages the elementwise losses over all elements, "sum" adds them up, "none" '
                  "returns them unreduced; `_reduce(losses, reduction)` does this for you.")
BCE_HINT = ("l = -(t log p + (1 - t) log(1 - p)) elementwise, with each log clamped to at least -100 "
            "(torch.clamp(torch.log(p), min=-100)), then the reduction.")
CE_HINT = ("l_i = logsumexp(logits_i) - logits_i[t_i]. For the log-sum-exp, subtract the row's maximum m "
           "before exp and add it back after the log: m + log(sum_j exp(z_j - m)); pick logits_i[t_i] with "
           "gather or indexing.")
MSE_HINT = "mse_loss is the reduction of (pred - target)^2, elementwise."
L1_HINT = "l1_loss is the reduction of |pred - target|, elementwise."


# ----------------------------------------------------------------------------- basics.2


def _bce_inputs(shape, seed, dtype=torch.float32):
    probs = uniform(shape, seed, 0.02, 0.98, dtype)
    targets = (uniform(shape, seed + 1, 0, 1) > 0.5).to(dtype)
    return probs, targets


@task("basics.2", points=2, category="values", visibility="public")
def test_binary_cross_entropy_matches_torch(student):
    probs, targets = _bce_inputs((4, 3), seed=0)
    for reduction in ("mean", "sum", "none"):
        assert_close(student.binary_cross_entropy(probs, targets, reduction),
                     F.binary_cross_entropy(probs, targets, reduction=reduction),
                     call=f"binary_cross_entropy(probs (4, 3), targets (4, 3), reduction={reduction!r})",
                     hint=BCE_HINT + " " + REDUCTION_HINT)
    assert_close(student.binary_cross_entropy(probs, targets), F.binary_cross_entropy(probs, targets),
                 call="binary_cross_entropy(probs, targets) with the default reduction", hint="The default is 'mean'.")


@task("basics.2", points=1, category="values", visibility="hidden")
def test_binary_cross_entropy_clamps_the_log(student):
    probs = torch.tensor([0.0, 0.0, 1.0, 1.0, 1e-45, 1 - 1e-7, 0.5])
    targets = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.3])
    assert_close(student.binary_cross_entropy(probs, targets, "none"),
                 F.binary_cross_entropy(probs, targets, reduction="none"),
                 call="binary_cross_entropy(probs, targets, 'none') with probabilities exactly 0 and 1",
                 hint="log(0) is -inf and 0 * -inf is nan: clamp each log to at least -100 before multiplying, "
                      "as PyTorch does.")


@task("basics.2", points=1, category="values", visibility="hidden")
@given(shape=loss_shapes, seed=seeds, dtype=dtypes, reduction=reductions)
def test_binary_cross_entropy_soft_targets_any_shape(student_session, shape, seed, dtype, reduction):
    probs = uniform(shape, seed, 0.0, 1.0, dtype)
    targets = uniform(shape, seed + 1, 0.0, 1.0, dtype)  # soft targets in [0, 1]
    assert_close(student_session.module.binary_cross_entropy(probs, targets, reduction),
                 F.binary_cross_entropy(probs, targets, reduction=reduction),
                 call=f"binary_cross_entropy(probs {shape}, soft targets {shape}, {reduction!r}) in {dtype}",
                 hint=BCE_HINT + " The targets may be any number in [0, 1], not only 0 or 1.")


@task("basics.2", points=1, category="gradients", visibility="hidden")
def test_binary_cross_entropy_gradient(student_session):
    probs, targets = _bce_inputs((5, 2), seed=3, dtype=torch.float64)
    assert_grads_close(student_session, "binary_cross_entropy", [probs, targets, "mean"],
                       lambda p, t, r: F.binary_cross_entropy(p, t, reduction=r),
                       call="binary_cross_entropy(probs, targets, 'mean') in float64",
                       input_names=["probs", "targets"], hint=BCE_HINT)


@task("basics.2", points=1, category="values", visibility="hidden", style=True)
def test_binary_cross_entropy_is_written_by_hand(student_session):
    probs, targets = _bce_inputs((3,), seed=1)
    assert_no_forbidden_calls(
        student_session, "binary_cross_entropy", [probs, targets, "mean"],
        ["torch.nn.functional.binary_cross_entropy", "torch._C._nn.binary_cross_entropy",
         "torch.nn.functional.binary_cross_entropy_with_logits", "torch.binary_cross_entropy_with_logits"],
        call="your binary_cross_entropy(probs, targets)", hint=BCE_HINT)


# ----------------------------------------------------------------------------- basics.3


@task("basics.3", points=2, category="values", visibility="public")
def test_cross_entropy_matches_torch(student):
    logits = randn((5, 4), seed=0, scale=2.0)
    targets = torch.tensor([0, 3, 1, 1, 2])
    for reduction in ("mean", "sum", "none"):
        assert_close(student.cross_entropy(logits, targets, reduction),
                     F.cross_entropy(logits, targets, reduction=reduction),
                     call=f"cross_entropy(logits (5, 4), targets (5,), reduction={reduction!r})",
                     hint=CE_HINT + " " + REDUCTION_HINT)


@task("basics.3", points=2, category="values", visibility="hidden")
def test_cross_entropy_is_stable_for_large_logits(student):
    logits = torch.tensor([[1e4, 0.0, -1e4], [-1e4, 1e4, 3.0], [5e3, 5e3, 5e3], [-1e4, -1e4, -9999.0]])
    targets = torch.tensor([2, 1, 0, 2])
    # float32 spacing near 1e4 is about 1e-3: m + log(s) - z_t may round differently from torch's
    # (z_t - m) - log(s) by that much. An unstable log-sum-exp gives inf or nan, far outside.
    for reduction in ("none", "mean"):
        assert_close(student.cross_entropy(logits, targets, reduction),
                     F.cross_entropy(logits, targets, reduction=reduction),
                     call=f"cross_entropy(logits of size 1e4, targets, {reduction!r})", atol=5e-3,
                     hint="exp(1e4) overflows to inf. " + CE_HINT)


@task("basics.3", points=1, category="values", visibility="hidden")
@given(dims=classification(), seed=seeds, dtype=dtypes, reduction=reductions)
def test_cross_entropy_random_batches(student_session, dims, seed, dtype, reduction):
    batch, classes = dims
    logits = randn((batch, classes), seed, dtype, scale=5.0)
    targets = randint(classes, (batch,), seed + 1)
    assert_close(student_session.module.cross_entropy(logits, targets, reduction),
                 F.cross_entropy(logits, targets, reduction=reduction),
                 call=f"cross_entropy(logits ({batch}, {classes}), targets ({batch},), {reduction!r}) in {dtype}",
                 hint=CE_HINT + " The mean is over the batch.")


@task("basics.3", points=1, category="gradients", visibility="hidden")
def test_cross_entropy_gradient(student_session):
    logits = randn((6, 5), seed=4, dtype=torch.float64, scale=3.0)
    targets = randint(5, (6,), seed=5)
    assert_grads_close(student_session, "cross_entropy", [logits, targets, "mean"],
                       lambda z, t, r: F.cross_entropy(z, t, reduction=r),
                       call="cross_entropy(logits (6, 5), targets (6,), 'mean') in float64",
                       input_names=["logits", "targets"], hint=CE_HINT)


@task("basics.3", points=1, category="values", visibility="hidden", style=True)
def test_cross_entropy_is_written_by_hand(student_session):
    logits = randn((3, 4), seed=2)
    targets = torch.tensor([0, 1, 3])
    assert_no_forbidden_calls(
        student_session, "cross_entropy", [logits, targets, "mean"],
        ["torch.nn.functional.cross_entropy", "torch._C._nn.cross_entropy_loss",
         "torch.nn.functional.log_softmax", "torch.log_softmax", "torch.Tensor.log_softmax",
         "torch.special.log_softmax", "torch.logsumexp", "torch.Tensor.logsumexp", "torch.special.logsumexp"],
        call="your cross_entropy(logits, targets)", hint=CE_HINT)


# ----------------------------------------------------------------------------- basics.4


@task("basics.4", points=1, category="values", visibility="public")
def test_mse_loss_matches_torch(student):
    pred, target = randn((4, 3), seed=0), randn((4, 3), seed=1)
    for reduction in ("mean", "sum", "none"):
        assert_close(student.mse_loss(pred, target, reduction), F.mse_loss(pred, target, reduction=reduction),
                     call=f"mse_loss(pred (4, 3), target (4, 3), reduction={reduction!r})",
                     hint=MSE_HINT + " " + REDUCTION_HINT)


@task("basics.4", points=1, category="values", visibility="public")
def test_l1_loss_matches_torch(student):
    pred, target = randn((4, 3), seed=2), randn((4, 3), seed=3)
    for reduction in ("mean", "sum", "none"):
        assert_close(student.l1_loss(pred, target, reduction), F.l1_loss(pred, target, reduction=reduction),
                     call=f"l1_loss(pred (4, 3), target (4, 3), reduction={reduction!r})",
                     hint=L1_HINT + " " + REDUCTION_HINT)


@task("basics.4", points=1, category="values", visibility="hidden")
@given(shape=loss_shapes, seed=seeds, dtype=dtypes, reduction=reductions)
def test_regression_losses_any_shape(student_session, shape, seed, dtype, reduction):
    student = student_session.module
    pred, target = randn(shape, seed, dtype, 3.0), randn(shape, seed + 1, dtype, 3.0)
    assert_close(student.mse_loss(pred, target, reduction), F.mse_loss(pred, target, reduction=reduction),
                 call=f"mse_loss(pred {shape}, target {shape}, {reduction!r}) in {dtype}", hint=MSE_HINT)
    assert_close(student.l1_loss(pred, target, reduction), F.l1_loss(pred, target, reduction=reduction),
                 call=f"l1_loss(pred {shape}, target {shape}, {reduction!r}) in {dtype}", hint=L1_HINT)


@task("basics.4", points=1, category="gradients", visibility="hidden")
def test_regression_loss_gradients(student_session):
    pred = randn((4, 3), seed=6, dtype=torch.float64)
    target = pred + away_from_zero(randn((4, 3), seed=7, dtype=torch.float64))
    for name, expected_fn, hint in (("mse_loss", F.mse_loss, MSE_HINT), ("l1_loss", F.l1_loss, L1_HINT)):
        assert_grads_close(student_session, name, [pred, target, "mean"],
                           lambda p, t, r, f=expected_fn: f(p, t, reduction=r),
                           call=f"{name}(pred, target, 'mean') in float64", input_names=["pred", "target"],
                           hint=hint)
