"""A student's `train_step`, run once and watched; and the correct step to compare it with.

- `train_step_probe` (an operation, in the worker): one call of the student's
  `train_step(*models, *optimizers, *data)` with one watched SGD optimizer per model. The models
  are the student's own (a classifier) or grader-made ones named by spec
  (`grader.operations.tiny_models`: a conditional, unconditional or paired GAN's G and D). Every
  zero_grad() and step() is recorded, each step with every model's state, gradients and mode
  just before it.
- `reference_classifier_step` (an operation, in the worker, on a copy of the student's model,
  whose parameter names only the worker has): the correct classifier step, cross-entropy and SGD.
- `reference_gan_step` (the trusted side's, on the same grader-made models): the correct GAN step,
  for each kind of GAN data, with the losses given as data (D's output as probabilities or
  logits, a weight on D's loss, an L1 term for paired images).

The trusted side compares the probe's records with the correct step.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.sandbox.ops import operation
from grader.operations.tiny_models import built, state_of

GAMES = ("conditional", "unconditional", "paired")


# --- the student's step, watched ------------------------------------------------------------------

def snapshot(models: dict[str, nn.Module]) -> dict[str, Any]:
    """For each model `name`: "<name>_params" (its state: parameters and buffers), "<name>_grads"
    ({parameter: .grad or None}) and "<name>_training" (its mode)."""
    found: dict[str, Any] = {}
    for name, model in models.items():
        found[f"{name}_params"] = state_of(model)
        found[f"{name}_grads"] = {n: (p.grad.detach().clone() if p.grad is not None else None)
                                  for n, p in model.named_parameters()}
        found[f"{name}_training"] = model.training
    return found


class WatchedSGD(torch.optim.SGD):
    """Plain SGD that records, in a shared list, each zero_grad() and each step() with the
    `snapshot` of all the models just before the step."""

    def __init__(self, params, lr: float, name: str, events: list, models: dict[str, nn.Module]):
        super().__init__(params, lr=lr)
        self.name, self.events, self.models = name, events, models

    def step(self, closure=None):
        self.events.append({"event": "step", "optimizer": self.name, **snapshot(self.models)})
        return super().step(closure)

    def zero_grad(self, set_to_none: bool = True):
        self.events.append({"event": "zero_grad", "optimizer": self.name})
        return super().zero_grad(set_to_none)


@operation
def train_step_probe(train_step: Callable, models: dict[str, nn.Module | dict[str, Any]], data: list[Any], *,
                     lr: float, train: bool = False, stale_gradient: float | None = None, seed: int | None = None,
                     progress: Callable) -> dict[str, Any]:
    """Call `train_step(*models, *optimizers, *data)` once, with a `WatchedSGD(lr)` named
    "opt_<name>" for each of `models` ({name: model}, in train_step's order: {"model": the
    student's classifier}, or {"g": generator, "d": discriminator} as specs of grader-made models).

    Every model is handed over in train mode (`train`) or eval mode; with `stale_gradient`, every
    parameter's .grad starts at that value (as a forgotten zero_grad() would leave it); with
    `seed`, torch's generator is seeded just before the call (so dropout draws what the trusted
    side's pass draws). Returns {"returned": what train_step returned, "events": [{"event":
    "zero_grad" or "step", "optimizer"} (a step with the `snapshot` just before it)], "before" and
    "after": the `snapshot` before and after the call}.
    """
    found = {name: model if isinstance(model, nn.Module) else built(model) for name, model in models.items()}
    for model in found.values():
        model.train(train)
    if stale_gradient is not None:
        for p in (p for model in found.values() for p in model.parameters()):
            p.grad = torch.full_like(p, stale_gradient)
    events: list[dict] = []
    optimizers = [WatchedSGD(model.parameters(), lr, f"opt_{name}", events, found) for name, model in found.items()]
    before = snapshot(found)
    if seed is not None:
        torch.manual_seed(seed)
    returned = train_step(*found.values(), *optimizers, *data)
    return {"returned": returned, "events": events, "before": before, "after": snapshot(found)}


# --- the correct steps ----------------------------------------------------------------------------

@operation
def reference_classifier_step(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, lr: float,
                              progress: Callable) -> dict[str, Any]:
    """One correct step on a copy of `model` in train mode: zero_grad, logits = copy(images),
    cross-entropy with `labels`, backward, SGD(lr) step. Returns {"logits": those logits (B,
    classes), before the step; "after": the copy's state after it}; `model` itself is untouched."""
    twin = copy.deepcopy(model)
    twin.train()
    optimizer = torch.optim.SGD(twin.parameters(), lr=lr)
    optimizer.zero_grad()
    logits = twin(images)
    F.cross_entropy(logits, labels).backward()
    optimizer.step()
    return {"logits": logits.detach(), "after": state_of(twin)}


def _game(game: str, data: list[torch.Tensor]) -> tuple[Callable, Callable, torch.Tensor]:
    """(generate(G), judge(D, images), the real images) for a kind of GAN data:
    conditional [images, labels, z]: G(z, labels), D(x, labels); unconditional [real, z]: G(z),
    D(x); paired [inputs, targets]: G(inputs), D(inputs, x), the targets being the real images."""
    if game == "conditional":
        images, labels, z = data
        return (lambda G: G(z, labels)), (lambda D, x: D(x, labels)), images
    if game == "unconditional":
        real, z = data
        return (lambda G: G(z)), (lambda D, x: D(x)), real
    if game == "paired":
        inputs, targets = data
        return (lambda G: G(inputs)), (lambda D, x: D(inputs, x)), targets
    raise ValueError(f"game is one of {GAMES}, not {game!r}")


def reference_gan_step(game: str, models: dict[str, dict[str, Any]], data: list[torch.Tensor], *, lr: float,
                       logits: bool, discriminator_weight: float = 1.0, l1_weight: float = 0.0,
                       seed: int | None = None) -> dict[str, Any]:
    """The trusted side of `train_step_probe` for a GAN: the correct step on the same grader-made
    models ({"g": spec, "d": spec}), in train mode, with plain SGD(lr) for each.

    With fake = G(...) (after torch.manual_seed(seed), with `seed`, as the probe seeds) and bce
    the binary cross-entropy on D's output (`logits`: on logits, else on probabilities):
      step 1  L_D = discriminator_weight * (bce(D(real), 1) + bce(D(fake.detach()), 0)), one update of D;
      step 2  L_G = bce(D(fake), 1) (+ l1_weight * mean |fake - real| for paired data), with the
              updated D, one update of G.
    Returns D's gradient and state after its step ("d_grads", "d_after"), G's gradient and state
    after its step ("g_grads", "g_after"), D's state at the end ("d_final": a train-mode pass in
    step 2 moves its running statistics), "stats" (loss_d, loss_g, d_real and d_fake, D's mean
    probability on the real and the detached fake images in step 1; with an L1 term also
    loss_g_gan and loss_g_l1), and two wrong variants' numbers, each from a copy so the models see
    only the correct step's passes: "d_fake_after_d_step" (D's mean probability on the fake after
    its update) and "g_grads_before_d_step" (G's gradient against D before its update).
    """
    generate, judge, real = _game(game, data)
    G, D = built(models["g"]), built(models["d"])
    G.train()
    D.train()
    stale_d = copy.deepcopy(D)
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=lr), torch.optim.SGD(D.parameters(), lr=lr)

    def bce(output: torch.Tensor, target: float) -> torch.Tensor:
        loss = F.binary_cross_entropy_with_logits if logits else F.binary_cross_entropy
        return loss(output, torch.full_like(output, target))

    def probability(output: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(output) if logits else output

    def generator_loss(d: nn.Module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        gan = bce(judge(d, fake), 1.0)
        if not l1_weight:
            return gan, gan, None
        l1 = (fake - real).abs().mean()
        return gan + l1_weight * l1, gan, l1

    if seed is not None:
        torch.manual_seed(seed)
    fake = generate(G)
    real_out, fake_out = judge(D, real), judge(D, fake.detach())
    loss_d = discriminator_weight * (bce(real_out, 1.0) + bce(fake_out, 0.0))
    opt_d.zero_grad()
    loss_d.backward()
    d_grads = {n: p.grad.detach().clone() for n, p in D.named_parameters()}
    opt_d.step()
    d_after = state_of(D)
    with torch.no_grad():
        d_fake_after = probability(judge(copy.deepcopy(D), fake)).mean().item()
    g_before = torch.autograd.grad(generator_loss(stale_d)[0], list(G.parameters()), retain_graph=True)
    opt_g.zero_grad()
    loss_g, gan, l1 = generator_loss(D)
    loss_g.backward()
    g_grads = {n: p.grad.detach().clone() for n, p in G.named_parameters()}
    opt_g.step()
    stats = {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "d_real": probability(real_out).mean().item(),
             "d_fake": probability(fake_out).mean().item()}
    if l1 is not None:
        stats.update(loss_g_gan=gan.item(), loss_g_l1=l1.item())
    return {"d_grads": d_grads, "d_after": d_after, "g_grads": g_grads, "g_after": state_of(G), "d_final": state_of(D),
            "stats": stats, "d_fake_after_d_step": d_fake_after,
            "g_grads_before_d_step": {n: g.detach().clone() for (n, _), g in zip(G.named_parameters(), g_before)}}
