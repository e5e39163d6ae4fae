"""`grader.operations.tiny_models`: the grader-made models are named by spec, rebuilt from their
state, and seeded so both sides of a probe start from the same weights."""

from __future__ import annotations

import torch

from grader.operations.tiny_models import MODELS, built, seeded, state_of

SPECS = {"g": {"model": "TinyImageGenerator", "kwargs": {"batch_norm": True}},
         "d": {"model": "TinyImageDiscriminator", "kwargs": {"batch_norm": True}}}


def test_a_seed_gives_the_same_states_and_another_seed_others():
    first, again, other = seeded(3, **SPECS), seeded(3, **SPECS), seeded(4, **SPECS)
    for name in ("g", "d"):
        assert all(torch.equal(v, again[name]["state"][k]) for k, v in first[name]["state"].items())
    assert not torch.equal(first["g"]["state"]["out.weight"], other["g"]["state"]["out.weight"])
    assert first["g"]["kwargs"] == {"batch_norm": True} and first["g"]["model"] == "TinyImageGenerator"


def test_running_statistics_are_drawn_unlike_a_fresh_batch_norms():
    state = seeded(0, **SPECS)["d"]["state"]
    assert state["norm.running_mean"].abs().max() <= 0.5 and state["norm.running_mean"].abs().sum() > 0
    assert state["norm.running_var"].min() >= 0.5 and state["norm.running_var"].max() <= 2.0


def test_a_spec_with_its_state_rebuilds_the_same_model():
    spec = seeded(1, g={"model": "SmallUNet", "kwargs": {}})["g"]
    model = built(spec).eval()
    x = torch.rand(2, 3, 8, 8)
    again = built(spec).eval()
    assert torch.equal(model(x), again(x))
    assert all(torch.equal(v, spec["state"][k]) for k, v in state_of(model).items())


def test_every_model_takes_its_interface_shapes():
    z, labels = torch.randn(2, 100), torch.tensor([3, 7])
    assert MODELS["TinyConditionalGenerator"]()(z, labels).shape == (2, 1, 28, 28)
    assert MODELS["TinyConditionalDiscriminator"]()(torch.rand(2, 1, 28, 28), labels).shape == (2, 1)
    assert MODELS["TinyImageGenerator"]()(z).shape == (2, 1, 8, 8)
    assert MODELS["TinyImageDiscriminator"]()(torch.rand(2, 1, 8, 8)).shape == (2,)
    x = torch.rand(2, 3, 16, 16)
    assert MODELS["TinyTranslator"]()(x).shape == x.shape and MODELS["SmallUNet"]()(x).shape == x.shape
    assert MODELS["TinyPatchCritic"]()(x, x).shape == (2, 1, 8, 8)
    assert MODELS["SmallPatchCritic"]()(x, x).shape == (2, 1, 6, 6)
