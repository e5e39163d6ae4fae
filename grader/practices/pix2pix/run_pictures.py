"""What pix2pix.8 keeps of the graded run for the student (`grader.attachments`): input / output /
target rows for 8 held-out pairs (the same 8 that `bootcamp train pix2pix` shows), the training
curves (D's loss, G's GAN and L1 terms per step), and the judge's numbers beside the bars and the
reference's.

The held-out inputs and targets are shown: an edge map means little without the photo it was
drawn from and the edge map it should be. They reveal nothing a student does not hold: the
embedded pairs are crops of a scikit-image photograph that ships with the installed package, the
target is the Sobel edge map of the input (a documented function of it), facades are a public
data set, and `bootcamp train pix2pix` shows the same 8 pairs on every run. The verdict does not
rest on them being secret: the held-out inputs never enter a worker, and the grader's own U-Net
draws the outputs from the trained weights.
"""

from __future__ import annotations

import torch

from grader.attachments import Measure, attach_measure, attach_picture, collecting
from grader.training.pictures import gan_curves
from grader.practices.pix2pix.data import Pairs
from grader.practices.pix2pix.metrics import to_unit
from grader.practices.pix2pix.pictures import STEP_PANELS, translation_grid
from grader.practices.pix2pix.train import grid_indices

# The reference (solutions/pix2pix.py) on the CPU plan, seed 0 (benchmarks/README.md).
REFERENCE = {"cpu": {"l1": 0.182, "psnr": 16.83}}


def attach_outputs(outputs: torch.Tensor, pairs: Pairs, stats: dict[str, list[float]], trained: str) -> None:
    """`outputs` (N, 3, H, W) in [-1, 1]: the held-out translations the grader's U-Net drew."""
    if not collecting():
        return
    shown = grid_indices(len(outputs))
    attach_picture("translations", "held-out pairs: the input, what your trained weights draw, the target",
                   translation_grid, to_unit(pairs.held_out_inputs[shown]), outputs[shown],
                   to_unit(pairs.held_out_targets[shown]), title="pix2pix.8: your U-Net on held-out inputs")
    attach_picture("curves", f"training curves, {trained}", gan_curves, stats, [],
                   title="pix2pix.8: your train_step", per_epoch={}, per_step=STEP_PANELS)


def attach_verdict(got: dict, l1_bar: float, psnr_bar: float, device: str) -> None:
    reference = REFERENCE.get("cpu" if not device.startswith("cuda") else "cuda", {})
    attach_measure(Measure("held-out L1 (mean absolute error, [-1, 1])", got["l1"], l1_bar, False,
                           reference.get("l1"), ".3f"),
                   Measure("held-out PSNR (dB)", got["psnr"], psnr_bar, True, reference.get("psnr"), ".1f"))
