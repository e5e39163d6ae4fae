"""What the grading suites use: the `task` marker, comparisons that explain themselves, references.

A suite test looks like this:

    @task("<practice>.1", points=1, category="values", visibility="public")
    def test_relu_matches_torch(student):
        x = torch.randn(4, 5)
        assert_close(student.relu(x), torch.relu(x), call="relu(x)", hint="ReLU is max(0, x).")

`student` is the student's module in a fresh worker (a `Remote`): every call runs there and
returns plain data. Expected values are computed here, in the trusted process. Messages are
written to the student, in the second person, and never quote the test's source.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any, Callable

import pytest
import torch

from grader import paths
from grader.sandbox import Session, StudentException
from grader.sandbox.proxy import Remote

CATEGORIES = ("shapes", "values", "gradients", "convergence")
VISIBILITIES = ("public", "hidden")


def task(task_id: str, *, points: float = 1, category: str, visibility: str = "public",
         timeout: float | None = None, style: bool = False) -> pytest.MarkDecorator:
    """Mark a test as part of a task: `task("<practice>.4", points=2, category="values")`.

    The practice is the part of the id before the dot. `timeout` overrides the per-call limit.
    `style=True` marks a test that code doing nothing would pass: one that judges how the code is
    written (no torch.sigmoid, no autograd in a manual backward) or what it must not do (no graph,
    no stale gradients) rather than what it computes. Its points count only when every other test
    of the task passed too (`scoring.require_behaviour`).
    """
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {CATEGORIES}, not {category!r}")
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, not {visibility!r}")
    return pytest.mark.task(task_id, points=points, category=category, visibility=visibility,
                            timeout=timeout, style=style)


class GradingFailure(AssertionError):
    """A check that failed, with a message for the student."""


def fail(message: str, hint: str | None = None) -> None:
    raise GradingFailure(message + (f"\nHint: {hint}" if hint else ""))


def check(condition: bool, message: str, hint: str | None = None) -> None:
    if not condition:
        fail(message, hint)


def assert_close(actual: Any, expected: torch.Tensor, *, call: str, atol: float = 1e-5,
                 rtol: float = 1e-4, hint: str | None = None) -> None:
    """`actual` (what the student's code returned) must match `expected` in type, shape and values.

    Tolerance: |actual - expected| <= atol + rtol * |expected|, elementwise (as torch.allclose).
    """
    if not isinstance(actual, torch.Tensor):
        fail(f"{call} should return a tensor, but your code returned {_kind(actual)}.", hint)
    if tuple(actual.shape) != tuple(expected.shape):
        fail(f"{call} should return shape {tuple(expected.shape)}, but yours has shape {tuple(actual.shape)}.",
             hint)
    if actual.dtype != expected.dtype:
        fail(f"{call} should return dtype {expected.dtype}, but yours is {actual.dtype}.", hint)
    actual64, expected64 = actual.to(torch.float64), expected.to(torch.float64)
    if not torch.isfinite(actual64).all() and torch.isfinite(expected64).all():
        fail(f"{call} returned inf or nan where every expected value is finite.", hint)
    error = (actual64 - expected64).abs()
    allowed = atol + rtol * expected64.abs()
    if not (error <= allowed).all():
        index = tuple(int(i) for i in torch.nonzero(~(error <= allowed))[0])
        where = f" at index {index}" if index else ""
        fail(f"{call} returned wrong values: expected {expected64[index].item():.6g}{where}, "
             f"got {actual64[index].item():.6g} (largest difference {error.max().item():.3g}, "
             f"tolerance {atol:g} + {rtol:g}*|expected|).", hint)


def assert_equal(actual: Any, expected: Any, *, call: str, hint: str | None = None) -> None:
    """Exact equality for plain values (ints, tuples); the type must match too (3 is not 3.0)."""
    if type(actual) is not type(expected):
        fail(f"{call} should return {_kind(expected)} {expected!r}, but your code returned {_kind(actual)} "
             f"{_short(actual)}.", hint)
    if actual != expected:
        fail(f"{call} should return {expected!r}, but your code returned {_short(actual)}.", hint)


def assert_raises(action: Callable[[], Any], exc_type: type[BaseException] | tuple, *, call: str,
                  hint: str | None = None) -> StudentException:
    """The student's code must raise `exc_type` (matched by class name, which is all that crosses)."""
    names = tuple(t.__name__ for t in (exc_type if isinstance(exc_type, tuple) else (exc_type,)))
    try:
        result = action()
    except StudentException as error:
        if error.exc_type in names or (error.exc_type != "NotImplementedError" and "Exception" in names):
            return error
        if error.exc_type == "NotImplementedError":
            raise
        fail(f"{call} should raise {' or '.join(names)}, but your code raised {error.exc_type}: "
             f"{error.message}", hint)
    fail(f"{call} should raise {' or '.join(names)}, but your code returned {_short(result)}.", hint)
    raise AssertionError("unreachable")


NOT_DIFFERENTIABLE = ("is it computed with differentiable torch operations, with no .detach(), .item(), "
                      ".numpy(), .data or torch.no_grad() on the way?")


def assert_grads_close(session: Session, name: str, inputs: list[Any], expected_fn: Callable[..., torch.Tensor],
                       *, call: str, input_names: list[str], hint: str | None = None, seed: int = 0,
                       atol: float = 1e-7, rtol: float = 1e-5) -> None:
    """The gradients autograd finds through the student's `name(*inputs)` match torch's.

    For each floating-point tensor input, the gradient of <output, g> (g a fixed random tensor)
    through the student's function, computed in the worker, is compared with the same gradient
    through `expected_fn`, computed here.
    """
    leaves = [x.detach().clone().requires_grad_(True) if _is_float(x) else x for x in inputs]
    expected = expected_fn(*leaves)
    generator = torch.Generator().manual_seed(seed)
    grad_output = torch.randn(expected.shape, generator=generator, dtype=torch.float64).to(expected.dtype)
    wanted = [x for x in leaves if _is_float(x)]
    expected_grads = iter(torch.autograd.grad(expected, wanted, grad_output, allow_unused=True))
    expected_by_input = [next(expected_grads) if _is_float(x) else None for x in leaves]

    fn = getattr(session.module, name)
    assert_close(fn(*inputs), expected.detach(), call=call, atol=atol, rtol=rtol, hint=hint)
    _, grads = session.run("vjp", fn, inputs, grad_output)
    for input_name, grad, want in zip(input_names, grads, expected_by_input):
        if want is None:
            continue
        if grad is None:
            fail(f"{call}: no gradient flows back to {input_name} through your result: {NOT_DIFFERENTIABLE}",
                 hint)
        assert_close(grad, want, call=f"the gradient of {call} with respect to {input_name}", atol=atol,
                     rtol=rtol, hint=hint)


def assert_no_forbidden_calls(session: Session, name: str, inputs: list[Any], forbidden: list[str], *,
                              call: str, hint: str, call_kwargs: dict[str, Any] | None = None) -> None:
    """The student's `name(*inputs)` calls none of the torch functions `forbidden` (dotted names)."""
    fn = getattr(session.module, name)
    called = session.run("forbidden_calls", fn, inputs, forbidden, call_kwargs=call_kwargs)
    check(isinstance(called, list), f"{call}: the check for forbidden calls did not come back as a list.")
    if called:
        fail(f"{call} calls {', '.join(str(c) for c in called)}: this practice asks you to write it yourself "
             "from the formula in the docstring.", hint)


def _is_float(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.is_floating_point()


def _kind(value: Any) -> str:
    if value is None:
        return "None"
    name = value._type if isinstance(value, Remote) else type(value).__name__  # an object kept in the worker
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return f"{article} {name} object" if isinstance(value, Remote) else f"{article} {name}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_references: dict[str, ModuleType] = {}


def reference(practice: str) -> ModuleType:
    """The reference solution of `practice`, imported here in the trusted process."""
    if practice not in _references:
        path = paths.SOLUTIONS_DIR / f"{practice}.py"
        spec = importlib.util.spec_from_file_location(f"bootcamp_reference_{practice}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _references[practice] = module
    return _references[practice]
