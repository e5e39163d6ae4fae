"""What a trained model hands back: its layers' tensors in the order they run, and nothing it ran.

Run in the worker, at the end of the grader's training loops (`grader.operations.gan_loop`,
`grader.operations.classifier_loop`), when a convergence check asks for it. A check about learning must not
trust what the student's `forward` returns after training: student code has the training data
in hand and can keep it (in a module global, a class attribute, a buffer, a file) or compute the
answer by a fixed function of its input, switched on by anything it likes. So the worker sends
back the trained weights only, as data, and the grader loads them into its own model of the
declared architecture and draws the samples there (`grader.judging.transplant`):

    {"layers": [{"name": "main.0", "type": "ConvTranspose2d",     # each module with its own tensors,
                 "state": {"weight": tensor (100, 128, 4, 4)}},     # in the order an eval-mode forward
                ...],                                               # first calls it
     "holds": {"main.0.weight": (100, 128, 4, 4), ...}}           # every entry of model.state_dict()

`holds` names everything the model keeps in its state, so the grader can refuse a model that
holds more than its layers (a bank of training images registered as a buffer). The example
inputs that order the layers come from the grader. Only tensors, strings and shapes cross the
wire; the model object stays here.

Two pure helpers here are shared with the grader's side, which runs them on its own models and
imports nothing else from this package: `modules_in_run_order` (the run order of the grader's
model, `grader.judging.transplant`, so both sides order layers alike) and `forward_in_chunks`
(drawing with the grader's model, `grader.judging.drawing`).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn as nn

from grader.sandbox.ops import operation


def first_calls(model: nn.Module, args: list[Any], chosen: Callable[[nn.Module], bool]) -> list[nn.Module]:
    """The modules of `model` that `chosen` picks, in the order an eval-mode, gradient-free
    `model(*args)` first calls them (the model's own mode is restored)."""
    order: list[nn.Module] = []
    hooks = [module.register_forward_pre_hook(lambda m, _: order.append(m) if m not in order else None)
             for module in model.modules() if chosen(module)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(*args)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return order


def has_own_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False))


def has_own_tensors(module: nn.Module) -> bool:
    return has_own_parameters(module) or any(True for _ in module.buffers(recurse=False))


def modules_in_run_order(model: nn.Module, args: list[Any]) -> list[tuple[str, nn.Module]]:
    """(qualified name, module) of every module with tensors of its own (parameters or buffers),
    in the order an eval-mode, gradient-free `model(*args)` first calls it."""
    names = {module: name for name, module in model.named_modules()}
    return [(names.get(module, "?"), module) for module in first_calls(model, args, has_own_tensors)]


def trained_state(model: nn.Module, args: list[Any]) -> dict[str, Any]:
    """The evidence described in the module docstring, on the CPU."""
    layers = [{"name": name, "type": type(module).__name__,
               "state": {key: value.detach().cpu().clone() for key, value in module.state_dict().items()}}
              for name, module in modules_in_run_order(model, args)]
    holds = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    return {"layers": layers, "holds": holds}


# --- the fresh worker's side of `grader.judging.drawing` (the student edition) ------------------

@operation
def load_trained(model_class: Callable[..., nn.Module], kwargs: dict[str, Any], state: dict[str, torch.Tensor], *,
                 progress) -> tuple[nn.Module | None, str]:
    """(the student's model_class(**kwargs) holding `state`, in eval mode, "") in a fresh worker, or
    (None, what is wrong) when the fresh model's state_dict has other names or shapes than `state`."""
    model = model_class(**kwargs)
    own = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    given = {key: tuple(value.shape) for key, value in state.items()}
    if own != given:
        differ = sorted(set(own.items()) ^ set(given.items()))
        shown = ", ".join(f"{key} {shape}" for key, shape in differ[:4])
        return None, f"holds other tensors than its trained state ({shown})"
    model.load_state_dict(state, strict=True)
    return model.eval(), ""


def forward_in_chunks(model: nn.Module, inputs: list[torch.Tensor], chunk: int) -> torch.Tensor:
    """model(*inputs) in eval mode without gradients, `chunk` rows at a time, float32 on the CPU."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(inputs[0]), chunk):
            out.append(model(*[x[start:start + chunk] for x in inputs]).float().cpu())
    return torch.cat(out)


@operation
def eval_forward(model: nn.Module, inputs: list[torch.Tensor], *, chunk: int, progress) -> torch.Tensor:
    """`forward_in_chunks` in the fresh worker."""
    return forward_in_chunks(model, inputs, chunk)
