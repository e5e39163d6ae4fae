"""Trusted GAN operations, run in the worker on a student's cgan objects; they return evidence.

- `train_cgan`: the grader's training loop (data order, Adam, noise, seed; the GAN practices'
  shared loop, `grader.operations.gan_loop`); the student's `train_step` does each step on the
  student's `Generator` and `Discriminator`. Samples for
  chosen digits come back as tensors; the trusted side judges them with its own classifier
  (`grader.judging.digit_judge`), which never enters the worker.
- `train_step_probe`: one call of the student's `train_step` on two small grader-made models
  (`TinyGenerator`, `TinyDiscriminator`, deterministic, built from states the trusted side sent)
  with watched SGD optimizers (`watched_step`, which the unconditional probe in
  `grader.operations.conv_gan` uses too): what every parameter and gradient was at each
  optimizer step. The trusted side repeats the step correctly and compares.
- `load_layers`, `forward`, `dropout_probe`, `gradient_probe`: loading weights into a model's
  parameterised layers (matched by their shapes, so names, grouping and the order of a
  conditional model's two input paths are free; any argument list), forward passes, how many inputs dropout zeroes, which parameters
  get gradients.
- `maxout_probe`, `loss_gradient`, `sample_probe`: the student's Maxout with given weights,
  its output and gradients; a loss's gradient with respect to the discriminator's logit (for
  losses on probabilities or, without `squash`, on logits); the student's `sample` watched.

Everything returned is data; the trusted side judges it.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.sandbox.ops import operation
from grader.operations.gan_loop import STATS, train_gan  # noqa: F401 (STATS: the suites import it from here)
from grader.operations.trained_state import first_calls, has_own_parameters

NZ, CLASSES = 100, 10


# --- small grader-made models with the practice's interface, for train_step and sample --------

class TinyGenerator(nn.Module):
    """G(z, labels) -> (B, 1, 28, 28) in (0, 1): one linear layer on [z, one-hot], a sigmoid.
    With `dropout` > 0, dropout on that input, so evaluation mode is visible in the output."""

    def __init__(self, nz: int = NZ, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(nz + CLASSES, 28 * 28)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.dropout(torch.cat([z, F.one_hot(labels, CLASSES).float()], dim=1))  # (B, nz + 10)
        return torch.sigmoid(self.out(h)).view(-1, 1, 28, 28)


class TinyDiscriminator(nn.Module):
    """D(x, labels) -> (B, 1) in (0, 1): Linear(794, 16), tanh, Linear(16, 1), sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(28 * 28 + CLASSES, 16)
        self.out = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = torch.cat([x.flatten(1), F.one_hot(labels, CLASSES).float()], dim=1)  # (B, 794)
        return torch.sigmoid(self.out(torch.tanh(self.hidden(h))))


def tiny_models(seed: int, *, dropout: float = 0.0) -> tuple[TinyGenerator, TinyDiscriminator]:
    torch.manual_seed(seed)
    return TinyGenerator(dropout=dropout), TinyDiscriminator()


def state_of(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# --- layers of a conditional model, matched by shape -------------------------------------------

def run_order(model: nn.Module, args: list[Any]) -> list[nn.Module]:
    """Modules with their own parameters, in the order an eval-mode `model(*args)` first calls them."""
    return first_calls(model, args, has_own_parameters)


def signature(state: dict[str, Any]) -> tuple:
    """A layer's identity for matching: its state's names and shapes, sorted."""
    return tuple(sorted((name, tuple(value.shape) if hasattr(value, "shape") else tuple(value))
                        for name, value in state.items()))


def describe(module: nn.Module) -> dict[str, Any]:
    return {"type": type(module).__name__,
            "shapes": {name: tuple(t.shape) for name, t in module.state_dict().items()}}


@operation
def load_layers(model: nn.Module, args: list[Any], states: list[dict[str, torch.Tensor]], *,
                progress: Callable) -> list[dict[str, Any]]:
    """Load each state into the layer of the same signature; returns the layers found (run order).

    Loads nothing unless the layers' signatures are exactly those of the states (one each).
    """
    found = run_order(model, args)
    described = [describe(m) for m in found]
    wanted = sorted(signature(s) for s in states)
    if sorted(signature(d["shapes"]) for d in described) == wanted and len(set(wanted)) == len(wanted):
        by_signature = {signature(d["shapes"]): m for d, m in zip(described, found)}
        for state in states:
            by_signature[signature(state)].load_state_dict(state)
    return described


@operation
def forward(model: nn.Module, args: list[Any], *, train: bool = False, progress: Callable) -> torch.Tensor:
    """model(*args) in train or eval mode, without gradients; the mode is restored after."""
    was_training = model.training
    model.train(train)
    try:
        with torch.no_grad():
            return model(*args)
    finally:
        model.train(was_training)


@operation
def dropout_probe(model: nn.Module, args: list[Any], weight_shapes: list[tuple[int, int]], *,
                  progress: Callable) -> dict[str, Any]:
    """For each layer with a weight of one of `weight_shapes`: the share of exact zeros in its input,
    in a train-mode and an eval-mode pass; and whether two passes agree in each mode."""
    targets = {tuple(shape): None for shape in weight_shapes}
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, torch.Tensor) and tuple(weight.shape) in targets and targets[tuple(weight.shape)] is None:
            targets[tuple(weight.shape)] = module
    zeros: dict[tuple, float] = {}

    def hook_for(shape):
        def hook(module, inputs):
            zeros.setdefault(shape, (inputs[0] == 0).float().mean().item())  # returns None: input unchanged
        return hook

    def shares(train: bool) -> tuple[list, torch.Tensor]:
        zeros.clear()
        hooks = [m.register_forward_pre_hook(hook_for(s)) for s, m in targets.items() if m is not None]
        try:
            out = forward(model, args, train=train, progress=progress)
        finally:
            for hook in hooks:
                hook.remove()
        return [zeros.get(tuple(s)) for s in weight_shapes], out

    train_zeros, train_out = shares(True)
    _, train_again = shares(True)
    eval_zeros, eval_out = shares(False)
    _, eval_again = shares(False)
    return {"train_zeros": train_zeros, "eval_zeros": eval_zeros,
            "train_same": bool(torch.equal(train_out, train_again)),
            "eval_same": bool(torch.equal(eval_out, eval_again))}


@operation
def gradient_probe(model: nn.Module, args: list[Any], *, progress: Callable) -> dict[str, Any]:
    """Forward in train mode, backward of the output's sum: parameters with no or an all-zero gradient."""
    model.train()
    model.zero_grad(set_to_none=True)
    model(*args).sum().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    zero = [name for name, p in model.named_parameters() if p.grad is not None and not p.grad.abs().sum() > 0]
    return {"missing": missing, "zero": zero}


# --- Maxout, losses, sample -----------------------------------------------------------------------

@operation
def maxout_probe(maxout_class: Callable, in_features: int, units: int, pieces: int, weight: torch.Tensor,
                 bias: torch.Tensor, x: torch.Tensor, grad_output: torch.Tensor, *,
                 progress: Callable) -> dict[str, Any]:
    """Build `maxout_class(in_features, units, pieces)`, give its one parameterised layer `weight` and
    `bias`, and return its layers, output for x, and the gradients of <output, grad_output> with
    respect to weight, bias and x (None where there is none). Loads nothing if the layers differ."""
    layer = maxout_class(in_features, units, pieces)
    found = [m for m in layer.modules() if any(True for _ in m.parameters(recurse=False))]
    described = [describe(m) for m in found]
    if len(found) != 1 or signature(described[0]["shapes"]) != signature({"weight": weight, "bias": bias}):
        return {"layers": described, "output": None}
    found[0].load_state_dict({"weight": weight, "bias": bias})
    x = x.detach().clone().requires_grad_(True)
    output = layer(x)
    leaves = [found[0].weight, found[0].bias, x]
    if not isinstance(output, torch.Tensor) or not output.requires_grad or output.shape != grad_output.shape:
        return {"layers": described, "output": output, "grads": [None, None, None]}
    grads = torch.autograd.grad(output, leaves, grad_output, allow_unused=True)
    return {"layers": described, "output": output, "grads": list(grads)}


@operation
def loss_gradient(loss_fn: Callable, logits: list[torch.Tensor], *, squash: bool = True,
                  progress: Callable) -> dict[str, Any]:
    """loss_fn(sigmoid(logits[0]), sigmoid(logits[1]), ...) (loss_fn(logits[0], ...) without `squash`,
    for losses that take logits) and its gradients with respect to each logit."""
    leaves = [a.detach().clone().requires_grad_(True) for a in logits]
    loss = loss_fn(*[torch.sigmoid(a) if squash else a for a in leaves])
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1 or not loss.requires_grad:
        return {"loss": loss, "grads": None}
    grads = torch.autograd.grad(loss.reshape(()), leaves, allow_unused=True)
    return {"loss": loss, "grads": list(grads)}


@operation
def sample_probe(sample: Callable, generator_state: dict[str, torch.Tensor], labels: torch.Tensor,
                 z: torch.Tensor, *, dropout: float = 0.5, progress: Callable) -> dict[str, Any]:
    """Call the student's `sample(G, labels, z)` twice on a TinyGenerator with dropout, left in
    train mode: what it returned, whether it carries a graph, G's mode after, and G's eval output."""
    G = TinyGenerator(dropout=dropout)
    G.load_state_dict(generator_state)
    G.train()
    first = sample(G, labels, z)
    training_after = G.training
    second = sample(G, labels, z)
    return {"first": first, "second": second, "training_after": training_after,
            "has_graph": isinstance(first, torch.Tensor) and first.requires_grad,
            "expected": forward(G, [z, labels], train=False, progress=progress)}


# --- train_step, watched ------------------------------------------------------------------------

def _snapshot(G: nn.Module, D: nn.Module) -> dict[str, Any]:
    def grads(model):
        return {n: (p.grad.detach().clone() if p.grad is not None else None) for n, p in model.named_parameters()}

    return {"g_params": state_of(G), "d_params": state_of(D), "g_grads": grads(G), "d_grads": grads(D),
            "g_training": G.training, "d_training": D.training}


class _WatchedSGD(torch.optim.SGD):
    """Plain SGD that records, in a shared list, each zero_grad and each step with the state of
    both models just before the step."""

    def __init__(self, params, lr: float, name: str, events: list, models: tuple[nn.Module, nn.Module]):
        super().__init__(params, lr=lr)
        self.name, self.events, self.models = name, events, models

    def step(self, closure=None):
        self.events.append({"event": "step", "optimizer": self.name, **_snapshot(*self.models)})
        return super().step(closure)

    def zero_grad(self, set_to_none: bool = True):
        self.events.append({"event": "zero_grad", "optimizer": self.name})
        return super().zero_grad(set_to_none)


@operation
def train_step_probe(train_step: Callable, generator_state: dict[str, torch.Tensor],
                     discriminator_state: dict[str, torch.Tensor], images: torch.Tensor, labels: torch.Tensor,
                     z: torch.Tensor, *, lr: float = 0.5, stale_gradient: float | None = None,
                     progress: Callable) -> dict[str, Any]:
    """Call `train_step(G, D, opt_g, opt_d, images, labels, z)` once on TinyGenerator and
    TinyDiscriminator with the given states, both handed over in eval mode, with watched SGD(lr).

    With `stale_gradient`, every parameter's .grad starts at that value (as a forgotten zero_grad
    would leave it). Returns what train_step returned, the optimizer events in order (each step
    with both models' parameters, gradients and modes just before it) and the final parameters.
    """
    return watched_step(TinyGenerator(), TinyDiscriminator(), generator_state, discriminator_state,
                        lambda *models_and_optimizers: train_step(*models_and_optimizers, images, labels, z),
                        lr=lr, stale_gradient=stale_gradient)


def watched_step(G: nn.Module, D: nn.Module, generator_state: dict, discriminator_state: dict,
                 step: Callable[[nn.Module, nn.Module, Any, Any], Any], *, lr: float,
                 stale_gradient: float | None) -> dict[str, Any]:
    """Load the states into G and D, hand both over in eval mode (with every .grad at `stale_gradient`
    if given) to `step(G, D, opt_g, opt_d)` with watched SGD(lr); what it returned, the optimizer
    events and the final snapshot. Shared by the conditional and the unconditional probes."""
    G.load_state_dict(generator_state)
    D.load_state_dict(discriminator_state)
    G.eval()
    D.eval()
    if stale_gradient is not None:
        for p in [*G.parameters(), *D.parameters()]:
            p.grad = torch.full_like(p, stale_gradient)
    events: list[dict] = []
    opt_g = _WatchedSGD(G.parameters(), lr, "opt_g", events, (G, D))
    opt_d = _WatchedSGD(D.parameters(), lr, "opt_d", events, (G, D))
    returned = step(G, D, opt_g, opt_d)
    return {"returned": returned, "events": events, "after": _snapshot(G, D)}


def reference_train_step(generator_state: dict, discriminator_state: dict, images: torch.Tensor,
                         labels: torch.Tensor, z: torch.Tensor, *, lr: float = 0.5) -> dict[str, Any]:
    """The trusted side of `train_step_probe`: the correct step on the same tiny models.

    Returns the discriminator's gradient and parameters after its step, the generator's gradient
    (against the updated D) and parameters after its step, and the four statistics.
    """
    G, D = TinyGenerator(), TinyDiscriminator()
    G.load_state_dict(generator_state)
    D.load_state_dict(discriminator_state)
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=lr), torch.optim.SGD(D.parameters(), lr=lr)
    fake = G(z, labels)
    d_real, d_fake = D(images, labels), D(fake.detach(), labels)
    loss_d = F.binary_cross_entropy(d_real, torch.ones_like(d_real)) + \
        F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake))
    opt_d.zero_grad()
    loss_d.backward()
    d_grads = {n: p.grad.detach().clone() for n, p in D.named_parameters()}
    opt_d.step()
    d_after = state_of(D)
    with torch.no_grad():
        d_fake_after = D(fake, labels).mean().item()
    g_grads_before_d_step = _generator_gradient(generator_state, discriminator_state, labels, z)
    opt_g.zero_grad()
    d_on_fake = D(fake, labels)
    loss_g = F.binary_cross_entropy(d_on_fake, torch.ones_like(d_on_fake))
    loss_g.backward()
    g_grads = {n: p.grad.detach().clone() for n, p in G.named_parameters()}
    opt_g.step()
    return {"d_grads": d_grads, "d_after": d_after, "g_grads": g_grads, "g_after": state_of(G),
            "stats": {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "d_real": d_real.mean().item(),
                      "d_fake": d_fake.mean().item()},
            "d_fake_after_d_step": d_fake_after, "g_grads_before_d_step": g_grads_before_d_step}


def _generator_gradient(generator_state: dict, discriminator_state: dict, labels: torch.Tensor,
                        z: torch.Tensor) -> dict[str, torch.Tensor]:
    """The generator's gradient against the discriminator as it was before its update (a mistake)."""
    G, D = TinyGenerator(), TinyDiscriminator()
    G.load_state_dict(generator_state)
    D.load_state_dict(discriminator_state)
    d_on_fake = D(G(z, labels), labels)
    F.binary_cross_entropy(d_on_fake, torch.ones_like(d_on_fake)).backward()
    return {n: p.grad.detach().clone() for n, p in G.named_parameters()}


# --- the training loop --------------------------------------------------------------------------

@operation
def train_cgan(generator_class: Callable[[], nn.Module], discriminator_class: Callable[[], nn.Module],
               train_step: Callable, train_images: torch.Tensor, train_labels: torch.Tensor,
               sample_labels: torch.Tensor, sample_noise: torch.Tensor, *, epochs: int = 1,
               max_steps: int | None = None, batch_size: int = 32, lr: float = 2e-3, lr_d: float | None = None,
               beta1: float = 0.0, decay: bool = True, seed: int = 0, device: str = "cpu", report_every: int = 25,
               every_epoch: bool = True, send_weights: bool = False, send_samples: bool = True,
               send_layers: list[torch.Tensor] | None = None, progress: Callable[[Any], None]) -> dict[str, Any]:
    """Train a fresh `generator_class()` and `discriminator_class()` with the student's `train_step`
    on labelled digits in [0, 1]: the shared GAN loop, `grader.operations.gan_loop.train_gan`, for a
    conditional GAN (the practice's `train_step(G, D, opt_g, opt_d, images, labels, z)`; see there
    for the recipe's options, the records streamed through `progress` and the one returned).
    """
    return train_gan(generator_class, discriminator_class, train_step, train_images, sample_noise,
                     train_labels=train_labels, sample_labels=sample_labels, nz=NZ, pixel_range=(0.0, 1.0),
                     epochs=epochs, max_steps=max_steps, batch_size=batch_size, lr=lr, lr_d=lr_d, beta1=beta1,
                     decay=decay, seed=seed, device=device, report_every=report_every, every_epoch=every_epoch,
                     send_weights=send_weights, send_samples=send_samples, send_layers=send_layers,
                     progress=progress)
