"""What cgan.8 keeps of the graded run for the student (`grader.attachments`): the 10 x 10 grid of
what the trained weights drew (row k: the first ten samples asked for digit k), the training
curves (D's and G's losses, D(x) and D(G(z)) per step), and the judge's numbers beside the bars and
the reference's. Everything is drawn here, in the grader, from tensors the grader's own model drew.
"""

from __future__ import annotations

import torch

from grader.attachments import Measure, attach_measure, attach_picture, collecting
from grader.training import pictures
from grader.practices.cgan.train import grid_of

# The reference (solutions/cgan.py) on the CPU plan, seed 0, judged by the grader's DigitJudge
# (benchmarks/digit_judge.py; the seeds' table is in benchmarks/README.md).
REFERENCE = {"cpu": {"accuracy": 1.000, "digits": 10}}


def attach_samples(samples: torch.Tensor, stats: dict[str, list[float]], trained: str) -> None:
    """`samples` (1000, 1, 28, 28) in [0, 1], 100 per digit in digit order, as `sample_inputs` asks."""
    if not collecting():
        return
    attach_picture("samples", "what your trained weights draw: row k asks for digit k (ten samples each)",
                   pictures.sample_grid, grid_of(samples), title="cgan.8: your generator, row k: digit k")
    attach_picture("curves", f"training curves, {trained}", pictures.gan_curves, stats, [],
                   title="cgan.8: your train_step", per_epoch={})


def attach_verdict(verdict: dict, recognised: int, plan: dict, device: str) -> None:
    reference = REFERENCE.get("cpu" if not device.startswith("cuda") else "cuda", {})
    attach_measure(
        Measure("samples recognised as their digit", verdict["accuracy"], plan["bar"], True,
                reference.get("accuracy"), ".1%"),
        Measure("digits recognised in half their samples", recognised, plan["digits"], True,
                reference.get("digits"), ".0f"))
