"""A generator's images depend smoothly on its noise: the largest step along a walk in latent space.

Radford et al. walk the straight line between two noise vectors and see the images change
gradually; a generator that has learned a map from noise to images does the same, while a
lookup table indexed by the noise (the nearest stored noise vector picks a stored image) jumps
from one picture to another. Measured here, in the trusted process, on images the grader's own
model draws from the trained weights (`grader.judging.transplant`):

    z_i(t) = (1 - t) z_a,i + t z_b,i,   t = 0, 1/S, ..., 1       (pair i, S steps)
    step_i = max over t of RMS(G(z_i(t + 1/S)) - G(z_i(t)))        (images in [0, 1])
    largest = max over the pairs of step_i

A conditional generator walks with the label held fixed (each pair gets its own digit). The bar
each practice sets is measured on the reference over 5 seeds (`benchmarks/copy_threshold.py`
prints it), with room; a lookup table's steps are whole-image changes.
"""

from __future__ import annotations

from typing import Callable

import torch

PAIRS, STEPS = 20, 12


def walk_noise(nz: int, seed: int, *, pairs: int = PAIRS, steps: int = STEPS) -> torch.Tensor:
    """(pairs * (steps + 1), nz): the points of each pair's line, pair after pair; made here."""
    generator = torch.Generator().manual_seed(7000 + seed)
    ends = torch.randn(2, pairs, 1, nz, generator=generator)  # (2, P, 1, nz)
    t = torch.linspace(0, 1, steps + 1).view(1, -1, 1)  # (1, S + 1, 1)
    return ((1 - t) * ends[0] + t * ends[1]).reshape(-1, nz)


def walk_labels(*, pairs: int = PAIRS, steps: int = STEPS) -> torch.Tensor:
    """(pairs * (steps + 1),) int64: pair i walks with digit i mod 10."""
    return (torch.arange(pairs) % 10).repeat_interleave(steps + 1)


def largest_steps(images: torch.Tensor, *, pairs: int = PAIRS, steps: int = STEPS) -> torch.Tensor:
    """(pairs,) each walk's largest RMS change between neighbouring images; `images` (P * (S + 1), C, H, W)
    in [0, 1], in the order `walk_noise` made the points."""
    walks = images.float().reshape(pairs, steps + 1, -1)  # (P, S + 1, D)
    return (walks[:, 1:] - walks[:, :-1]).pow(2).mean(-1).sqrt().max(1).values  # (P,)


def largest_step(draw: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor], nz: int, seed: int, *,
                 conditional: bool, pixel_range: tuple[float, float]) -> float:
    """The largest step over all walks of `draw(noise, labels)` (labels None unless `conditional`),
    whose images lie in `pixel_range`."""
    labels = walk_labels() if conditional else None
    images = draw(walk_noise(nz, seed), labels)
    low, high = pixel_range
    return float(largest_steps((images - low) / (high - low)).max())


def assert_smooth(draw: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor], nz: int, seed: int, *,
                  conditional: bool, pixel_range: tuple[float, float], bar: float, what: str, hint: str) -> float:
    """Fail the test (GradingFailure, with `hint`) unless `largest_step` is at most `bar`; return the step.
    `what` says whose images they are ("after 1,000 steps of your train_step, your trained weights")."""
    from grader.testing import check

    step = largest_step(draw, nz, seed, conditional=conditional, pixel_range=pixel_range)
    held = " (the digit held fixed)" if conditional else ""
    check(step <= bar,
          f"{what} draw images that jump along a straight line between two noise vectors{held}: the largest change "
          f"between neighbouring images of the walk is {step:.3f} (RMS, pixels in [0, 1]; at most {bar:g}). A "
          "generator that has learned changes its images gradually with the noise.", hint)
    return step
