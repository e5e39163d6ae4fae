"""The synthetic data set of the `linreg` practice, made in the trusted process from a seed.

    x ~ N(0, 1)                     (N, D), standard normal features
    w_true ~ N(0, 1), b_true ~ N(0, 1)   (D,) and a number
    y = x w_true + b_true + noise * eps, eps ~ N(0, 1)   (N,)

The training split goes to the student's `fit` in a worker; the held-out split's labels never
leave this process. `noise ** 2` is the least mean squared error any predictor can reach on
average, the floor the convergence bars are set against.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

NOISE = 0.1  # standard deviation of the label noise: the floor of the held-out MSE is NOISE ** 2


@dataclass(frozen=True)
class LinearData:
    train_x: torch.Tensor  # (N_train, D)
    train_y: torch.Tensor  # (N_train,)
    test_x: torch.Tensor  # (N_test, D)
    test_y: torch.Tensor  # (N_test,): never sent to a worker
    w: torch.Tensor  # (D,): the true weights
    b: float  # the true bias
    noise: float

    @property
    def description(self) -> str:
        return (f"synthetic: y = x w + b + N(0, {self.noise:g}^2), {self.train_x.shape[1]} features, "
                f"{len(self.train_y)} training and {len(self.test_y)} held-out examples")


def linear_data(seed: int, *, train: int = 200, test: int = 1000, features: int = 3, noise: float = NOISE,
                dtype: torch.dtype = torch.float32) -> LinearData:
    """The data set drawn from a generator seeded with `seed` (see the module docstring)."""
    generator = torch.Generator().manual_seed(seed)
    w = torch.randn(features, generator=generator, dtype=torch.float64)
    b = torch.randn((), generator=generator, dtype=torch.float64)
    x = torch.randn(train + test, features, generator=generator, dtype=torch.float64)
    y = x @ w + b + noise * torch.randn(train + test, generator=generator, dtype=torch.float64)
    x, y = x.to(dtype), y.to(dtype)
    return LinearData(train_x=x[:train], train_y=y[:train], test_x=x[train:], test_y=y[train:], w=w.to(dtype),
                      b=float(b), noise=noise)


def mean_squared_error(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> float:
    """mean((x w + b - y)^2) in float64, for x (N, D), y (N,), w (D,), b with one element."""
    prediction = x.double() @ w.double() + b.double().reshape(())  # (N,)
    return float(((prediction - y.double()) ** 2).mean())
