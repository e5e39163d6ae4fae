"""Random shifts of a batch of images, the augmentation of the classifier loops (the grader's
training loop in the worker, `grader.operations.classifier_loop`, and the digit judge's own
training, `grader.judging.digit_judge`)."""

from __future__ import annotations

import torch


def shift(images: torch.Tensor, pixels: int, generator: torch.Generator) -> torch.Tensor:
    """Each image (B, C, H, W) moved by its own random offset of up to `pixels` in x and y.

    Uncovered borders take the image's minimum (the background after normalisation).
    """
    batch, _, height, width = images.shape
    offsets = torch.randint(-pixels, pixels + 1, (batch, 2), generator=generator).to(images.device)
    padded = torch.nn.functional.pad(images, (pixels,) * 4, value=images.min().item())  # (B, C, H+2p, W+2p)
    rows = torch.arange(height, device=images.device).view(1, height, 1) + pixels - offsets[:, 0].view(-1, 1, 1)
    columns = torch.arange(width, device=images.device).view(1, 1, width) + pixels - offsets[:, 1].view(-1, 1, 1)
    index = torch.arange(batch, device=images.device).view(-1, 1, 1)
    return padded.permute(0, 2, 3, 1)[index, rows, columns].permute(0, 3, 1, 2)  # (B, C, H, W)
