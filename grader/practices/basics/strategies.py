"""Hypothesis strategies and seeded tensors for the `basics` suite, in one place.

Hypothesis draws small shapes, dtypes and seeds; the tensors themselves come from a seeded
torch.Generator, so every example is reproducible from what hypothesis prints.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st

seeds = st.integers(min_value=0, max_value=2**16)
dtypes = st.sampled_from([torch.float32, torch.float64])
reductions = st.sampled_from(["mean", "sum", "none"])
slopes = st.sampled_from([0.01, 0.1, 0.2, 0.5, 2.0])
learning_rates = st.sampled_from([0.0, 1e-3, 0.1, 0.5, 1.0])

# any shape of up to 3 dimensions, the 0-dim scalar included
shapes = st.lists(st.integers(min_value=1, max_value=5), min_size=0, max_size=3).map(tuple)
# shapes with at least one element along one dimension (for losses that average)
loss_shapes = st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=3).map(tuple)
sizes = st.integers(min_value=1, max_value=7)


@st.composite
def linear_dims(draw) -> tuple[int, int, int]:
    """(B, D_in, D_out) for a fully connected layer."""
    return draw(sizes), draw(sizes), draw(sizes)


@st.composite
def classification(draw) -> tuple[int, int]:
    """(B, C): a batch size and a number of classes (at least 2)."""
    return draw(st.integers(min_value=1, max_value=8)), draw(st.integers(min_value=2, max_value=8))


def randn(shape: tuple[int, ...], seed: int, dtype: torch.dtype = torch.float32,
          scale: float = 1.0) -> torch.Tensor:
    """A standard normal tensor times `scale`, from a generator seeded with `seed`."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=generator, dtype=torch.float64) * scale).to(dtype)


def uniform(shape: tuple[int, ...], seed: int, low: float, high: float,
            dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A tensor uniform in [low, high), from a generator seeded with `seed`."""
    generator = torch.Generator().manual_seed(seed)
    return (low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)).to(dtype)


def randint(high: int, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """An int64 tensor uniform in [0, high), from a generator seeded with `seed`."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(high, shape, generator=generator)


def away_from_zero(x: torch.Tensor, margin: float = 1e-3) -> torch.Tensor:
    """`x` with entries closer than `margin` to 0 pushed out to +-margin (kinks sit at 0)."""
    sign = torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
    return torch.where(x.abs() < margin, sign * margin, x)
