"""Pictures of a training run, as PNG files: curves, a confusion matrix, misclassified digits.

Each function takes plain tensors and lists and writes one file atomically (temporary file, then
rename), so a run stopped halfway never leaves a half-written picture; given a binary buffer
(`io.BytesIO`) instead of a path, it writes the PNG there (`png` returns those bytes), which is
how a graded run keeps its pictures (`grader.attachments`).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402


def _save(figure, path: Path | BinaryIO, *, dpi: int = 110) -> None:
    if not isinstance(path, (str, os.PathLike)):  # a buffer: the PNG's bytes go there
        try:
            figure.savefig(path, format="png", dpi=dpi, bbox_inches="tight")
        finally:
            plt.close(figure)
        return
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=110, bbox_inches="tight")
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a picture is for everyone to open
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    finally:
        plt.close(figure)


def png(draw: Callable[..., object], *args, **kwargs) -> bytes:
    """The PNG bytes of one of this module's pictures: `png(sample_grid, samples, rows=8)`."""
    buffer = io.BytesIO()
    draw(*args, path=buffer, **kwargs)
    return buffer.getvalue()


def curves(history: list[dict], path: Path | BinaryIO, *, series: dict[str, str], title: str) -> None:
    """One panel per entry of `series` (key in each history record -> panel label), over epochs."""
    figure, axes = plt.subplots(1, len(series), figsize=(4.5 * len(series), 3.4), squeeze=False)
    epochs = [record["epoch"] + 1 for record in history]
    for axis, (key, label) in zip(axes[0], series.items()):
        axis.plot(epochs, [record[key] for record in history], marker="o")
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    _save(figure, path)


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, path: Path | BinaryIO, *,
                     classes: int = 10) -> torch.Tensor:
    """Counts (classes, classes): row = true digit, column = predicted; drawn with the counts."""
    counts = torch.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)
    figure, axis = plt.subplots(figsize=(5.2, 4.6))
    axis.imshow(counts.numpy(), cmap="Blues")
    for row in range(classes):
        for column in range(classes):
            value = int(counts[row, column])
            if value:
                axis.text(column, row, str(value), ha="center", va="center", fontsize=7,
                          color="white" if value > counts.max() / 2 else "black")
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_xticks(range(classes))
    axis.set_yticks(range(classes))
    axis.set_title(f"held-out accuracy {counts.diag().sum().item() / counts.sum().item():.1%}")
    _save(figure, path)
    return counts


def misclassified(images: torch.Tensor, predicted: torch.Tensor, labels: torch.Tensor, path: Path | BinaryIO,
                  *, limit: int = 36, true_labels: bool = True) -> int:
    """A grid of up to `limit` wrongly classified images (N, 1, H, W) uint8, titled 'true -> predicted';
    with `true_labels` False, titled with the predicted label only (what the model said)."""
    wrong = torch.nonzero(predicted != labels).flatten()[:limit]
    columns = 6
    rows = max(1, -(-len(wrong) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, 1.7 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, index in zip(axes.flat, wrong.tolist()):
        axis.imshow(images[index, 0].numpy(), cmap="gray")
        shown = f"{labels[index].item()} -> " if true_labels else "called "
        axis.set_title(f"{shown}{predicted[index].item()}", fontsize=9)
    how = "true -> predicted" if true_labels else "each with the digit the model called it"
    figure.suptitle(f"{int((predicted != labels).sum())} misclassified held-out digits ({how})")
    _save(figure, path)
    return len(wrong)


def sample_grid(samples: torch.Tensor, path: Path | BinaryIO, *, rows: int = 10, title: str = "",
                ylabel: str | None = "digit asked for") -> None:
    """Images (rows * columns, C, H, W) in [0, 1], C 1 (gray) or 3 (colour), as one grid; with `ylabel`,
    row k is labelled k (for a conditional generator, the digit asked for)."""
    count, channels, height, width = samples.shape
    columns = count // rows
    tiles = samples[:rows * columns].clamp(0, 1).reshape(rows, columns, channels, height, width)
    padded = torch.nn.functional.pad(tiles, (1, 1, 1, 1), value=0.35)  # a gray frame around each image
    grid = padded.permute(0, 3, 1, 4, 2).reshape(rows * (height + 2), columns * (width + 2), channels)
    figure, axis = plt.subplots(figsize=(0.55 * columns + 0.6, 0.55 * rows + 0.5))
    axis.imshow(grid[..., 0].numpy() if channels == 1 else grid.numpy(), cmap="gray", vmin=0, vmax=1,
                interpolation="nearest")
    axis.set_xticks([])
    if ylabel:
        axis.set_yticks([(height + 2) * (row + 0.5) for row in range(rows)])
        axis.set_yticklabels([str(row) for row in range(rows)])
        axis.set_ylabel(ylabel)
    else:
        axis.set_yticks([])
    if title:
        axis.set_title(title, fontsize=10)
    _save(figure, path)


RECOGNISED = {"judge_accuracy": "samples recognised as their digit"}


GAN_STEPS = (({"loss_d": "discriminator", "loss_g": "generator"}, "loss"),
             ({"d_real": "D(x) on real", "d_fake": "D(G(z)) on generated"}, "mean D"))


def gan_curves(steps: dict[str, list[float]], history: list[dict], path: Path | BinaryIO, *, title: str,
               per_epoch: dict[str, str] | None = None,
               per_step: tuple[tuple[dict[str, str], str], ...] = GAN_STEPS) -> None:
    """Panels: one per entry of `per_step` ((statistic -> line name, axis label); default: the
    discriminator and generator losses, then D(x) and D(G(z)), on 0-1), raw and smoothed per step;
    then one panel per entry of `per_epoch` (key in each history record -> label; default: the share
    of samples a classifier recognised as their digit), over epochs, where measured."""
    per_epoch = RECOGNISED if per_epoch is None else per_epoch
    panels = len(per_step) + len(per_epoch)
    figure, axes = plt.subplots(1, panels, figsize=(4.7 * panels, 3.6), squeeze=False)
    axes = axes[0]
    x = range(1, len(steps.get(next(iter(per_step[0][0])), [])) + 1)
    for axis, (keys, label) in zip(axes, per_step):
        for key, name in keys.items():
            values = steps.get(key, [])
            axis.plot(x, values, alpha=0.25, linewidth=0.8)
            window = max(1, len(values) // 50)
            smooth = [sum(values[max(0, i - window + 1):i + 1]) / len(values[max(0, i - window + 1):i + 1])
                      for i in range(len(values))]
            axis.plot(x, smooth, label=name, color=axis.lines[-1].get_color())
        axis.set_xlabel("step")
        axis.set_ylabel(label)
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
        if "d_real" in keys:
            axis.set_ylim(0, 1)
    for axis, (key, label) in zip(axes[len(per_step):], per_epoch.items()):
        measured = [record for record in history if record.get(key) is not None]
        axis.plot([r["epoch"] + 1 for r in measured], [r[key] for r in measured], marker="o")
        if key == "judge_accuracy":
            axis.set_ylim(0, 1)
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    _save(figure, path)
