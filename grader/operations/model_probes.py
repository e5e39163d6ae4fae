"""Trusted operations on a student's model, run in the worker; they return evidence as data.

- `layers` / `load_layers`: a model's parameterised layers in the order they run, and loading
  given weights into them in that order, so a design is compared by behaviour, not by names.
- `train_step_probe`: one call of the student's `train_step`, watched: optimizer calls, the loss
  it returned, the loss it should have returned, and the parameters a correct step gives.
- `gradient_probe`, `batch_norm_probe`: which parameters get gradients; how BN buffers move.
- `norm_settings`: the settings of each batch norm that runs (eps, momentum, affine, tracking),
  which are no parameters, so weights and outputs cannot show them all.
- `grad_mode_probe`: whether autograd was on while the student's code ran a model's forward.

The trusted side judges everything; these functions only observe.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.sandbox.ops import operation
from grader.operations.trained_state import first_calls, modules_in_run_order


def layers_in_run_order(model: nn.Module, example: torch.Tensor) -> list[nn.Module]:
    """Modules with their own parameters or buffers, in the order a forward pass first calls them."""
    return [module for _, module in modules_in_run_order(model, [example])]


def _describe(module: nn.Module) -> dict[str, Any]:
    return {"type": type(module).__name__,
            "shapes": {name: tuple(t.shape) for name, t in module.state_dict().items()}}


@operation
def layers(model: nn.Module, example: torch.Tensor, *, progress: Callable) -> list[dict[str, Any]]:
    """[{type, shapes}] of each parameterised layer, in run order."""
    return [_describe(m) for m in layers_in_run_order(model, example)]


@operation
def load_layers(model: nn.Module, example: torch.Tensor, states: list[dict[str, torch.Tensor]], *,
                progress: Callable) -> list[dict[str, Any]]:
    """Load `states[i]` into the i-th parameterised layer (run order); returns what was found.

    Loads nothing when the layer types or shapes differ from the states given.
    """
    found = layers_in_run_order(model, example)
    described = [_describe(m) for m in found]
    expected = [{name: tuple(t.shape) for name, t in state.items()} for state in states]
    if [d["shapes"] for d in described] == expected:
        for module, state in zip(found, states):
            module.load_state_dict(state)
    return described


def layer_states(model: nn.Module, example: torch.Tensor) -> list[dict[str, torch.Tensor]]:
    """The reference side of `load_layers`: each parameterised layer's state, in run order."""
    return [{k: v.detach().clone() for k, v in m.state_dict().items()}
            for m in layers_in_run_order(model, example)]


@operation
def forward(model: nn.Module, images: torch.Tensor, *, train: bool = False,
            progress: Callable) -> torch.Tensor:
    """model(images) in train or eval mode, without gradients; the mode is restored after."""
    was_training = model.training
    model.train(train)
    try:
        with torch.no_grad():
            return model(images)
    finally:
        model.train(was_training)


class _CountingSGD(torch.optim.SGD):
    """Plain SGD that counts how often it is stepped and cleared."""

    def __init__(self, params, lr: float):
        super().__init__(params, lr=lr)
        self.steps = 0
        self.clears = 0

    def step(self, closure=None):
        self.steps += 1
        return super().step(closure)

    def zero_grad(self, set_to_none: bool = True):
        self.clears += 1
        return super().zero_grad(set_to_none)


@operation
def train_step_probe(model: nn.Module, train_step: Callable, images: torch.Tensor, labels: torch.Tensor, *,
                     lr: float = 0.1, stale_gradient: float = 0.0, start_in_eval: bool = False,
                     progress: Callable) -> dict[str, Any]:
    """Call `train_step(model, optimizer, images, labels)` once with a counting SGD optimizer.

    Before the call every parameter's .grad is set to `stale_gradient` (left over from an earlier
    step, as a forgotten zero_grad would leave it). Returns: the loss returned; the logits a
    train-mode forward gave before the step; the parameters before and after; the parameters
    one correct step (zero_grad, forward, cross-entropy, backward, SGD step) gives from the same
    start; and how often step() and zero_grad() ran. `start_in_eval`: the model is handed over in
    eval mode (as evaluate leaves it); the correct step still trains in train mode.
    """
    model.train()
    twin = copy.deepcopy(model)
    if start_in_eval:
        model.eval()
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        logits_before = copy.deepcopy(model)(images)
    optimizer = _CountingSGD(model.parameters(), lr)
    for p in model.parameters():
        p.grad = torch.full_like(p, stale_gradient)
    returned = train_step(model, optimizer, images, labels)
    correct = torch.optim.SGD(twin.parameters(), lr=lr)
    correct.zero_grad()
    F.cross_entropy(twin(images), labels).backward()
    correct.step()
    return {"returned": returned, "logits_before": logits_before, "before": before,
            "after": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "expected_after": {k: v.detach().clone() for k, v in twin.state_dict().items()},
            "steps": optimizer.steps, "clears": optimizer.clears}


@operation
def gradient_probe(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *,
                   progress: Callable) -> dict[str, Any]:
    """Forward in train mode, cross-entropy, backward: which parameters got no (or zero) gradient."""
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(images), labels).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    zero = [name for name, p in model.named_parameters() if p.grad is not None and not p.grad.abs().sum() > 0]
    return {"parameters": [name for name, _ in model.named_parameters()], "missing": missing, "zero": zero}


@operation
def batch_norm_probe(model: nn.Module, images: torch.Tensor, *, progress: Callable) -> dict[str, Any]:
    """Buffers (BN running statistics) before and after a forward in train mode, then in eval mode."""
    def buffers() -> dict[str, torch.Tensor]:
        return {name: b.detach().clone() for name, b in model.named_buffers()}

    start = buffers()
    forward(model, images, train=True, progress=progress)
    after_train = buffers()
    forward(model, images, train=False, progress=progress)
    return {"start": start, "after_train": after_train, "after_eval": buffers()}


@operation
def parameter_shapes(model: nn.Module, *, progress: Callable) -> dict[str, tuple[int, ...]]:
    """{name: shape} of every parameter (the count is the sum of their products)."""
    return {name: tuple(p.shape) for name, p in model.named_parameters()}


@operation
def layer_output_shapes(model: nn.Module, example: torch.Tensor, *, progress: Callable) -> list[dict[str, Any]]:
    """[{type, shape}] of each parameterised layer's output during one eval-mode forward pass."""
    shapes: list[dict[str, Any]] = []
    hooks = [m.register_forward_hook(lambda m, _, out: shapes.append({"type": type(m).__name__,
                                                                       "shape": tuple(out.shape)}))
             for m in layers_in_run_order(model, example)]
    try:
        forward(model, example, train=False, progress=progress)
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


@operation
def graph_probe(fn: Callable, args: list[Any], *, progress: Callable) -> dict[str, Any]:
    """Call the student's `fn(*args)`; say whether the result carried an autograd graph before the
    wire (which detaches every tensor) could drop it: {"output", "requires_grad"}."""
    output = fn(*args)
    tensors = [output] if isinstance(output, torch.Tensor) else [t for t in (output if isinstance(output, (list, tuple))
                                                                          else []) if isinstance(t, torch.Tensor)]
    return {"output": output, "requires_grad": any(t.requires_grad for t in tensors)}


@operation
def input_zero_shares(model: nn.Module, args: list[Any], parts: list[tuple[tuple[int, ...], int, int]], *,
                      seed: int = 0, progress: Callable) -> dict[str, list[float | None]]:
    """For each (weight shape, start, stop): the share of exact zeros in columns start:stop of the
    input of the first layer with that weight shape, in a train-mode and in an eval-mode pass
    without gradients ({"train": [...], "eval": [...]}, None where no such layer ran). Dropout on
    a path shows as more zeros in train mode than in eval mode, in that path's columns."""
    layers: dict[tuple[int, ...], nn.Module] = {}
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, torch.Tensor):
            layers.setdefault(tuple(weight.shape), module)
    found: dict[int, float] = {}

    def hook_for(index: int, start: int, stop: int):
        def hook(module, inputs):
            if index not in found and isinstance(inputs[0], torch.Tensor):
                found[index] = (inputs[0].flatten(1)[:, start:stop] == 0).float().mean().item()
        return hook

    result: dict[str, list[float | None]] = {}
    was_training = model.training
    for mode in ("train", "eval"):
        found.clear()
        hooks = [layers[tuple(shape)].register_forward_pre_hook(hook_for(i, start, stop))
                 for i, (shape, start, stop) in enumerate(parts) if tuple(shape) in layers]
        try:
            torch.manual_seed(seed)
            model.train(mode == "train")
            with torch.no_grad():
                model(*args)
        finally:
            for hook in hooks:
                hook.remove()
            model.train(was_training)
        result[mode] = [found.get(i) for i in range(len(parts))]
    return result


def _norm_setting(module: nn.Module) -> dict[str, Any]:
    return {"type": type(module).__name__, "features": module.num_features, "eps": module.eps,
            "momentum": module.momentum, "affine": module.affine,
            "track_running_stats": module.track_running_stats}


def norm_settings_of(model: nn.Module, args: list[Any]) -> list[dict[str, Any]]:
    """[{type, features, eps, momentum, affine, track_running_stats}] of each batch norm module, in
    the order an eval-mode `model(*args)` first calls it (the trusted side's reference, too)."""
    order = first_calls(model, args, lambda m: isinstance(m, nn.modules.batchnorm._NormBase))
    return [_norm_setting(m) for m in order]


@operation
def norm_settings(model: nn.Module, args: list[Any], *, progress: Callable) -> list[dict[str, Any]]:
    """`norm_settings_of` on the student's model: its batch norms' settings in run order."""
    return norm_settings_of(model, args)


@operation
def grad_mode_probe(fn: Callable, model: nn.Module, args: list[Any], *, progress: Callable) -> dict[str, Any]:
    """Call the student's `fn(model, *args)` (evaluate, predict_proba) with a forward hook on the
    model that records torch.is_grad_enabled() at each of its forward passes; what fn returned,
    and those records (a function that wraps the forward in torch.no_grad() records only False)."""
    seen: list[bool] = []
    handle = model.register_forward_pre_hook(lambda module, inputs: seen.append(torch.is_grad_enabled()))
    try:
        returned = fn(model, *args)
    finally:
        handle.remove()
    return {"returned": returned, "grad_enabled": seen}
