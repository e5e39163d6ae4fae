"""Operations on a student's model, run in the worker; they return evidence as data.

A design is compared by what it does, never by attribute names:

- `layers`, `load_layers`, `layer_states`: a model's layers with tensors of their own, in the
  order a forward pass first calls them, and loading given weights into them, in that order or
  matched by their names and shapes (`signature`) where paths may run in any order.
- `forward`, `parameter_shapes`, `layer_output_shapes`, `architecture_probe`: outputs, sizes, and
  what each convolution, pooling and resizing step is and does.
- `norm_settings`: each batch norm's eps, momentum, affine and tracking, which are no parameters,
  so weights and outputs cannot show them all.
- `gradient_probe`, `batch_norm_probe`, `graph_probe`, `grad_mode_probe`: which parameters get
  gradients, how batch norm's buffers move, whether a result carries a graph, whether autograd
  was on while a student's function ran the model.
- `dropout_probe`, `input_zero_shares`: how many of a layer's inputs dropout zeroes in each mode.

Every model input is a list of arguments, `model(*args)`. The trusted side judges everything;
these functions only observe.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.sandbox.ops import forbidden_calls, operation
from grader.operations.trained_state import first_calls, has_own_parameters, has_own_tensors

CONVOLUTIONS = (nn.Conv2d, nn.ConvTranspose2d)
RESIZING = ["torch.nn.functional.max_pool2d", "torch.nn.functional.avg_pool2d",
            "torch.nn.functional.adaptive_max_pool2d", "torch.nn.functional.adaptive_avg_pool2d",
            "torch.nn.functional.lp_pool2d", "torch.nn.functional.interpolate", "torch.nn.functional.upsample",
            "torch.nn.functional.pixel_shuffle", "torch.max_pool2d", "torch.avg_pool2d"]
POOLING = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d, nn.LPPool2d, nn.Upsample,
           nn.UpsamplingNearest2d, nn.UpsamplingBilinear2d, nn.PixelShuffle, nn.FractionalMaxPool2d)


# --- layers in run order, and loading weights into them -------------------------------------------

def layers_in_run_order(model: nn.Module, args: list[Any], *, with_buffers: bool = True) -> list[nn.Module]:
    """Modules with parameters of their own (with `with_buffers`, also those with only buffers, such
    as a batch norm without affine), in the order an eval-mode `model(*args)` first calls them."""
    return first_calls(model, args, has_own_tensors if with_buffers else has_own_parameters)


def describe(module: nn.Module) -> dict[str, Any]:
    """{"type": class name, "shapes": {state name: shape}} of one layer."""
    return {"type": type(module).__name__,
            "shapes": {name: tuple(t.shape) for name, t in module.state_dict().items()}}


def signature(state: dict[str, Any]) -> tuple:
    """A layer's identity for matching: its state's names and shapes (tensors or shapes), sorted."""
    return tuple(sorted((name, tuple(value.shape) if hasattr(value, "shape") else tuple(value))
                        for name, value in state.items()))


def layer_states(model: nn.Module, args: list[Any], *, with_buffers: bool = True) -> list[dict[str, torch.Tensor]]:
    """The trusted side of `load_layers`: a copy of each layer's state, in run order
    (`layers_in_run_order`)."""
    return [{k: v.detach().clone() for k, v in m.state_dict().items()}
            for m in layers_in_run_order(model, args, with_buffers=with_buffers)]


@operation
def layers(model: nn.Module, args: list[Any], *, progress: Callable) -> list[dict[str, Any]]:
    """[`describe`] of each module with tensors of its own, in run order."""
    return [describe(m) for m in layers_in_run_order(model, args)]


@operation
def load_layers(model: nn.Module, args: list[Any], states: list[dict[str, torch.Tensor]], *, by_shape: bool = False,
                progress: Callable) -> list[dict[str, Any]]:
    """Load the given layer states into the model; returns the layers found ([`describe`], run order).

    In run order (the default): `states[i]` into the i-th module with tensors of its own, and only
    when every module's state names and shapes are those of the states, in that order.
    `by_shape`: among the modules with parameters, each state into the one of the same `signature`,
    and only when the modules' signatures are exactly those of the states, each once; so names,
    grouping and the order of paths that may run either way (a conditional model's two inputs)
    are free.
    """
    if not by_shape:
        found = layers_in_run_order(model, args)
        described = [describe(m) for m in found]
        expected = [{name: tuple(t.shape) for name, t in state.items()} for state in states]
        if [d["shapes"] for d in described] == expected:
            for module, state in zip(found, states):
                module.load_state_dict(state)
        return described
    found = layers_in_run_order(model, args, with_buffers=False)
    described = [describe(m) for m in found]
    wanted = sorted(signature(s) for s in states)
    if sorted(signature(d["shapes"]) for d in described) == wanted and len(set(wanted)) == len(wanted):
        by_signature = {signature(d["shapes"]): m for d, m in zip(described, found)}
        for state in states:
            by_signature[signature(state)].load_state_dict(state)
    return described


# --- outputs and sizes ----------------------------------------------------------------------------

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
def parameter_shapes(model: nn.Module, *, progress: Callable) -> dict[str, tuple[int, ...]]:
    """{name: shape} of every parameter (the count is the sum of their products)."""
    return {name: tuple(p.shape) for name, p in model.named_parameters()}


@operation
def layer_output_shapes(model: nn.Module, args: list[Any], *, progress: Callable) -> list[dict[str, Any]]:
    """[{type, shape}] of each layer's output (modules with tensors of their own) during one
    eval-mode forward pass, in the order they ran."""
    shapes: list[dict[str, Any]] = []
    hooks = [m.register_forward_hook(lambda m, _, out: shapes.append({"type": type(m).__name__,
                                                                       "shape": tuple(out.shape)}))
             for m in layers_in_run_order(model, args)]
    try:
        forward(model, args, train=False, progress=progress)
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


def convolution_settings(module: nn.Module) -> dict[str, Any]:
    """{type, in, out, kernel, stride, padding, output_padding, bias} of a (transposed) convolution."""
    return {"type": type(module).__name__, "in": module.in_channels, "out": module.out_channels,
            "kernel": tuple(module.kernel_size), "stride": tuple(module.stride), "padding": tuple(module.padding),
            "output_padding": tuple(getattr(module, "output_padding", (0, 0))), "bias": module.bias is not None}


@operation
def architecture_probe(model: nn.Module, args: list[Any], *, progress: Callable) -> dict[str, Any]:
    """What the model is made of and what its eval-mode forward does, so that a student's own
    composition of layers is judged by what it does.

    Returns {"convolutions": [`convolution_settings`] from the module tree, "pooling": [type names
    of pooling or upsampling modules], "linear": [(in, out, bias)], "batch_norm": [channels], "run":
    [{type, in_shape, out_shape, kernel, stride}] per module with parameters in run order, "called":
    [pooling or resizing functions (`RESIZING`) the forward pass called]}.
    """
    convolutions = [convolution_settings(m) for m in model.modules() if isinstance(m, CONVOLUTIONS)]
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

    hooks = [m.register_forward_hook(hook) for m in layers_in_run_order(model, args, with_buffers=False)]
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


# --- batch norm's settings ------------------------------------------------------------------------

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


# --- gradients, buffers and autograd --------------------------------------------------------------

@operation
def gradient_probe(model: nn.Module, args: list[Any], *, labels: torch.Tensor | None = None,
                   progress: Callable) -> dict[str, Any]:
    """Forward in train mode, then backward of the cross-entropy with `labels` (a classifier's
    logits), or of the output's sum without them: {"parameters": every parameter's name,
    "missing": those with no gradient, "zero": those with an all-zero gradient}."""
    model.train()
    model.zero_grad(set_to_none=True)
    output = model(*args)
    (F.cross_entropy(output, labels) if labels is not None else output.sum()).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    zero = [name for name, p in model.named_parameters() if p.grad is not None and not p.grad.abs().sum() > 0]
    return {"parameters": [name for name, _ in model.named_parameters()], "missing": missing, "zero": zero}


@operation
def batch_norm_probe(model: nn.Module, args: list[Any], *, progress: Callable) -> dict[str, Any]:
    """Buffers (batch norm's running statistics) before and after a forward in train mode, then
    after one in eval mode: {"start", "after_train", "after_eval"}."""
    def buffers() -> dict[str, torch.Tensor]:
        return {name: b.detach().clone() for name, b in model.named_buffers()}

    start = buffers()
    forward(model, args, train=True, progress=progress)
    after_train = buffers()
    forward(model, args, train=False, progress=progress)
    return {"start": start, "after_train": after_train, "after_eval": buffers()}


@operation
def graph_probe(fn: Callable, args: list[Any], *, progress: Callable) -> dict[str, Any]:
    """Call the student's `fn(*args)`; say whether the result carried an autograd graph before the
    wire (which detaches every tensor) could drop it: {"output", "requires_grad"}."""
    output = fn(*args)
    tensors = [output] if isinstance(output, torch.Tensor) else [t for t in (output if isinstance(output, (list, tuple))
                                                                          else []) if isinstance(t, torch.Tensor)]
    return {"output": output, "requires_grad": any(t.requires_grad for t in tensors)}


@operation
def grad_mode_probe(fn: Callable, model: nn.Module, args: list[Any], *, progress: Callable) -> dict[str, Any]:
    """Call the student's `fn(model, *args)` (an evaluation or prediction function) with a hook on
    the model that records torch.is_grad_enabled() at each of its forward passes; what fn returned,
    and those records (a function that wraps the forward in torch.no_grad() records only False)."""
    seen: list[bool] = []
    handle = model.register_forward_pre_hook(lambda module, inputs: seen.append(torch.is_grad_enabled()))
    try:
        returned = fn(model, *args)
    finally:
        handle.remove()
    return {"returned": returned, "grad_enabled": seen}


# --- dropout: zeros in a layer's input, by mode ---------------------------------------------------

def _first_layer_by_weight_shape(model: nn.Module) -> dict[tuple[int, ...], nn.Module]:
    """{weight shape: the first module (in `model.modules()` order) with a weight of that shape}."""
    found: dict[tuple[int, ...], nn.Module] = {}
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, torch.Tensor):
            found.setdefault(tuple(weight.shape), module)
    return found


@operation
def dropout_probe(model: nn.Module, args: list[Any], weight_shapes: list[tuple[int, int]], *,
                  progress: Callable) -> dict[str, Any]:
    """For the first layer with a weight of each of `weight_shapes`: the share of exact zeros in its
    whole input, in a train-mode and an eval-mode pass ({"train_zeros", "eval_zeros"}, None where
    no such layer ran); and whether two passes agree in each mode ({"train_same", "eval_same"})."""
    layers_by_shape = _first_layer_by_weight_shape(model)
    zeros: dict[tuple, float] = {}

    def hook_for(shape):
        def hook(module, inputs):
            zeros.setdefault(shape, (inputs[0] == 0).float().mean().item())  # returns None: input unchanged
        return hook

    def shares(train: bool) -> tuple[list, torch.Tensor]:
        zeros.clear()
        hooks = [layers_by_shape[tuple(s)].register_forward_pre_hook(hook_for(tuple(s)))
                 for s in dict.fromkeys(tuple(shape) for shape in weight_shapes) if tuple(s) in layers_by_shape]
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
def input_zero_shares(model: nn.Module, args: list[Any], parts: list[tuple[tuple[int, ...], int, int]], *,
                      seed: int = 0, progress: Callable) -> dict[str, list[float | None]]:
    """For each (weight shape, start, stop): the share of exact zeros in columns start:stop of the
    input of the first layer with that weight shape, in a train-mode and in an eval-mode pass
    without gradients, each after torch.manual_seed(seed) ({"train": [...], "eval": [...]}, None
    where no such layer ran). Dropout on a path shows as more zeros in train mode than in eval
    mode, in that path's columns."""
    layers_by_shape = _first_layer_by_weight_shape(model)
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
        hooks = [layers_by_shape[tuple(shape)].register_forward_pre_hook(hook_for(i, start, stop))
                 for i, (shape, start, stop) in enumerate(parts) if tuple(shape) in layers_by_shape]
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
