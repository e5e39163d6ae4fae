"""A student's trained weights, loaded into the grader's own model of the declared architecture.

The trusted side of `grader.operations.trained_state`. A convergence check judges what the trained
weights draw, never what the student's code returns: the worker hands back each layer's tensors
(in the order the student's forward runs them) and the names of everything the model holds;
here they are checked against the grader's model of the architecture the practice declares, for
the same constructor arguments, and loaded into it. That model's forward is the grader's, so a
student's `forward` can neither return stored images nor compute the answer by a fixed filter,
whatever switches it on; and the only thing carried over from training is the declared tensors.

Matching, the same rule as the architecture tests: a layer is known by its state's names and
shapes (its *signature*), never by attribute names. The k-th layer of a signature in the
student's run order gets the k-th layer of that signature in the grader's, so any grouping or
nesting, and either order of a conditional model's two input paths, maps; layers of the same
shape keep the order they run in. A practice whose architecture admits two equivalent forms of a
layer passes `convert` (say, a projection built as ConvTranspose2d(nz, C, 4) given to the
grader's Linear(nz, C * 16) reshaped).

Refused, with a message that names the tensors: a model that holds a tensor outside the layers
its forward runs (a bank of images registered as a buffer or parameter, a layer never called),
and layers whose signatures differ from the declared ones (an extra tensor on a layer included).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

import torch
import torch.nn as nn

from grader.operations.trained_state import modules_in_run_order

Layer = dict[str, Any]  # {"name": str, "type": str, "state": {key: tensor}}
Convert = Callable[[list[Layer], list[Layer]], list[Layer]]


class TransplantError(Exception):
    """The trained state does not fit the declared architecture; the message says how."""


def signature(state: dict[str, Any]) -> tuple:
    """A layer's identity: its state's names and shapes, sorted."""
    return tuple(sorted((key, tuple(value.shape)) for key, value in state.items()))


def describe(layers: list[Layer]) -> str:
    """'ConvTranspose2d(100, 128, 4, 4), BatchNorm2d(128), ...' for a message."""
    def one(layer: Layer) -> str:
        weight = layer["state"].get("weight")
        return f"{layer['type']}{tuple(weight.shape) if weight is not None else ''}"
    return ", ".join(one(layer) for layer in layers) or "none"


def layers_of(model: nn.Module, args: list[Any]) -> list[Layer]:
    """The grader's model's layers in run order, in the worker's format (states are live tensors)."""
    return [{"name": name, "type": type(module).__name__, "state": module.state_dict(), "module": module}
            for name, module in modules_in_run_order(model, args)]


def _well_formed(trained: Any) -> list[Layer]:
    """The worker's layers, after checking that the evidence has the shape `trained_state` gives."""
    ok = (isinstance(trained, dict) and isinstance(trained.get("layers"), list) and isinstance(trained.get("holds"), dict)
          and all(isinstance(layer, dict) and isinstance(layer.get("name"), str) and isinstance(layer.get("type"), str)
                  and isinstance(layer.get("state"), dict)
                  and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in layer["state"].items())
                  for layer in trained["layers"]))
    if not ok:
        raise TransplantError("the trained model's state did not come back as layers of tensors")
    return trained["layers"]


def extra_tensors(trained: dict[str, Any]) -> list[str]:
    """Entries of the model's state_dict that belong to no layer its forward ran, as 'name (shape)'."""
    covered = {f"{layer['name']}.{key}" if layer["name"] else key
               for layer in trained["layers"] for key in layer["state"]}
    return [f"{name} {tuple(shape)}" for name, shape in trained["holds"].items() if name not in covered]


def match(found: list[Layer], expected: list[Layer]) -> list[Layer] | None:
    """`found` reordered to line up with `expected` (k-th of a signature to k-th), or None when the
    signatures differ."""
    if sorted(signature(layer["state"]) for layer in found) != sorted(signature(layer["state"]) for layer in expected):
        return None
    queues: dict[tuple, list[Layer]] = defaultdict(list)
    for layer in found:
        queues[signature(layer["state"])].append(layer)
    return [queues[signature(layer["state"])].pop(0) for layer in expected]


def _lined_up(trained: Any, expected: list[Layer], *, name: str, convert: Convert | None) -> list[Layer]:
    """The worker's layers lined up with `expected` (k-th of a signature to k-th), after the checks;
    TransplantError when the state is more than, or other than, the declared layers."""
    found = _well_formed(trained)
    extra = extra_tensors(trained)
    if extra:
        shown = ", ".join(extra[:4]) + (f" and {len(extra) - 4} more" if len(extra) > 4 else "")
        raise TransplantError(f"{name} holds tensors that are no part of the layers its forward runs: {shown}. A model "
                              "holds only its layers' weights and batch-norm statistics; the grader draws the "
                              "samples from those alone")
    if convert is not None:
        found = convert(found, expected)
    lined_up = match(found, expected)
    if lined_up is None:
        declared = {signature(layer["state"]) for layer in expected}
        strangers = [f"{layer['name'] or '(the model itself)'}: " + ", ".join(
                     f"{key} {tuple(value.shape)}" for key, value in layer["state"].items())
                     for layer in found if signature(layer["state"]) not in declared]
        unknown = f" (no declared layer holds: {'; '.join(strangers[:3])})" if strangers else ""
        raise TransplantError(f"{name}'s trained layers, in the order they run, are: {describe(found)}; the declared "
                              f"architecture has: {describe(expected)}{unknown}")
    return lined_up


def qualified(layer_name: str, key: str) -> str:
    return f"{layer_name}.{key}" if layer_name else key


def checked_layers(trained: Any, expected: list[Layer], *, name: str,
                   convert: Convert | None = None) -> dict[str, torch.Tensor]:
    """The student's trained state as a state_dict in the student's own names, once it has passed
    the checks of `transplant` against the `expected` layers (declared names, types and shapes in
    run order; their tensors may be shapes only, on the meta device). For a fresh worker that
    loads it into the student's own model (`grader.judging.drawing`)."""
    _lined_up(trained, expected, name=name, convert=convert)
    return {qualified(layer["name"], key): value for layer in trained["layers"] for key, value in layer["state"].items()}


def transplant(trained: Any, model: nn.Module, args: list[Any], *, name: str,
               convert: Convert | None = None, expected: list[Layer] | None = None) -> nn.Module:
    """Load the worker's `trained` layers into the grader's `model` (built with the same constructor
    arguments; `args` are the example inputs that ordered the student's layers) and return it in
    eval mode. Raises TransplantError when the state is more than, or other than, the declared
    layers; `name` is how a message calls the model ("your Generator(ngf=16, ...)"). `expected`:
    the model's layers in run order when they cannot be found by running it (an exported program,
    whose state_dict keys are the `name.key` of these layers); by default, `layers_of(model, args)`."""
    expected = layers_of(model, args) if expected is None else expected
    lined_up = _lined_up(trained, expected, name=name, convert=convert)
    with torch.no_grad():
        if all("module" in layer for layer in expected):
            for theirs, ours in zip(lined_up, expected):
                ours["module"].load_state_dict(theirs["state"])
        else:
            model.load_state_dict({qualified(ours["name"], key): value for theirs, ours in zip(lined_up, expected)
                                   for key, value in theirs["state"].items()}, strict=True)
    return model.eval()


def grader_model(trained: Any, model: nn.Module, args: list[Any], *, name: str, what: str,
                 convert: Convert | None = None) -> nn.Module:
    """`transplant` for a convergence test: a refusal fails the test (GradingFailure) with `what`
    ("after 1,000 steps of your train_step") in front and a hint on building the declared layers."""
    from grader.testing import fail

    try:
        return transplant(trained, model, args, name=name, convert=convert)
    except TransplantError as error:
        fail(f"{what}, {error}.",
             "the grader draws the samples itself, from your model's trained weights loaded into the architecture "
             "of the docstring: build exactly its layers, use each one in forward, and keep nothing else in the model "
             "(the architecture tests of this practice say which layer differs).")
