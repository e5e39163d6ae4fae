"""What dcgan.10 keeps of the graded run for the student (`grader.attachments`): an 8 x 8 grid of
what the trained weights drew, an interpolation strip (8 rows, each the generator along the
straight line between two fixed noise vectors, 10 steps), the training curves (losses, D(x) and
D(G(z)) per step), and the judge's numbers beside the bars and the reference's. Drawn here, in
the grader, from images the grader's own model drew.
"""

from __future__ import annotations

from typing import Callable

import torch

from grader.attachments import Measure, attach_measure, attach_picture, collecting
from grader.training import pictures

NZ, GRID, ROWS, STEPS = 100, 64, 8, 10
# The reference (solutions/dcgan.py) on the CPU plan, seed 0, judged by the grader's DigitJudge
# (benchmarks/README.md).
REFERENCE = {"cpu": {"score": 5.55, "distance": 97.8}}


def line_noise(seed: int = 0) -> torch.Tensor:
    """(ROWS * STEPS, NZ): each row the straight line between two fixed noise vectors; made here."""
    generator = torch.Generator().manual_seed(30_000 + seed)
    ends = torch.randn(2, ROWS, 1, NZ, generator=generator)
    t = torch.linspace(0, 1, STEPS).view(1, STEPS, 1)
    return ((1 - t) * ends[0] + t * ends[1]).reshape(ROWS * STEPS, NZ)


def attach_samples(samples: torch.Tensor, draw: Callable[[torch.Tensor], torch.Tensor],
                   stats: dict[str, list[float]], trained: str) -> None:
    """`samples` (N, nc, 32, 32) in [-1, 1]; `draw(noise)` the same model's images for more noise."""
    if not collecting():
        return
    attach_picture("samples", "what your trained weights draw (64 of the 1,000 judged samples)",
                   pictures.sample_grid, (samples[:GRID] + 1) / 2, rows=8, ylabel=None,
                   title="dcgan.10: your generator")
    attach_picture("interpolation", "each row: your generator along a straight line between two noise vectors",
                   pictures.sample_grid, (draw(line_noise()) + 1) / 2, rows=ROWS, ylabel=None,
                   title="dcgan.10: interpolation in the noise")
    attach_picture("curves", f"training curves, {trained}", pictures.gan_curves, stats, [],
                   title="dcgan.10: your train_step", per_epoch={})


def attach_verdict(verdict: dict, plan: dict, device: str) -> None:
    reference = REFERENCE.get("cpu" if not device.startswith("cuda") else "cuda", {})
    attach_measure(
        Measure("classifier score (at most 10)", verdict["score"], plan["score"], True, reference.get("score"), ".2f"),
        Measure("Fréchet distance to held-out digits", verdict["distance"], plan["distance"], False,
                reference.get("distance"), ".1f"))
