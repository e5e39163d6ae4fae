"""Pictures of a training run, as PNG files: curves, a confusion matrix, misclassified digits.

Each function takes plain tensors and lists and writes one file atomically (temporary file, then
rename), so a run stopped halfway never leaves a half-written picture.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402


def _save(figure, path: Path) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=110, bbox_inches="tight")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    finally:
        plt.close(figure)


def curves(history: list[dict], path: Path, *, series: dict[str, str], title: str) -> None:
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


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, path: Path, *, classes: int = 10) -> torch.Tensor:
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


def misclassified(images: torch.Tensor, predicted: torch.Tensor, labels: torch.Tensor, path: Path,
                  *, limit: int = 36) -> int:
    """A grid of up to `limit` wrongly classified images (N, 1, H, W) uint8, titled 'true -> predicted'."""
    wrong = torch.nonzero(predicted != labels).flatten()[:limit]
    columns = 6
    rows = max(1, -(-len(wrong) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, 1.7 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, index in zip(axes.flat, wrong.tolist()):
        axis.imshow(images[index, 0].numpy(), cmap="gray")
        axis.set_title(f"{labels[index].item()} -> {predicted[index].item()}", fontsize=9)
    figure.suptitle(f"{int((predicted != labels).sum())} misclassified held-out digits (true -> predicted)")
    _save(figure, path)
    return len(wrong)
