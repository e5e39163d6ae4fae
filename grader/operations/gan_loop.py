"""The grader's GAN training loop, run in the worker on a student's models; it returns evidence.

One loop for every GAN: the grader decides the data order, the optimizers, the noise and the
seed, and sends its settings as data (`train_gan`'s keyword arguments); the student's
`train_step` does each step on the student's generator and discriminator. Three kinds of data:

- unconditional: `train_step(G, D, opt_g, opt_d, real, z)`;
- conditional (`train_labels`, `sample_labels`): `train_step(G, D, opt_g, opt_d, images, labels, z)`;
- paired (`train_targets`, the image each training image is translated into):
  `train_step(G, D, opt_g, opt_d, inputs, targets)`, no noise; its samples are G's outputs for
  held-out inputs.

Samples come back as tensors; the trusted side judges them, and its judges and any held-out
targets never enter the worker.

The images arrive from the trusted side as uint8 (N, C, H, W), already padded to the size the
models expect; here they are scaled to [0, 1] (`pixel_range=(0, 1)`) or [-1, 1] (`(-1, 1)`).
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import torch
import torch.nn as nn

from grader.data import batches
from grader.sandbox.ops import operation
from grader.operations.models import CONVOLUTIONS
from grader.operations.trained_state import trained_state

STATS = ("loss_d", "loss_g", "d_real", "d_fake")


def normal_init(std: float) -> Callable[[nn.Module], None]:
    """The grader's own initialisation, to `.apply` to a model (so that a convergence check does not
    depend on the student's `weights_init`): convolution weights N(0, std), batch norm weights
    N(1, std) and biases 0; other modules keep their defaults."""
    def init(module: nn.Module) -> None:
        if isinstance(module, CONVOLUTIONS):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(module.weight, mean=1.0, std=std)
            nn.init.zeros_(module.bias)
    return init


def as_stats(value: Any, keys: tuple[str, ...] = STATS) -> dict[str, float]:
    """train_step's dict of numbers named `keys` as floats; a TypeError that speaks to the student otherwise."""
    if not isinstance(value, dict) or not all(k in value for k in keys):
        raise TypeError(f"train_step returned {type(value).__name__}"
                        f"{' with keys ' + repr(sorted(map(str, value))) if isinstance(value, dict) else ''}; "
                        f"it should return a dict with the floats {', '.join(keys)}")
    stats = {}
    for key in keys:
        number = value[key]
        if isinstance(number, torch.Tensor) and number.numel() == 1:
            number = number.item()
        if not isinstance(number, (int, float)) or isinstance(number, bool):
            raise TypeError(f"train_step returned {key}={type(number).__name__}; it should be a float (.item())")
        stats[key] = float(number)
    return stats


def samples_of(G: nn.Module, noise: torch.Tensor, labels: torch.Tensor | None, device: str,
               chunk: int = 500) -> torch.Tensor:
    """G's images for `noise` (and `labels`, for a conditional G), in eval mode, on the CPU, in chunks
    of `chunk`; G back in train mode."""
    G.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(noise), chunk):
            args = [noise[start:start + chunk].to(device)]
            if labels is not None:
                args.append(labels[start:start + chunk].to(device))
            out.append(G(*args).float().cpu())
    G.train()
    return torch.cat(out)


@operation
def train_gan(generator_class: Callable[..., nn.Module], discriminator_class: Callable[..., nn.Module],
              train_step: Callable, train_images: torch.Tensor, sample_noise: torch.Tensor, *,
              train_labels: torch.Tensor | None = None, sample_labels: torch.Tensor | None = None,
              train_targets: torch.Tensor | None = None, stats: tuple[str, ...] = STATS,
              send_initial: bool = False, sample_chunk: int = 500, generator_kwargs: dict | None = None,
              discriminator_kwargs: dict | None = None, init_std: float | None = None, nz: int = 100,
              pixel_range: tuple[float, float] = (0.0, 1.0),
              epochs: int = 1, max_steps: int | None = None, batch_size: int = 32, lr: float = 2e-3,
              lr_d: float | None = None, beta1: float = 0.0, decay: bool = True, seed: int = 0, device: str = "cpu",
              report_every: int = 25, every_epoch: bool = True, send_weights: bool = False,
              send_samples: bool = True, send_layers: list[torch.Tensor] | None = None,
              progress: Callable[[Any], None]) -> dict[str, Any]:
    """Train a fresh `generator_class(**generator_kwargs)` and `discriminator_class(**discriminator_kwargs)`
    with the student's `train_step`.

    With `init_std`, the grader's initialisation (`normal_init(init_std)`) is applied to both models
    first. Adam(betas=(beta1, 0.999)) for each, the generator's at `lr`, the discriminator's at
    `lr_d` (default 2 * lr); with `decay`, both fall linearly to 0 over the run (epochs, or
    max_steps if fewer). Real images are uint8 (N, C, H, W) scaled to `pixel_range`, shuffled by a
    generator seeded with `seed`, in full batches; noise z ~ N(0, 1) of size `nz` from torch's
    generator seeded with `seed`. `max_steps` stops early, and so does a statistic that is not
    finite. Streams, through
    `progress`, {"step", "epoch", the `stats` train_step returns (loss_d, loss_g, d_real, d_fake)}
    every `report_every` steps and, after each epoch (only the last one unless `every_epoch`),
    {"epoch", "steps", "seconds", "stats": {name: [one value per step]}, "samples": G's eval-mode
    images for `sample_noise` (and `sample_labels`), `sample_chunk` at a time} (plus "generator" and
    "discriminator" state_dicts when `send_weights`, and "initial_samples", the samples before the
    first step, when `send_initial`: they draw no random numbers, so the run is the same either way).
    Returns the last epoch record.

    For a convergence check: `send_samples=False` draws nothing with the student's generator, and
    `send_layers` (example inputs of G, made by the grader) adds "generator_state", the trained G's
    layers in the order they run on those inputs (`grader.operations.trained_state`; and, with
    `send_initial`, "initial_generator_state" before the first step), which the grader loads into
    its own model of the architecture to draw the samples (`grader.judging.transplant`).

    Paired (`train_targets`, uint8 like `train_images`, scaled the same way): each batch of images
    comes with its targets, no noise is drawn, and `sample_noise` holds uint8 held-out inputs
    (N, C, H, W), scaled like the training images before G sees them.
    """
    conditional, paired = train_labels is not None, train_targets is not None
    torch.manual_seed(seed)
    G = generator_class(**(generator_kwargs or {})).to(device)
    D = discriminator_class(**(discriminator_kwargs or {})).to(device)
    if init_std is not None:
        G.apply(normal_init(init_std))
        D.apply(normal_init(init_std))
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(beta1, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d if lr_d is not None else 2 * lr, betas=(beta1, 0.999))
    low, high = pixel_range  # x in [0, 1] -> (x - mean) / std in [low, high]
    mean, std = -low / (high - low), 1 / (high - low)
    if paired:  # the batches' labels are the images' indices, to look their targets up
        labels_or_index = torch.arange(len(train_images))
        targets = train_targets.to(device).float().div_(255).sub_(mean).div_(std)  # (N, C, H, W)
        sample_noise = sample_noise.float().div(255).sub_(mean).div_(std)  # (M, C, H, W), on the CPU
    else:
        labels_or_index = train_labels if conditional else torch.zeros(len(train_images), dtype=torch.int64)
    loader = batches(train_images, labels_or_index, batch_size, generator=torch.Generator().manual_seed(seed),
                     device=device, drop_last=True, mean=mean, std=std)
    examples = [arg.to(device) for arg in send_layers] if send_layers is not None else None

    def evidence(prefix: str) -> dict[str, Any]:
        found = {}
        if send_samples:
            found[f"{prefix}samples"] = samples_of(G, sample_noise, sample_labels, device, sample_chunk)
        if examples is not None:
            found[f"{prefix}generator_state"] = trained_state(G, examples)
        return found

    initial = evidence("initial_") if send_initial else {}
    total = min(epochs * len(loader), max_steps or epochs * len(loader))
    schedules = [torch.optim.lr_scheduler.LambdaLR(o, lambda k: max(0.0, 1 - k / total)) for o in (opt_g, opt_d)]
    step, record, started = 0, {}, time.perf_counter()
    for epoch in range(epochs):
        history: dict[str, list[float]] = {key: [] for key in stats}
        finished = False
        for images, labels in loader:
            if paired:
                returned = train_step(G, D, opt_g, opt_d, images, targets[labels])
            else:
                z = torch.randn(len(labels), nz, device=device)
                returned = train_step(G, D, opt_g, opt_d, images, labels, z) if conditional else \
                    train_step(G, D, opt_g, opt_d, images, z)
            numbers = as_stats(returned, stats)
            if decay:
                for schedule in schedules:
                    schedule.step()
            for key in stats:
                history[key].append(numbers[key])
            step += 1
            if step % report_every == 0:
                progress({"step": step, "epoch": epoch, **numbers})
            if not all(math.isfinite(v) for v in numbers.values()) or (max_steps is not None and step >= max_steps):
                finished = True
                break
        last = finished or epoch == epochs - 1
        if every_epoch or last:
            record = {"epoch": epoch, "steps": step, "seconds": time.perf_counter() - started, "stats": history,
                      **evidence(""), **initial}
            if send_weights:
                record["generator"] = {k: v.detach().cpu() for k, v in G.state_dict().items()}
                record["discriminator"] = {k: v.detach().cpu() for k, v in D.state_dict().items()}
            progress(record)
        if last:
            break
    return record
