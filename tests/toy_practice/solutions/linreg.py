"""Practice `linreg`: a linear model fitted by gradient descent, written from its formulas.

A linear model predicts y_hat = x w + b from the D features of each example: x is (N, D), w is
(D,), b a number. Its mean squared error on a data set (x, y) is

    L(w, b) = mean_i (x_i w + b - y_i)^2 = (1/N) sum_i r_i^2,   r = x w + b - y  (N,),

and its gradients are dL/dw = (2/N) x^T r (D,) and dL/db = (2/N) sum_i r_i. Gradient descent
starts from w = 0, b = 0 and repeats w <- w - lr * dL/dw, b <- b - lr * dL/db.

Here you write the prediction and the descent with plain tensor operations (no torch.optim, no
torch.linalg solver): the grader checks the prediction, the steps, and the error of the fitted
model on held-out examples it keeps to itself.
"""

from __future__ import annotations

import torch


def predict(x: torch.Tensor, w: torch.Tensor, b: float | torch.Tensor) -> torch.Tensor:
    """The linear model's predictions: y_hat = x w + b.

    x: (N, D); w: (D,); b: a number or a 0-dim tensor. Returns (N,), in x's dtype.
    """
    # TODO linreg.1: implement predict
    ### BEGIN SOLUTION
    return x @ w + b
    ### END SOLUTION


def fit(x: torch.Tensor, y: torch.Tensor, steps: int, lr: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit w and b to (x, y) by `steps` steps of gradient descent on the mean squared error.

    x: (N, D); y: (N,). Start from w = 0 (D,) and b = 0 (a 0-dim tensor), both in x's dtype; each
    step computes r = x w + b - y (N,) and updates, at once,
        w <- w - lr * (2/N) x^T r        b <- b - lr * (2/N) sum_i r_i.
    Returns (w, b): w (D,) and b 0-dim, in x's dtype. With steps = 0 that is (0, 0).
    """
    # TODO linreg.2: implement fit
    ### BEGIN SOLUTION
    w = torch.zeros(x.shape[1], dtype=x.dtype)
    b = torch.zeros((), dtype=x.dtype)
    for _ in range(steps):
        residual = predict(x, w, b) - y  # (N,)
        w, b = w - lr * 2 * x.T @ residual / len(x), b - lr * 2 * residual.mean()
    return w, b
    ### END SOLUTION
