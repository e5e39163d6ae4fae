"""Trusted operations on an unconditional, convolutional GAN (dcgan), run in the worker; they
return evidence as data. They add to the GAN operations of `grader.operations.conditional_gan` (whose
`load_layers`, `forward`, `gradient_probe`, watched optimizers and snapshots work on any model
and any argument list) what a model without labels needs:

- `architecture_probe`: the model's layers through the module tree (every convolution's kernel,
  stride, padding and bias; pooling and linear modules) and through forward hooks (each
  parameterised layer's input and output shape, in the order they run), and the pooling or
  resizing functions the forward pass called, so a student's own composition of layers is
  judged by what it does.
- `init_probe`: the student's `weights_init` applied to grader-made layers; their statistics.
- `train_step_probe`: one call of the student's `train_step(G, D, opt_g, opt_d, real, z)` on
  two small grader-made models (`TinyImageGenerator`, `TinyImageDiscriminator`, with or without
  batch norm) with watched SGD optimizers; `reference_train_step` is the correct step on the
  trusted side. With batch norm, train mode shows in the gradients and every train-mode pass in
  the running statistics (G runs once per step, D three times: real, detached fake, fake).
- `sampling_probe`: the student's `sample` or `interpolate` on a small generator with batch
  norm (so its mode shows in its output), handed over in a chosen mode.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.sandbox.ops import forbidden_calls, operation
from grader.operations.conditional_gan import describe, run_order, state_of, watched_step
from grader.operations.gan_loop import CONVOLUTIONS

NZ, SIDE = 100, 8
RESIZING = ["torch.nn.functional.max_pool2d", "torch.nn.functional.avg_pool2d",
            "torch.nn.functional.adaptive_max_pool2d", "torch.nn.functional.adaptive_avg_pool2d",
            "torch.nn.functional.lp_pool2d", "torch.nn.functional.interpolate", "torch.nn.functional.upsample",
            "torch.nn.functional.pixel_shuffle", "torch.max_pool2d", "torch.avg_pool2d"]
POOLING = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d, nn.LPPool2d, nn.Upsample,
           nn.UpsamplingNearest2d, nn.UpsamplingBilinear2d, nn.PixelShuffle, nn.FractionalMaxPool2d)


# --- small grader-made models with the practice's interface ------------------------------------

class TinyImageGenerator(nn.Module):
    """G(z) -> (B, 1, 8, 8) in (-1, 1): Linear(nz, 64), optionally BatchNorm1d(64), tanh.
    With batch norm, train mode (batch statistics) and eval mode (running ones) give other images."""

    def __init__(self, nz: int = NZ, batch_norm: bool = False) -> None:
        super().__init__()
        self.out = nn.Linear(nz, SIDE * SIDE)
        self.norm = nn.BatchNorm1d(SIDE * SIDE) if batch_norm else nn.Identity()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.norm(self.out(z.flatten(1)))).view(-1, 1, SIDE, SIDE)


class TinyImageDiscriminator(nn.Module):
    """D(x) -> (B,) logits: Linear(64, 16), optionally BatchNorm1d(16), LeakyReLU(0.2), Linear(16, 1)."""

    def __init__(self, batch_norm: bool = False) -> None:
        super().__init__()
        self.hidden = nn.Linear(SIDE * SIDE, 16)
        self.norm = nn.BatchNorm1d(16) if batch_norm else nn.Identity()
        self.out = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.leaky_relu(self.norm(self.hidden(x.flatten(1))), 0.2)).view(-1)


def tiny_image_models(seed: int, *, batch_norm: bool = False,
                      discriminator_norm: bool = False) -> tuple[TinyImageGenerator, TinyImageDiscriminator]:
    """G with batch norm if `batch_norm`, D with batch norm if `discriminator_norm` too; running
    statistics unlike any batch's, so eval mode shows in the output."""
    torch.manual_seed(seed)
    G, D = TinyImageGenerator(batch_norm=batch_norm), TinyImageDiscriminator(batch_norm=discriminator_norm)
    with torch.no_grad():
        for norm in (m for model in (G, D) for m in model.modules() if isinstance(m, nn.BatchNorm1d)):
            norm.running_mean.uniform_(-0.5, 0.5)
            norm.running_var.uniform_(0.5, 2.0)
    return G, D


# --- architecture and initialisation ------------------------------------------------------------

def _conv(module: nn.Module) -> dict[str, Any]:
    return {"type": type(module).__name__, "in": module.in_channels, "out": module.out_channels,
            "kernel": tuple(module.kernel_size), "stride": tuple(module.stride), "padding": tuple(module.padding),
            "output_padding": tuple(getattr(module, "output_padding", (0, 0))), "bias": module.bias is not None}


@operation
def architecture_probe(model: nn.Module, args: list[Any], *, progress: Callable) -> dict[str, Any]:
    """What the model is made of and what its eval-mode forward does.

    Returns {"convolutions": [_conv] from the module tree, "pooling": [type names of pooling or
    upsampling modules], "linear": [(in, out, bias)], "batch_norm": [channels], "run": [{type,
    in_shape, out_shape, kernel, stride}] per parameterised layer in run order, "called":
    [pooling or resizing functions the forward pass called]}.
    """
    convolutions = [_conv(m) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    pooling = [type(m).__name__ for m in model.modules() if isinstance(m, POOLING)]
    linear = [(m.in_features, m.out_features, m.bias is not None) for m in model.modules() if isinstance(m, nn.Linear)]
    norms = [m.num_features for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    run: list[dict[str, Any]] = []

    def hook(module, inputs, output):
        entry = {"type": type(module).__name__,
                 "in_shape": tuple(inputs[0].shape) if inputs and isinstance(inputs[0], torch.Tensor) else None,
                 "out_shape": tuple(output.shape) if isinstance(output, torch.Tensor) else None}
        if isinstance(module, CONVOLUTIONS):
            entry.update(kernel=tuple(module.kernel_size), stride=tuple(module.stride))
        run.append(entry)

    hooks = [m.register_forward_hook(hook) for m in run_order(model, args)]
    was_training = model.training

    def forward_once() -> None:
        model.eval()
        with torch.no_grad():
            model(*args)

    try:
        called = forbidden_calls(forward_once, [], RESIZING, progress=progress)
    finally:
        for handle in hooks:
            handle.remove()
        model.train(was_training)
    return {"convolutions": convolutions, "pooling": pooling, "linear": linear, "batch_norm": norms, "run": run,
            "called": called}


@operation
def init_probe(weights_init: Callable, *, seed: int = 0, progress: Callable) -> dict[str, Any]:
    """The student's `weights_init` applied (with `.apply`) to grader-made layers: Conv2d(256, 512, 5),
    ConvTranspose2d(512, 256, 5), BatchNorm2d(512) and Linear(512, 256) (which it must leave alone),
    each with a bias set to 0.3 first. Returns each one's weight mean and std, bias mean and std, and
    whether its values changed."""
    torch.manual_seed(seed)
    layers = {"Conv2d(256, 512, 5)": nn.Conv2d(256, 512, 5),
              "ConvTranspose2d(512, 256, 5)": nn.ConvTranspose2d(512, 256, 5),
              "BatchNorm2d(512)": nn.BatchNorm2d(512), "Linear(512, 256)": nn.Linear(512, 256)}
    with torch.no_grad():
        for layer in layers.values():
            layer.bias.fill_(0.3)
            if isinstance(layer, nn.BatchNorm2d):
                layer.weight.fill_(0.7)
    before = {name: state_of(layer) for name, layer in layers.items()}
    nn.Sequential(*layers.values()).apply(weights_init)
    out = {}
    for name, layer in layers.items():
        weight, bias = layer.weight.detach().double(), layer.bias.detach().double()
        out[name] = {"weight_mean": weight.mean().item(), "weight_std": weight.std().item(),
                     "bias_mean": bias.mean().item(), "bias_std": bias.std().item(),
                     "weight_changed": not torch.equal(before[name]["weight"], layer.weight.detach()),
                     "bias_changed": not torch.equal(before[name]["bias"], layer.bias.detach())}
    return out


# --- train_step, watched ------------------------------------------------------------------------

@operation
def train_step_probe(train_step: Callable, generator_state: dict[str, torch.Tensor],
                     discriminator_state: dict[str, torch.Tensor], real: torch.Tensor, z: torch.Tensor, *,
                     lr: float = 0.5, stale_gradient: float | None = None, batch_norm: bool = False,
                     progress: Callable) -> dict[str, Any]:
    """Call `train_step(G, D, opt_g, opt_d, real, z)` once on TinyImageGenerator and
    TinyImageDiscriminator (both with batch norm if `batch_norm`) with the given states, both
    handed over in eval mode, with watched SGD(lr); as `grader.operations.conditional_gan.train_step_probe`
    does for a conditional GAN."""
    return watched_step(TinyImageGenerator(batch_norm=batch_norm), TinyImageDiscriminator(batch_norm=batch_norm),
                        generator_state, discriminator_state,
                        lambda *models_and_optimizers: train_step(*models_and_optimizers, real, z),
                        lr=lr, stale_gradient=stale_gradient)


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def reference_train_step(generator_state: dict, discriminator_state: dict, real: torch.Tensor, z: torch.Tensor, *,
                         lr: float = 0.5, batch_norm: bool = False) -> dict[str, Any]:
    """The trusted side of `train_step_probe`: the correct step on the same tiny models, with the
    gradients and parameters (and buffers) after each update, the statistics, and two wrong
    variants' numbers (D's mean output on the fake after its update; G's gradient against the D
    before it), each from a copy, so the models see only the correct step's passes."""
    G, D = TinyImageGenerator(batch_norm=batch_norm), TinyImageDiscriminator(batch_norm=batch_norm)
    G.load_state_dict(generator_state)
    D.load_state_dict(discriminator_state)
    G.train()
    D.train()
    stale_d = copy.deepcopy(D)
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=lr), torch.optim.SGD(D.parameters(), lr=lr)
    fake = G(z)
    real_logits, fake_logits = D(real), D(fake.detach())
    loss_d = _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)
    opt_d.zero_grad()
    loss_d.backward()
    d_grads = {n: p.grad.detach().clone() for n, p in D.named_parameters()}
    opt_d.step()
    d_after = state_of(D)
    with torch.no_grad():
        d_fake_after = torch.sigmoid(copy.deepcopy(D)(fake)).mean().item()
    g_before = torch.autograd.grad(_bce(stale_d(fake), 1.0), list(G.parameters()), retain_graph=True)
    opt_g.zero_grad()
    loss_g = _bce(D(fake), 1.0)
    loss_g.backward()
    g_grads = {n: p.grad.detach().clone() for n, p in G.named_parameters()}
    opt_g.step()
    return {"d_grads": d_grads, "d_after": d_after, "g_grads": g_grads, "g_after": state_of(G),
            "d_after_step": state_of(D),
            "stats": {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
                      "d_real": torch.sigmoid(real_logits).mean().item(),
                      "d_fake": torch.sigmoid(fake_logits).mean().item()},
            "d_fake_after_d_step": d_fake_after,
            "g_grads_before_d_step": {n: g.detach().clone() for (n, _), g in zip(G.named_parameters(), g_before)}}


# --- sample and interpolate ---------------------------------------------------------------------

@operation
def sampling_probe(fn: Callable, generator_state: dict[str, torch.Tensor], args: list[Any], *, train: bool,
                   progress: Callable) -> dict[str, Any]:
    """Call the student's `fn(G, *args)` (sample or interpolate) twice on a TinyImageGenerator with
    batch norm, handed over in train mode (`train`) or eval mode: what it returned, whether that
    carries a graph, and G's mode after each call."""
    G = TinyImageGenerator(batch_norm=True)
    G.load_state_dict(generator_state)
    G.train(train)
    first = fn(G, *args)
    first_mode = G.training
    second = fn(G, *args)
    return {"first": first, "second": second, "modes_after": [first_mode, G.training],
            "has_graph": isinstance(first, torch.Tensor) and first.requires_grad,
            "state_after": state_of(G)}

