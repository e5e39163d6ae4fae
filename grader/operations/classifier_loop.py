"""The classifier training loop, a trusted operation run in the worker with the student's code.

The grader owns the loop (data order, optimizer, seed, when to evaluate); the student's
`train_step` does each step on the student's model. Held-out images go in, held-out labels never
do: each evaluation sends back logits, and the trusted side scores them.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from grader.data import MNIST_MEAN, MNIST_STD, batches, shift
from grader.sandbox.ops import operation
from grader.operations.trained_state import trained_state


def _as_loss(value: Any) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"train_step returned {type(value).__name__}; it should return the batch's loss "
                        "as a float (loss.item())")
    return float(value)


def held_out_logits(model: torch.nn.Module, images: torch.Tensor, *, device: str, mean=MNIST_MEAN,
                    std=MNIST_STD, batch_size: int = 1000) -> torch.Tensor:
    """(N, classes) logits of uint8 images (N, C, H, W), in eval mode, without gradients."""
    model.eval()
    outputs = []
    with torch.no_grad():
        for chunk, _ in batches(images, torch.zeros(len(images), dtype=torch.int64), batch_size,
                                shuffle=False, device=device, mean=mean, std=std):
            outputs.append(model(chunk).float().cpu())
    return torch.cat(outputs)


@operation
def train_classifier(model_class: Callable[[], torch.nn.Module], train_step: Callable, train_images: torch.Tensor,
                     train_labels: torch.Tensor, eval_images: torch.Tensor, *, epochs: int = 1,
                     max_steps: int | None = None, batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                     device: str = "cpu", report_every: int = 25, send_weights: bool = False,
                     augment: int = 0, cosine: bool = False, send_logits: bool = True,
                     send_layers: list[torch.Tensor] | None = None,
                     progress: Callable[[Any], None]) -> dict[str, Any]:
    """Train a fresh `model_class()` with Adam(lr) and the student's `train_step`.

    Data: uint8 (N, C, H, W) images, normalised with MNIST's mean and std, shuffled by a
    generator seeded with `seed`; `max_steps` stops early. `augment` shifts each training image
    by up to that many pixels; `cosine` decays the learning rate to 0 over the epochs. Streams, through `progress`,
    {"step", "epoch", "loss"} every `report_every` steps and, after each epoch,
    {"epoch", "losses", "step_losses", "logits"} ("losses": the epoch's steps; "step_losses": every step
    so far; plus "state_dict" when `send_weights`). Returns the last of those epoch records.

    For a convergence check: `send_logits=False` computes no logits with the student's model, and
    `send_layers` (example inputs, made by the grader) adds "model_state", the trained layers in
    the order they run (`grader.operations.trained_state`), for the grader's own model to compute the
    held-out logits (`grader.judging.transplant`).
    """
    torch.manual_seed(seed)
    model = model_class().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loader = batches(train_images, train_labels, batch_size, generator=torch.Generator().manual_seed(seed),
                     device=device, mean=MNIST_MEAN, std=MNIST_STD)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * len(loader)) if cosine else None
    shifts = torch.Generator().manual_seed(seed + 1)
    step, record, step_losses = 0, {}, []
    for epoch in range(epochs):
        losses = []
        for images, labels in loader:
            if augment:
                images = shift(images, augment, shifts)
            loss = _as_loss(train_step(model, optimizer, images, labels))
            if schedule is not None:
                schedule.step()
            losses.append(loss)
            step_losses.append(loss)
            step += 1
            if step % report_every == 0:
                progress({"step": step, "epoch": epoch, "loss": loss})
            if not math.isfinite(loss) or (max_steps is not None and step >= max_steps):
                break
        record = {"epoch": epoch, "steps": step, "losses": losses, "step_losses": list(step_losses)}
        if send_logits:
            record["logits"] = held_out_logits(model, eval_images, device=device)
        if send_layers is not None:
            record["model_state"] = trained_state(model, [arg.to(device) for arg in send_layers])
        if send_weights:
            record["state_dict"] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        progress(record)
        if not math.isfinite(losses[-1]) or (max_steps is not None and step >= max_steps):
            break
    return record
