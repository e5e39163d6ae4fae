"""Pictures of a pix2pix run: input / output / target rows, and the loss and held-out curves
(the GAN practices' `grader.training.pictures.gan_curves` with pix2pix's panels).

Written atomically by `grader.training.pictures`' saver, like every picture of a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import matplotlib.pyplot as plt
import torch

from grader.training.pictures import _save, gan_curves

ROWS = ("input", "output", "target")


def translation_grid(inputs: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor, path: Path | BinaryIO, *,
                     title: str = "") -> None:
    """Three rows of N colour images (N, 3, H, W) in [-1, 1]: inputs, G's outputs, targets."""
    count, _, height, width = inputs.shape
    rows = torch.stack([inputs, outputs, targets]).float().clamp(-1, 1) * 0.5 + 0.5  # (3, N, 3, H, W) in [0, 1]
    padded = torch.nn.functional.pad(rows, (1, 1, 1, 1), value=1.0)  # a white frame around each image
    grid = padded.permute(0, 3, 1, 4, 2).reshape(3 * (height + 2), count * (width + 2), 3)
    figure, axis = plt.subplots(figsize=(1.1 * count + 0.8, 3.6 * max(1.0, height / 96)))
    axis.imshow(grid.numpy(), interpolation="nearest")
    axis.set_yticks([(height + 2) * (row + 0.5) for row in range(3)])
    axis.set_yticklabels(ROWS)
    axis.set_xticks([])
    if title:
        axis.set_title(title, fontsize=10)
    _save(figure, path)


# the curves of a pix2pix run, drawn by `grader.training.pictures.gan_curves`
STEP_PANELS = (({"loss_d": "D"}, "D loss"), ({"loss_g_gan": "G: GAN term"}, "G: GAN term"),
               ({"loss_g_l1": "G: L1 term (train)"}, "G: L1 term (train)"))
EPOCH_PANELS = {"held_out_l1": "held-out L1 (lower is better)", "held_out_psnr": "held-out PSNR, dB"}


def translation_curves(steps: dict[str, list[float]], history: list[dict], path: Path, *, title: str) -> None:
    """Five panels: D's loss, G's GAN term and G's L1 term per step; held-out L1 and PSNR per epoch."""
    gan_curves(steps, history, path, title=title, per_epoch=EPOCH_PANELS, per_step=STEP_PANELS)
