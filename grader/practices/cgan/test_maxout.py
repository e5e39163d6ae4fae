"""cgan.1: Maxout, given known weights: its values, and where its gradient goes.

The student's Maxout is built in the worker and its one linear layer is given weights made
here; the expected output and gradients are computed here from the definition
(linear -> (B, units, pieces) -> max over pieces).
"""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.practices.cgan.reference import GAN_PROBES, layer_list
from grader.testing import assert_close, check, fail, task

LAYOUT_HINT = ("output unit j is the max of linear outputs j*pieces ... j*pieces + pieces - 1: reshape the "
               "linear output to (B, units, pieces) and take .max(dim=2).values.")


def case(in_features: int, units: int, pieces: int, batch: int, seed: int) -> dict:
    generator = torch.Generator().manual_seed(seed)
    return {"weight": torch.randn(units * pieces, in_features, generator=generator) / math.sqrt(in_features),
            "bias": 0.1 * torch.randn(units * pieces, generator=generator),
            "x": torch.randn(batch, in_features, generator=generator),
            "grad_output": torch.randn(batch, units, generator=generator)}


def linear_pieces(c: dict, units: int, pieces: int, *, layout: str = "units") -> torch.Tensor:
    out = c["x"] @ c["weight"].T + c["bias"]  # (B, units * pieces)
    if layout == "units":
        return out.view(-1, units, pieces)  # (B, units, pieces)
    return out.view(-1, pieces, units).transpose(1, 2)  # the other grouping, for hints


def probe(student_session, in_features: int, units: int, pieces: int, c: dict) -> dict:
    result = student_session.run(f"{GAN_PROBES}:maxout_probe", student_session.module.Maxout, in_features, units, pieces,
                                 c["weight"], c["bias"], c["x"], c["grad_output"])
    if result["output"] is None:
        fail(f"Maxout({in_features}, {units}, {pieces}) has these layers with parameters: "
             f"{layer_list(result['layers'])}; expected exactly one nn.Linear({in_features}, {units * pieces}) "
             f"(weight {(units * pieces, in_features)}, bias {(units * pieces,)}).",
             "a maxout layer is one linear map to units * pieces outputs: nn.Linear(in_features, units * pieces).")
    return result


def check_values(student_session, in_features: int, units: int, pieces: int, batch: int, seed: int) -> None:
    c = case(in_features, units, pieces, batch, seed)
    out = probe(student_session, in_features, units, pieces, c)["output"]
    expected = linear_pieces(c, units, pieces).max(dim=2).values  # (B, units)
    call = f"Maxout({in_features}, {units}, {pieces})(x) with x of shape ({batch}, {in_features})"
    if isinstance(out, torch.Tensor) and out.shape == expected.shape and pieces > 1 and units > 1:
        if torch.allclose(out, linear_pieces(c, units, pieces, layout="pieces").max(dim=2).values, atol=1e-5):
            fail(f"{call} took the max over the wrong groups: your output is the max over (B, pieces, units) "
                 "groups, the reference groups (B, units, pieces).", LAYOUT_HINT)
        if torch.allclose(out, linear_pieces(c, units, pieces).min(dim=2).values, atol=1e-5):
            fail(f"{call} returned the minimum over each unit's pieces, not the maximum.", "use .max(dim=2).values.")
    assert_close(out, expected, atol=1e-5, rtol=1e-4, call=call, hint=LAYOUT_HINT)


@task("cgan.1", points=2, category="values", visibility="public")
def test_maxout_values_with_known_weights(student_session):
    check_values(student_session, 784, 240, 5, batch=4, seed=0)
    check_values(student_session, 10, 50, 5, batch=3, seed=1)


@task("cgan.1", points=2, category="gradients", visibility="public")
def test_maxout_gradient_reaches_only_the_winning_piece(student_session):
    in_features, units, pieces, batch = 12, 6, 4, 5
    c = case(in_features, units, pieces, batch, seed=2)
    result = probe(student_session, in_features, units, pieces, c)
    weight = c["weight"].clone().requires_grad_(True)
    bias = c["bias"].clone().requires_grad_(True)
    x = c["x"].clone().requires_grad_(True)
    out = (x @ weight.T + bias).view(batch, units, pieces).max(dim=2).values
    expected = torch.autograd.grad(out, [weight, bias, x], c["grad_output"])
    grads = result.get("grads") or [None, None, None]
    base = f"the gradient of <Maxout({in_features}, {units}, {pieces})(x), g> with respect to"
    check(grads[0] is not None, f"{base} the linear layer's weight: none reached it.",
          "keep the computation differentiable: no .detach(), .data, torch.no_grad() or argmax indexing "
          "that drops the graph; .max(dim=2).values carries the gradient to the winning piece.")
    rows = (grads[1] != 0) if grads[1] is not None else torch.zeros(units * pieces, dtype=torch.bool)
    losers = int((rows & (expected[1] == 0)).sum())
    check(losers == 0, f"{base} the linear layer's bias reached {losers} linear outputs that lost the max; only "
          "the winning piece of each unit may receive gradient.",
          "the max passes its gradient only to the piece that won: take .max(dim=2).values, not a soft "
          "or averaged maximum.")
    for name, got, want in zip(("the linear layer's weight", "the linear layer's bias", "the input x"), grads,
                               expected):
        assert_close(got, want, atol=1e-5, rtol=1e-4, call=f"{base} {name}", hint=LAYOUT_HINT)


@task("cgan.1", points=1, category="values", visibility="hidden")
@settings(max_examples=12)
@given(in_features=st.integers(1, 20), units=st.integers(1, 8), pieces=st.integers(1, 5), batch=st.integers(1, 6),
       seed=st.integers(0, 10**6))
def test_maxout_for_random_sizes(student_session, in_features, units, pieces, batch, seed):
    check_values(student_session, in_features, units, pieces, batch, seed)
