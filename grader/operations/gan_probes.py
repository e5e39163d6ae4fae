"""Operations on the parts of a student's GAN, run in the worker; they return evidence as data.

- `sampling_probe`: the student's function that draws with a generator (`fn(G, *args)`: a
  sampler, an interpolation, a translation), called twice on a grader-made generator
  (`grader.operations.tiny_models`) handed over in a chosen mode: what it returned, the modes it
  left, whether a graph was recorded, and the generator's own eval-mode output.
- `init_probe`: the student's `weights_init` applied to grader-made layers; their statistics.
- `maxout_probe`: the student's Maxout layer with given weights; its output and gradients.
- `loss_gradient`: a student's loss and its gradient with respect to its inputs (the logits,
  through a sigmoid, for a loss on probabilities).
- `skip_probe`, `dropout_blocks_probe`: what an encoder-decoder does when one convolution is
  silenced, and which stretches between its convolutions are random in train mode.
- `patch_gradient`: which input pixels one of a patch discriminator's logits depends on.

Everything returned is data; the trusted side judges it.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn as nn

from grader.sandbox.ops import operation
from grader.operations.models import describe, forward, layers_in_run_order, signature
from grader.operations.tiny_models import built, state_of


# --- drawing with a generator ---------------------------------------------------------------------

@operation
def sampling_probe(fn: Callable, generator: dict[str, Any], args: list[Any], *, train: bool = True,
                   model_args: list[Any] | None = None, progress: Callable) -> dict[str, Any]:
    """Call the student's `fn(G, *args)` twice on the grader-made generator `generator` (a spec of
    `grader.operations.tiny_models`, with its state), handed over in train mode (`train`) or eval mode.

    Returns {"first", "second": what fn returned each time, "modes_after": [G.training after each
    call], "has_graph": whether the first result requires a gradient, "state_after": G's state after
    both calls (a train-mode pass moves batch norm's running statistics)}, and with `model_args`,
    "expected": G(*model_args) in eval mode without gradients, computed after the calls.
    """
    G = built(generator)
    G.train(train)
    first = fn(G, *args)
    first_mode = G.training
    second = fn(G, *args)
    result = {"first": first, "second": second, "modes_after": [first_mode, G.training],
              "has_graph": isinstance(first, torch.Tensor) and first.requires_grad, "state_after": state_of(G)}
    if model_args is not None:
        result["expected"] = forward(G, model_args, train=False, progress=progress)
    return result


# --- initialisation, Maxout, losses ---------------------------------------------------------------

@operation
def init_probe(weights_init: Callable, *, seed: int = 0, progress: Callable) -> dict[str, Any]:
    """The student's `weights_init` applied (with `.apply`) to grader-made layers: Conv2d(256, 512, 5),
    ConvTranspose2d(512, 256, 5), BatchNorm2d(512) and Linear(512, 256) (which it must leave alone),
    each with a bias set to 0.3 first (and the batch norm's weight to 0.7). Returns each one's
    weight mean and std, bias mean and std, and whether its values changed."""
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
def loss_gradient(loss_fn: Callable, args: list[torch.Tensor], *, squash: bool = False,
                  differentiate: int | None = None, part: int | None = None, progress: Callable) -> dict[str, Any]:
    """A student's loss and its gradients with respect to its first `differentiate` arguments (all
    of them by default; the others require no gradient).

    The loss is loss_fn(*args), or with `squash` loss_fn(sigmoid(args[0]), sigmoid(args[1]), ...),
    a loss on probabilities differentiated with respect to the logits; with `part`, its element
    `part` when it returns a tuple or list (a loss that returns its terms too). Returns {"loss",
    "grads"}: "grads" None unless the loss is a one-element tensor with a graph.
    """
    count = len(args) if differentiate is None else differentiate
    leaves = [a.detach().clone().requires_grad_(i < count) for i, a in enumerate(args)]
    loss = loss_fn(*[torch.sigmoid(a) if squash else a for a in leaves])
    if part is not None and isinstance(loss, (tuple, list)) and loss:
        loss = loss[part]
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1 or not loss.requires_grad:
        return {"loss": loss, "grads": None}
    grads = torch.autograd.grad(loss.reshape(()), leaves[:count], allow_unused=True)
    return {"loss": loss, "grads": list(grads)}


# --- an encoder-decoder and a patch discriminator, observed ---------------------------------------

def convolutions_in_run_order(model: nn.Module, args: list[Any]) -> list[nn.Module]:
    """Modules with a 4-d weight (convolutions of any kind), in the order an eval-mode pass calls them."""
    return [m for m in layers_in_run_order(model, args, with_buffers=False)
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
    """Which stretches between a model's convolutions are random in train mode.

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
