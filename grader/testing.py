"""What the grading suites use: the `task` marker, comparisons that explain themselves, references.

A suite test looks like this:

    @task("basics.1", points=1, category="values", visibility="public")
    def test_relu_matches_torch(student):
        x = torch.randn(4, 5)
        assert_close(student.relu(x), torch.relu(x), call="relu(x)", hint="ReLU is max(0, x).")

`student` is the student's module in a fresh worker (a `Remote`): every call runs there and
returns plain data. Expected values are computed here, in the trusted process. Messages are
written to the student, in the second person, and never quote the test's source.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from types import ModuleType
from typing import Any, Callable

import pytest
import torch

from grader import paths
from grader.sandbox import StudentException

CATEGORIES = ("shapes", "values", "gradients", "convergence")
VISIBILITIES = ("public", "hidden")


def task(task_id: str, *, points: float = 1, category: str, visibility: str = "public",
         timeout: float | None = None) -> pytest.MarkDecorator:
    """Mark a test as part of a task: `task("conv_shapes.4", points=2, category="values")`.

    The practice is the part of the id before the dot. `timeout` overrides the per-call limit.
    """
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {CATEGORIES}, not {category!r}")
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, not {visibility!r}")
    return pytest.mark.task(task_id, points=points, category=category, visibility=visibility,
                            timeout=timeout)


class GradingFailure(AssertionError):
    """A check that failed, with a message for the student."""


def fail(message: str, hint: str | None = None) -> None:
    raise GradingFailure(message + (f"\nHint: {hint}" if hint else ""))


def check(condition: bool, message: str, hint: str | None = None) -> None:
    if not condition:
        fail(message, hint)


def assert_close(actual: Any, expected: torch.Tensor, *, call: str, atol: float = 1e-5,
                 rtol: float = 1e-4, hint: str | None = None, check_dtype: bool = True) -> None:
    """`actual` (what the student's code returned) must match `expected` in type, shape and values.

    Tolerance: |actual - expected| <= atol + rtol * |expected|, elementwise (as torch.allclose).
    """
    if not isinstance(actual, torch.Tensor):
        fail(f"{call} should return a tensor, but your code returned {_kind(actual)}.", hint)
    if tuple(actual.shape) != tuple(expected.shape):
        fail(f"{call} should return shape {tuple(expected.shape)}, but yours has shape {tuple(actual.shape)}.",
             hint)
    if check_dtype and actual.dtype != expected.dtype:
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


def _kind(value: Any) -> str:
    if value is None:
        return "None"
    article = "an" if type(value).__name__[0].lower() in "aeiou" else "a"
    return f"{article} {type(value).__name__}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@functools.lru_cache(maxsize=None)
def suite_settings(practice: str) -> ModuleType | None:
    """`grader/suites/<practice>/tasks.py`: TASKS (task id -> title) and WARM_UP (the practice
    trains models, so each submission's workers start with torch's optimizers initialised)."""
    path = paths.SUITES_DIR / practice / "tasks.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"bootcamp_tasks_{practice}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
