"""Practice `basics`: the pieces every network is made of, written from their formulas.

Lecture: Basics and Appendix. A fully connected layer computes y = x W^T + b; an activation
function makes the composition of layers nonlinear; a loss L measures how far the prediction is
from the target; backpropagation (the chain rule) gives the gradient dL/dW of the loss with respect
to every weight; and one step of gradient descent moves each weight against its gradient,
W <- W - rho * dL/dW, where rho is the learning rate.

Here you write each of these with plain tensor operations, so you see what PyTorch does for you:

- activations: relu, leaky_relu, tanh, sigmoid (numerically stable for large |x|);
- losses, with the same `reduction` ("mean", "sum" or "none") as torch.nn.functional:
  binary_cross_entropy, cross_entropy (through the log-sum-exp trick), mse_loss, l1_loss;
- the forward and the hand-written backward pass of a fully connected layer;
- one gradient-descent update.

Do not call the torch function you are implementing (torch.relu, torch.sigmoid, torch.tanh,
torch.nn.functional.*, autograd in linear_backward): the grader checks.
"""

from __future__ import annotations

import torch

REDUCTIONS = ("mean", "sum", "none")


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    """Given: reduce elementwise losses as torch.nn.functional does.

    "mean": the average over all elements (a 0-dim tensor); "sum": their sum (a 0-dim tensor);
    "none": the losses unchanged. Any other value raises ValueError.
    """
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be one of {REDUCTIONS}, not {reduction!r}")


# ----------------------------------------------------------------------------- activations


def relu(x: torch.Tensor) -> torch.Tensor:
    """Rectified linear unit, elementwise: relu(x) = max(0, x).

    x: any shape. Returns a tensor of the same shape and dtype.
    Its gradient is 0 for x < 0 and 1 for x > 0. At the kink x = 0 any subgradient, a value in
    [0, 1], is right: torch.relu gives 0, torch.maximum(x, torch.zeros_like(x)) 0.5, and
    torch.where(x >= 0, x, 0 * x) 1.
    """
    # TODO basics.1: implement relu
    ### BEGIN SOLUTION
    return torch.where(x > 0, x, torch.zeros_like(x))
    ### END SOLUTION


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """Leaky ReLU, elementwise: x if x > 0, else negative_slope * x.

    x: any shape. Returns a tensor of the same shape and dtype.
    Its gradient is negative_slope for x < 0 and 1 for x > 0. At the kink x = 0 any subgradient,
    a value between negative_slope and 1, is right (F.leaky_relu gives negative_slope).
    """
    # TODO basics.1: implement leaky_relu
    ### BEGIN SOLUTION
    return torch.where(x > 0, x, negative_slope * x)
    ### END SOLUTION


def tanh(x: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent, elementwise: tanh(x) = (e^x - e^-x) / (e^x + e^-x).

    x: any shape. Returns a tensor of the same shape and dtype, in [-1, 1].
    Numerically stable: tanh(1000) must be 1 and tanh(-1000) must be -1, never nan (e^1000
    overflows). Rewrite the formula so that only exp of a non-positive number is taken, for
    example with a = |x|: tanh(x) = sign(x) * (1 - e^(-2a)) / (1 + e^(-2a)). Use differentiable
    operations, so that autograd's gradient is right and finite everywhere.
    """
    # TODO basics.1: implement tanh
    ### BEGIN SOLUTION
    positive = x >= 0
    a = torch.where(positive, x, -x)  # |x|, with gradient +-1 (also at 0)
    m = torch.expm1(-2 * a)  # e^(-2a) - 1, in (-1, 0]
    sign = torch.where(positive, torch.ones_like(x), -torch.ones_like(x))
    return sign * (-m) / (2 + m)
    ### END SOLUTION


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Logistic sigmoid, elementwise: sigmoid(x) = 1 / (1 + e^-x).

    x: any shape. Returns a tensor of the same shape and dtype, in [0, 1].
    Numerically stable: sigmoid(1000) must be 1 and sigmoid(-1000) must be 0 in float32, with no
    nan or inf (e^1000 overflows). Take exp only of a non-positive number: with z = e^(-|x|),
    sigmoid(x) = 1 / (1 + z) for x >= 0 and z / (1 + z) for x < 0. Use differentiable
    operations, so that autograd's gradient is finite everywhere.
    """
    # TODO basics.1: implement sigmoid
    ### BEGIN SOLUTION
    positive = x >= 0
    z = torch.exp(torch.where(positive, -x, x))  # e^(-|x|), in (0, 1]
    return torch.where(positive, 1 / (1 + z), z / (1 + z))
    ### END SOLUTION


# ----------------------------------------------------------------------------- losses


def binary_cross_entropy(probs: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Binary cross-entropy between predicted probabilities and targets, like F.binary_cross_entropy.

    probs: any shape, values in [0, 1]; targets: the same shape, values in [0, 1].
    Elementwise: l = -(t * log(p) + (1 - t) * log(1 - p)), where each log is clamped to be at
    least -100 (as PyTorch does), so that p = 0 or p = 1 gives a finite loss.
    reduction: "mean" (a 0-dim tensor, the average), "sum" (a 0-dim tensor) or "none" (the
    elementwise losses, same shape as probs); `_reduce` does this for you.
    """
    # TODO basics.2: implement binary_cross_entropy
    ### BEGIN SOLUTION
    log_p = torch.clamp(torch.log(probs), min=-100)
    log_not_p = torch.clamp(torch.log(1 - probs), min=-100)
    losses = -(targets * log_p + (1 - targets) * log_not_p)
    return _reduce(losses, reduction)
    ### END SOLUTION


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of softmax(logits) against class indices, like F.cross_entropy.

    logits: (B, C) unnormalized scores; targets: (B,) integer class indices in [0, C).
    Per example: l_i = -log softmax(logits_i)[t_i] = logsumexp(logits_i) - logits_i[t_i], with the
    log-sum-exp trick for stability: logsumexp(z) = m + log(sum_j e^(z_j - m)), m = max_j z_j.
    It must stay finite for logits as large as 1e4. Write the log-sum-exp yourself: no
    F.cross_entropy, F.log_softmax, torch.log_softmax or torch.logsumexp.
    reduction: "mean" (average over the batch, a 0-dim tensor), "sum", or "none" (shape (B,)).
    """
    # TODO basics.3: implement cross_entropy
    ### BEGIN SOLUTION
    m = logits.max(dim=1, keepdim=True).values.detach()  # (B, 1); a constant shift
    log_sum_exp = m.squeeze(1) + torch.log(torch.exp(logits - m).sum(dim=1))  # (B,)
    picked = logits.gather(1, targets.long().unsqueeze(1)).squeeze(1)  # (B,)
    return _reduce(log_sum_exp - picked, reduction)
    ### END SOLUTION


def mse_loss(pred: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean squared error, like F.mse_loss: elementwise l = (pred - target)^2, then the reduction.

    pred, target: the same shape. reduction: "mean", "sum" or "none" (see `_reduce`).
    """
    # TODO basics.4: implement mse_loss
    ### BEGIN SOLUTION
    return _reduce((pred - target) ** 2, reduction)
    ### END SOLUTION


def l1_loss(pred: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean absolute error, like F.l1_loss: elementwise l = |pred - target|, then the reduction.

    pred, target: the same shape. reduction: "mean", "sum" or "none" (see `_reduce`).
    """
    # TODO basics.4: implement l1_loss
    ### BEGIN SOLUTION
    return _reduce((pred - target).abs(), reduction)
    ### END SOLUTION


# ----------------------------------------------------------------------------- a fully connected layer


def linear_forward(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Forward pass of a fully connected layer, like nn.Linear: y = x W^T + b.

    x: (B, D_in); W: (D_out, D_in) (nn.Linear's layout); b: (D_out,). Returns y: (B, D_out).
    No F.linear.
    """
    # TODO basics.5: implement linear_forward
    ### BEGIN SOLUTION
    return x @ W.T + b  # (B, D_out)
    ### END SOLUTION


def linear_backward(dy: torch.Tensor, x: torch.Tensor, W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Backward pass of y = x W^T + b, by hand (no autograd: no .backward(), no torch.autograd).

    dy: (B, D_out), the gradient dL/dy; x: (B, D_in), the layer's input; W: (D_out, D_in).
    Returns (dx, dW, db), the gradients of L by the chain rule:
        dx = dy W      (B, D_in)
        dW = dy^T x    (D_out, D_in)
        db = sum of dy over the batch   (D_out,)
    """
    # TODO basics.6: implement linear_backward
    ### BEGIN SOLUTION
    dx = dy @ W  # (B, D_in)
    dW = dy.T @ x  # (D_out, D_in)
    db = dy.sum(dim=0)  # (D_out,)
    return dx, dW, db
    ### END SOLUTION


# ----------------------------------------------------------------------------- gradient descent


def sgd_step(W: torch.Tensor, dW: torch.Tensor, lr: float) -> torch.Tensor:
    """One step of gradient descent: W <- W - rho * dL/dW, with rho = lr.

    W: any shape; dW: the gradient dL/dW, the same shape; lr: the learning rate rho.
    Returns the updated weights as a NEW tensor (same shape and dtype): W itself must not be
    modified in place.
    """
    # TODO basics.7: implement sgd_step
    ### BEGIN SOLUTION
    return W - lr * dW
    ### END SOLUTION
