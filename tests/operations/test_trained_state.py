"""`grader.operations.trained_state`: a trained model's layers in run order, what it holds, and
the fresh worker's refusal of a model that holds more than its trained state."""

from __future__ import annotations

import torch
import torch.nn as nn

from grader.operations.trained_state import (eval_forward, forward_in_chunks, load_trained, modules_in_run_order,
                                             trained_state)


class Generator(nn.Module):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.out = nn.Linear(width, 3)  # defined first, runs last
        self.norm = nn.BatchNorm1d(width, affine=False)
        self.project = nn.Linear(2, width)

    def forward(self, z):
        return self.out(torch.relu(self.norm(self.project(z))))


class Hoarder(Generator):
    """A Generator that keeps a bank of images in a buffer."""

    def __init__(self, width: int = 4) -> None:
        super().__init__(width)
        self.register_buffer("bank", torch.zeros(10, 3))


def quiet(data):
    return None


def test_layers_come_in_run_order_with_their_names_and_every_tensor_is_listed():
    model = Hoarder()
    found = trained_state(model, [torch.randn(5, 2)])
    assert [(layer["name"], layer["type"]) for layer in found["layers"]] == [
        ("", "Hoarder"), ("project", "Linear"), ("norm", "BatchNorm1d"), ("out", "Linear")]  # the bank's holder first
    assert found["layers"][0]["state"]["bank"].shape == (10, 3)
    assert set(found["layers"][2]["state"]) == {"running_mean", "running_var", "num_batches_tracked"}
    assert found["holds"]["bank"] == (10, 3) and len(found["holds"]) == len(model.state_dict())
    assert [name for name, _ in modules_in_run_order(Generator(), [torch.randn(5, 2)])] == ["project", "norm", "out"]


def test_the_fresh_worker_refuses_a_model_holding_an_extra_tensor():
    state = Generator(width=4).state_dict()
    model, why = load_trained(Hoarder, {"width": 4}, state, progress=quiet)
    assert model is None and "bank (10, 3)" in why
    model, why = load_trained(Generator, {"width": 4}, state, progress=quiet)
    assert why == "" and not model.training and torch.equal(model.out.weight, state["out.weight"])


def test_forward_in_chunks_is_the_whole_forward():
    torch.manual_seed(0)
    model = Generator()
    z = torch.randn(10, 2)
    model.eval()
    with torch.no_grad():
        whole = model(z)
    assert torch.allclose(forward_in_chunks(model, [z], chunk=3), whole, atol=1e-6)
    assert torch.allclose(eval_forward(model, [z], chunk=4, progress=quiet), whole, atol=1e-6)
