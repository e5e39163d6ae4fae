"""How close translated images are to their targets, and the baselines a translation must beat.

Trusted side only: the held-out targets are compared here and never enter the worker.

    L1    mean |output - target| over pixels and channels, images in [-1, 1] (the training loss's
          scale: 0 is perfect, 2 the worst)
    PSNR  10 log10(1 / MSE) in dB, with images in [0, 1] (higher is better)

Baselines, each an "output" made without learning a translation:
    identity   the input itself
    mean       the mean training target, the same image for every input
    blurred    the input blurred with a Gaussian (sigma 2 pixels)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

BLUR_SIGMA = 2.0


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float32 in [-1, 1]."""
    return images.float() / 127.5 - 1


def l1(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean absolute error, both (N, 3, H, W) in [-1, 1]."""
    return (outputs.float() - targets.float()).abs().mean().item()


def psnr(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of (N, 3, H, W) images in [-1, 1], measured in [0, 1]."""
    mse = ((outputs.float().clamp(-1, 1) - targets.float()) / 2).pow(2).mean().item()
    return 10 * math.log10(1 / max(mse, 1e-10))


def blur(images: torch.Tensor, sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """A Gaussian blur of (N, C, H, W) float images, edges replicated."""
    radius = math.ceil(3 * sigma)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    padded = F.pad(images.float(), (radius,) * 4, mode="replicate")
    rows = F.conv2d(padded, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)
    return F.conv2d(rows, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)


def baselines(train_targets: torch.Tensor, held_out_inputs: torch.Tensor) -> dict[str, torch.Tensor]:
    """{name: outputs (N, 3, H, W) in [-1, 1]} for the held-out inputs (uint8), per baseline."""
    inputs = to_unit(held_out_inputs)
    mean = to_unit(train_targets).mean(0, keepdim=True)  # (1, 3, H, W)
    return {"identity": inputs, "mean": mean.expand_as(inputs).contiguous(), "blurred": blur(inputs)}


def scores(outputs: torch.Tensor, held_out_targets: torch.Tensor) -> dict[str, float]:
    """{"l1", "psnr"} of outputs in [-1, 1] against uint8 targets."""
    targets = to_unit(held_out_targets)
    return {"l1": l1(outputs, targets), "psnr": psnr(outputs, targets)}


def baseline_scores(train_targets: torch.Tensor, held_out_inputs: torch.Tensor,
                    held_out_targets: torch.Tensor) -> dict[str, dict[str, float]]:
    """{baseline: {"l1", "psnr"}} on the held-out pairs."""
    return {name: scores(outputs, held_out_targets)
            for name, outputs in baselines(train_targets, held_out_inputs).items()}
