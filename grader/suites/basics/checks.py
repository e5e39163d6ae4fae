"""Checks the `basics` tests share: gradients through the student's function, forbidden calls.

Expected values are computed here, in the trusted process, with torch's own functions.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from grader.sandbox import Session
from grader.testing import assert_close, check, fail

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
