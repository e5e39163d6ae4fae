"""Pictures of a pix2pix run: input / output / target rows, and the loss and held-out curves.

Written atomically by `grader.training.pictures`' saver, like every picture of a run.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import torch

from grader.training.pictures import _save

ROWS = ("input", "output", "target")


def translation_grid(inputs: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor, path: Path, *,
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


def _smooth(values: list[float]) -> list[float]:
    window = max(1, len(values) // 50)
    return [sum(values[max(0, i - window + 1):i + 1]) / len(values[max(0, i - window + 1):i + 1])
            for i in range(len(values))]


def translation_curves(steps: dict[str, list[float]], history: list[dict], path: Path, *, title: str) -> None:
    """Four panels: D's loss, G's GAN term and G's L1 term per step; held-out L1 and PSNR per epoch."""
    figure, axes = plt.subplots(1, 4, figsize=(18, 3.6))
    figure.subplots_adjust(wspace=0.4)
    for axis, (key, label) in zip(axes, (("loss_d", "D loss"), ("loss_g_gan", "G: GAN term"),
                                         ("loss_g_l1", "G: L1 term (train)"))):
        values = steps.get(key, [])
        x = range(1, len(values) + 1)
        axis.plot(x, values, alpha=0.25, linewidth=0.8)
        axis.plot(x, _smooth(values), color=axis.lines[-1].get_color())
        axis.set_xlabel("step")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    epochs = [record["epoch"] + 1 for record in history]
    axes[3].plot(epochs, [record["held_out_l1"] for record in history], marker="o", label="held-out L1")
    axes[3].set_xlabel("epoch")
    axes[3].set_ylabel("held-out L1 (lower is better)")
    axes[3].grid(alpha=0.3)
    psnr = axes[3].twinx()
    psnr.plot(epochs, [record["held_out_psnr"] for record in history], marker="s", color="tab:orange",
              label="held-out PSNR")
    psnr.set_ylabel("held-out PSNR, dB")
    axes[3].legend(handles=axes[3].lines + psnr.lines, fontsize=8, loc="center right")
    figure.suptitle(title)
    _save(figure, path)
