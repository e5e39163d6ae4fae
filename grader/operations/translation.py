"""Trusted pix2pix operations, run in the worker on a student's objects; they return evidence.

- `loop_settings`: how pix2pix is trained by the grader's GAN loop (`grader.operations.gan_loop`,
  `LOOP`): pair order, Adam, seed, model sizes; the student's `train_step` does each step on the
  student's `UNetGenerator` and `PatchDiscriminator`. Training pairs come in as uint8 tensors;
  held-out inputs come in, G's outputs for them go back, and their targets never enter the
  worker: the trusted side scores the outputs (`grader.practices.pix2pix.metrics`).
- `train_step_probe`, `translate_probe`: one call of the student's `train_step` on two small
  grader-made models (`TinyTranslator`, `TinyPatchCritic`, deterministic; or `SmallUNet`,
  `SmallPatchCritic`, with batch norm and dropout, so train mode, eval mode and every extra pass
  show) with the watched SGD optimizers shared by the GAN practices
  (`grader.operations.conditional_gan.watched_step`); the trusted side repeats the step correctly and compares.
  Likewise the student's `translate`, on a generator handed over in train mode.
- `skip_probe`, `dropout_blocks_probe`, `patch_gradient`: what the student's U-Net does when its
  innermost block is silenced, which decoder blocks draw random numbers, and which input pixels
  one of the student's patch logits depends on.

Everything returned is data; the trusted side judges it.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.sandbox.ops import operation
from grader.operations.conditional_gan import run_order, state_of, watched_step
from grader.operations.gan_loop import as_stats

STATS = ("loss_d", "loss_g", "loss_g_gan", "loss_g_l1")


# --- small grader-made models with the practice's interface, for train_step ---------------------

class TinyTranslator(nn.Module):
    """G(x) -> (B, 3, H, W) in (-1, 1): one 3x3 convolution and a tanh; no batch norm. With
    `dropout` > 0, dropout on the input, so evaluation mode is visible in the output."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(self.dropout(x)))


class TinyPatchCritic(nn.Module):
    """D(x, y) -> (B, 1, H/2, W/2) logits: Conv2d(6, 4, 4, 2, 1), tanh, Conv2d(4, 1, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Conv2d(6, 4, 4, 2, 1)
        self.out = nn.Conv2d(4, 1, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.hidden(torch.cat([x, y], dim=1))))


def tiny_models(seed: int) -> tuple[TinyTranslator, TinyPatchCritic]:
    torch.manual_seed(seed)
    return TinyTranslator(), TinyPatchCritic()


class SmallUNet(nn.Module):
    """G(x): (B, 3, H, W) -> (B, 3, H, W) in (-1, 1), H and W divisible by 4: a two-level U-Net of
    the practice's blocks, with batch norm and dropout, so train and eval mode give other outputs:
      Conv2d(3, 8, 4, 2, 1)                                                    (B, 8, H/2, W/2)
      LeakyReLU(0.2) - Conv2d(8, 16, 4, 2, 1, bias=False) - BatchNorm2d(16)    (B, 16, H/4, W/4)
      ReLU - ConvTranspose2d(16, 8, 4, 2, 1, bias=False) - BatchNorm2d(8) - Dropout(0.5),
      joined with the first encoder output                                      (B, 16, H/2, W/2)
      ReLU - ConvTranspose2d(16, 3, 4, 2, 1) - tanh                             (B, 3, H, W)
    """

    def __init__(self) -> None:
        super().__init__()
        self.down1 = nn.Conv2d(3, 8, 4, 2, 1)
        self.down2 = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(8, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16))
        self.up1 = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(16, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8),
                                 nn.Dropout(0.5))
        self.up2 = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(16, 3, 4, 2, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.down1(x)  # (B, 8, H/2, W/2)
        return self.up2(torch.cat([skip, self.up1(self.down2(skip))], dim=1))  # (B, 3, H, W)


class SmallPatchCritic(nn.Module):
    """D(x, y) -> (B, 1, H/2 - 2, W/2 - 2) logits, with batch norm: Conv2d(6, 8, 4, 2, 1), LeakyReLU(0.2),
    Conv2d(8, 16, 4, 1, 1, bias=False), BatchNorm2d(16), LeakyReLU(0.2), Conv2d(16, 1, 4, 1, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Conv2d(6, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 16, 4, 1, 1, bias=False),
                                   nn.BatchNorm2d(16), nn.LeakyReLU(0.2), nn.Conv2d(16, 1, 4, 1, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.model(torch.cat([x, y], dim=1))


def small_models(seed: int) -> tuple[SmallUNet, SmallPatchCritic]:
    """SmallUNet and SmallPatchCritic with running statistics unlike any batch's (eval mode shows)."""
    torch.manual_seed(seed)
    G, D = SmallUNet(), SmallPatchCritic()
    with torch.no_grad():
        for norm in (m for model in (G, D) for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            norm.running_mean.uniform_(-0.5, 0.5)
            norm.running_var.uniform_(0.5, 2.0)
    return G, D


def _models(small: bool) -> tuple[nn.Module, nn.Module]:
    return (SmallUNet(), SmallPatchCritic()) if small else (TinyTranslator(), TinyPatchCritic())


@operation
def train_step_probe(train_step: Callable, generator_state: dict[str, torch.Tensor],
                     discriminator_state: dict[str, torch.Tensor], inputs: torch.Tensor, targets: torch.Tensor, *,
                     lr: float = 0.05, stale_gradient: float | None = None, small: bool = False, seed: int = 0,
                     progress: Callable) -> dict[str, Any]:
    """Call `train_step(G, D, opt_g, opt_d, inputs, targets)` once on a TinyTranslator and a
    TinyPatchCritic (with `small`: a SmallUNet and a SmallPatchCritic, batch norm and dropout) with
    the given states, both handed over in eval mode, with watched SGD(lr); torch's generator is
    seeded with `seed` just before, so G's dropout draws what the trusted side's one pass draws.

    With `stale_gradient`, every parameter's .grad starts at that value. Returns what train_step
    returned, the optimizer events in order (each step with both models' parameters, gradients and
    modes just before it) and the final state.
    """
    def step(*models_and_optimizers):
        torch.manual_seed(seed)
        return train_step(*models_and_optimizers, inputs, targets)

    return watched_step(*_models(small), generator_state, discriminator_state, step, lr=lr,
                        stale_gradient=stale_gradient)


def reference_train_step(generator_state: dict, discriminator_state: dict, inputs: torch.Tensor,
                         targets: torch.Tensor, *, lr: float = 0.05, lambda_l1: float = 100.0, small: bool = False,
                         seed: int = 0) -> dict[str, Any]:
    """The trusted side of `train_step_probe`: the correct step on the same models, in train mode,
    G run once (after torch.manual_seed(seed), as the probe seeds), D three times.

    Returns the discriminator's gradient and state after its step, the generator's gradient
    (against the updated D) and state after its step, D's state at the end ("d_final": its
    running statistics moved by the generator step's pass too), and the four statistics.
    """
    G, D = _models(small)
    G.load_state_dict(generator_state)
    D.load_state_dict(discriminator_state)
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=lr), torch.optim.SGD(D.parameters(), lr=lr)
    torch.manual_seed(seed)
    fake = G(inputs)
    real_logits, fake_logits = D(inputs, targets), D(inputs, fake.detach())
    loss_d = 0.5 * (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                    + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    opt_d.zero_grad()
    loss_d.backward()
    d_grads = {n: p.grad.detach().clone() for n, p in D.named_parameters()}
    opt_d.step()
    d_after = state_of(D)
    opt_g.zero_grad()
    logits = D(inputs, fake)
    gan = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    l1 = (fake - targets).abs().mean()
    loss_g = gan + lambda_l1 * l1
    loss_g.backward()
    g_grads = {n: p.grad.detach().clone() for n, p in G.named_parameters()}
    opt_g.step()
    return {"d_grads": d_grads, "d_after": d_after, "g_grads": g_grads, "g_after": state_of(G), "d_final": state_of(D),
            "stats": {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "loss_g_gan": gan.item(),
                      "loss_g_l1": l1.item()}}


@operation
def translate_probe(translate: Callable, generator_state: dict[str, torch.Tensor], inputs: torch.Tensor, *,
                    dropout: float = 0.5, small: bool = False, progress: Callable) -> dict[str, Any]:
    """Call the student's `translate(G, inputs)` twice on a TinyTranslator with dropout (with `small`:
    a SmallUNet, batch norm and dropout), handed over in train mode: what it returned, whether it
    carries a graph, G's mode after, G's state after (batch norm's running statistics must not
    move) and G's eval output."""
    G = SmallUNet() if small else TinyTranslator(dropout=dropout)
    G.load_state_dict(generator_state)
    G.train()
    first = translate(G, inputs)
    training_after = G.training
    second = translate(G, inputs)
    state_after = state_of(G)
    G.eval()
    with torch.no_grad():
        expected = G(inputs)
    return {"first": first, "second": second, "training_after": training_after, "state_after": state_after,
            "has_graph": isinstance(first, torch.Tensor) and first.requires_grad, "expected": expected}


@operation
def loss_gradient(loss_fn: Callable, args: list[torch.Tensor], *, progress: Callable) -> dict[str, Any]:
    """loss_fn(*args) (its first element when it returns a tuple) and its gradients with respect to
    the first two arguments (the logits and the generated images)."""
    leaves = [a.detach().clone().requires_grad_(i < 2) for i, a in enumerate(args)]
    loss = loss_fn(*leaves)
    loss = loss[0] if isinstance(loss, (tuple, list)) and loss else loss
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1 or not loss.requires_grad:
        return {"loss": loss, "grads": None}
    grads = torch.autograd.grad(loss.reshape(()), leaves[:2], allow_unused=True)
    return {"loss": loss, "grads": list(grads)}


# --- the student's U-Net and PatchGAN, observed --------------------------------------------------

def convolutions_in_run_order(model: nn.Module, args: list[Any]) -> list[nn.Module]:
    """Modules with a 4-d weight (convolutions of any kind), in the order an eval-mode pass calls them."""
    return [m for m in run_order(model, args)
            if isinstance(getattr(m, "weight", None), torch.Tensor) and m.weight.dim() == 4]


@operation
def skip_probe(model: nn.Module, x: torch.Tensor, row: int, column: int, *, silence: int,
               progress: Callable) -> dict[str, Any]:
    """With convolution number `silence` (run order) zeroed, eval-mode outputs for x and for x with
    pixel (row, column) changed in every channel; returns both and how many convolutions ran."""
    convolutions = convolutions_in_run_order(model, [x])
    if silence < len(convolutions):
        with torch.no_grad():
            for parameter in convolutions[silence].parameters(recurse=False):
                parameter.zero_()
    changed = x.clone()
    changed[:, :, row, column] = -changed[:, :, row, column] + 0.5
    model.eval()
    with torch.no_grad():
        return {"convolutions": len(convolutions), "output": model(x), "changed": model(changed)}


@operation
def dropout_blocks_probe(model: nn.Module, x: torch.Tensor, *, seed: int = 0, progress: Callable) -> dict[str, Any]:
    """Which stretches between the student's convolutions are random in train mode.

    Three train-mode passes; in the second and third, each convolution's input is first recorded,
    then replaced by the first pass's input to that convolution, so a difference at convolution k
    comes only from what runs between convolution k - 1 and k. For each convolution (run order):
    the share of input values that differ between the first two passes, and a dropout rate: in the
    channels where the third pass differs from the first, the share of the first pass's non-zero
    values that the second pass zeroed (choosing the channels with another pass keeps the rate
    unbiased). Also whether two eval-mode passes agree. Seeded, so a result never flickers.

    What kind of dropout, and where: "skip_differ", the share of values that differ between the
    first two passes in the first half of the input's channels (in a decoder convolution's input,
    the encoder's skip features, which nothing random may touch); "maps" and "whole_maps", how many
    (image, channel) maps of the input with at least 4 non-zero values in the first pass lost some
    of them in the second, and how many lost all of them (element-wise dropout 0.5 loses all 4 of 4
    with probability 1/16; Dropout2d drops whole channels, always all).
    """
    torch.manual_seed(seed)
    convolutions = convolutions_in_run_order(model, [x])
    passes: list[dict[int, torch.Tensor]] = [{}, {}, {}]

    def hook_for(index: int, number: int):
        def hook(module, inputs):
            passes[number][index] = inputs[0].detach().clone()
            return None if number == 0 else (passes[0][index],) + tuple(inputs[1:])
        return hook

    model.train()
    with torch.no_grad():
        for number in range(3):
            hooks = [m.register_forward_pre_hook(hook_for(i, number)) for i, m in enumerate(convolutions)]
            try:
                model(x)
            finally:
                for hook in hooks:
                    hook.remove()
        model.eval()
        same_in_eval = bool(torch.equal(model(x), model(x)))
    differ, rates, skip_differ, maps, whole_maps = [], [], [], [], []
    for index in range(len(convolutions)):
        a, b, c = (found.get(index) for found in passes)
        if a is None or b is None or c is None or a.shape != b.shape or a.shape != c.shape or a.dim() != 4:
            for values in (differ, rates, skip_differ, maps, whole_maps):
                values.append(None)
            continue
        differ.append((a != b).float().mean().item())
        skip_differ.append((a != b)[:, :a.shape[1] // 2].float().mean().item())
        channels = (a != c).any(0, keepdim=True).any(-1, keepdim=True).any(-2, keepdim=True)  # (1, C, 1, 1)
        base = (a != 0) & channels  # (B, C, H, W)
        dropped = base & (b == 0)
        rates.append((dropped.sum() / base.sum().clamp_min(1)).item())
        kept, lost = base.sum((-2, -1)), dropped.sum((-2, -1))  # (B, C) each
        hit = (kept >= 4) & (lost > 0)
        maps.append(int(hit.sum()))
        whole_maps.append(int((hit & (lost == kept)).sum()))
    return {"differ": differ, "rates": rates, "skip_differ": skip_differ, "maps": maps, "whole_maps": whole_maps,
            "eval_same": same_in_eval, "convolutions": len(convolutions)}


@operation
def patch_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, row: int, column: int, *,
                   progress: Callable) -> dict[str, Any]:
    """D(x, y) in eval mode; the gradient of logit (0, 0, row, column) with respect to x and to y."""
    model.eval()
    x, y = x.detach().clone().requires_grad_(True), y.detach().clone().requires_grad_(True)
    logits = model(x, y)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 4 or row >= logits.shape[2] or \
            column >= logits.shape[3] or not logits.requires_grad:
        return {"shape": tuple(logits.shape) if isinstance(logits, torch.Tensor) else None, "x": None, "y": None}
    grad_x, grad_y = torch.autograd.grad(logits[0, 0, row, column], [x, y], allow_unused=True)
    return {"shape": tuple(logits.shape), "x": grad_x, "y": grad_y}


# --- the training loop ----------------------------------------------------------------------------

LOOP = "grader.operations.gan_loop:train_gan"


def loop_settings(generator: dict[str, int], discriminator: dict[str, int], *, lr: float,
                  beta1: float = 0.5) -> dict[str, Any]:
    """The keyword arguments of the shared GAN loop (`grader.operations.gan_loop.train_gan`) for
    pix2pix, besides the run's length, seed and device: paired images in [-1, 1], the four
    statistics of pix2pix's train_step, Adam(lr, betas=(beta1, 0.999)) for both models as in the
    paper, no decay, held-out outputs 16 at a time. Call it as
    `train_gan(UNetGenerator, PatchDiscriminator, train_step, train_inputs, held_out_inputs,
    train_targets=train_targets, **loop_settings(...), ...)`."""
    return {"stats": STATS, "generator_kwargs": generator, "discriminator_kwargs": discriminator,
            "pixel_range": (-1.0, 1.0), "lr": lr, "lr_d": lr, "beta1": beta1, "decay": False, "sample_chunk": 16,
            "report_every": 10}
