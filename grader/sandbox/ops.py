"""Trusted operations: grader-written code that runs in the worker on the student's objects.

Some checks need work done next to the student's objects: a backward pass through their
function, a training loop over their model. These functions are written by the grader, but they
run in the untrusted worker, so what they return is only evidence (outputs, gradients, losses,
logits on held-out images) that the trusted side judges. Labels the student must not see never
enter the worker.

Each operation takes a `progress(data)` keyword to stream intermediate data back. Operations
here are named by their function name (`"vjp"`); operations elsewhere in the grader register
with the same decorator and are named `"module:function"` (`"grader.operations.steps:train_step_probe"`),
imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

import torch

REGISTRY: dict[str, Callable[..., Any]] = {}


def operation(fn: Callable[..., Any]) -> Callable[..., Any]:
    name = fn.__name__ if fn.__module__ == __name__ else f"{fn.__module__}:{fn.__name__}"
    REGISTRY[name] = fn
    return fn


def lookup(name: str) -> Callable[..., Any]:
    """The operation called `name`, importing its grader module if needed."""
    module, _, _ = name.rpartition(":")
    if module and name not in REGISTRY:
        if not module.startswith("grader."):
            raise KeyError(f"{name!r} is not a grader operation")
        importlib.import_module(module)
    return REGISTRY[name]


@operation
def vjp(fn: Callable[..., Any], inputs: list[Any], grad_output: torch.Tensor, *, progress) -> tuple:
    """Vector-Jacobian product through the student's function.

    Returns (output, grads): output = fn(*inputs), and for each floating-point tensor input the
    gradient of <output, grad_output> with respect to it (None for other inputs, or where the
    output does not depend on that input).
    """
    leaves = [x.detach().requires_grad_(True) if _differentiable(x) else x for x in inputs]
    output = fn(*leaves)
    wanted = [x for x in leaves if _differentiable(x)]
    if not isinstance(output, torch.Tensor) or not output.requires_grad:
        return output, [None for _ in leaves]
    grads = iter(torch.autograd.grad(output, wanted, grad_output, allow_unused=True))
    return output, [next(grads) if _differentiable(x) else None for x in leaves]


def _differentiable(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.is_floating_point()


@operation
def forbidden_calls(fn: Callable[..., Any], args: list[Any], names: list[str], *,
                    call_kwargs: dict[str, Any] | None = None, progress) -> list[str]:
    """Which of the torch functions `names` the student's `fn(*args, **call_kwargs)` called.

    names are dotted paths such as "torch.nn.functional.conv2d" or "torch.Tensor.unfold". During
    the call each is replaced by a wrapper that records its name and then does the original's
    work; so is any global of `fn`'s module bound to one of them (`from torch import conv2d`).
    Everything is restored afterwards. Returns the names called, each once, in the order first
    called (an empty list if none was). An exception raised by `fn` propagates.

    This guards against honest mistakes (calling F.conv2d inside your own conv2d). Code that
    wants to hide a call can evade it (by reaching the function another way), and the result is
    evidence from the worker, not proof.
    """
    called: list[str] = []
    restore: list[Callable[[], None]] = []

    def recorder(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def record(*a: Any, **k: Any) -> Any:
            if name not in called:
                called.append(name)
            return original(*a, **k)
        return record

    def replace(owner: Any, attr: str, name: str) -> Any:
        own = isinstance(owner, type) and attr in owner.__dict__
        original = getattr(owner, attr)
        saved = owner.__dict__[attr] if own else original
        setattr(owner, attr, recorder(name, original))
        if isinstance(owner, type) and not own:
            restore.append(lambda: delattr(owner, attr))
        else:
            restore.append(lambda: setattr(owner, attr, saved))
        return original

    try:
        originals: dict[int, str] = {}
        for name in names:
            owner, attr = _resolve_owner(name)
            if owner is None:
                continue
            originals.setdefault(id(replace(owner, attr, name)), name)
        module_globals = getattr(fn, "__globals__", None)
        if isinstance(module_globals, dict):
            for key, value in list(module_globals.items()):
                if id(value) in originals and not key.startswith("__"):
                    module_globals[key] = recorder(originals[id(value)], value)
                    restore.append(lambda key=key, value=value: module_globals.__setitem__(key, value))
        fn(*args, **(call_kwargs or {}))
    finally:
        for undo in reversed(restore):
            undo()
    return called


def _resolve_owner(name: str) -> tuple[Any, str]:
    """("torch.nn.functional", "conv2d") as (the module object, "conv2d"); (None, "") if absent."""
    import importlib

    parts = name.split(".")
    owner: Any = importlib.import_module(parts[0])
    for part in parts[1:-1]:
        owner = getattr(owner, part, None)
        if owner is None:
            return None, ""
    if not hasattr(owner, parts[-1]):
        return None, ""
    return owner, parts[-1]


@operation
def call_inspecting_inputs(fn: Callable[..., Any], args: list[Any], *, progress) -> tuple:
    """Call the student's `fn(*args)` and show what it did to its arguments.

    Returns (output, args_after, same_object): output = fn(*args); args_after, the arguments as
    they are after the call (so the trusted side can tell whether fn modified a tensor in place);
    same_object, for each argument, whether the output is that very object (True means fn
    returned its input instead of a new tensor).
    """
    output = fn(*args)
    return output, list(args), [output is a for a in args]
