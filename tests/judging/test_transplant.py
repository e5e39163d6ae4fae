"""The grader's own model draws what a student's trained weights draw: `grader.judging.transplant`.

Every correct design of the project (the reference and the `# correct` files of the mutation
corpus, written in other styles) maps onto the grader's model exactly, so the grader's forward
gives the student's own outputs; a model that holds anything else is refused with a message
that names the tensor.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from corpus import materialise, mutations

from grader import paths
from grader.practices.cgan.test_convergence import layer_order_inputs as cgan_inputs
from grader.practices.dcgan.judging import layer_order_noise, projection_as_linear
from grader.practices.mnist_cnn.reference_model import EXAMPLE_SEED, digits
from grader.testing import GradingFailure, reference
from grader.operations.trained_state import trained_state
from grader.judging.transplant import TransplantError, grader_model, transplant

DCGAN = {"nz": 100, "ngf": 16, "nc": 1, "image_size": 32}
PIX2PIX = {"ngf": 16, "depth": 6}


def correct_designs(practice: str) -> list:
    """(practice, None) for the reference, then (practice, mutation) for each `# correct` mutation."""
    designs = [pytest.param(practice, None, id=f"{practice}/{practice}")]
    designs += [pytest.param(practice, m, id=m.id) for m in mutations(practice) if m.kind == "correct"]
    return designs


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(f"design_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_if_trained(model: nn.Module, seed: int = 3) -> nn.Module:
    """Every tensor moved off its initial value (batch-norm statistics too), as training leaves them."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                tensor.add_(0.05 * torch.randn(tensor.shape, generator=generator))
                if name.endswith("running_var"):
                    tensor.abs_().add_(0.5)
    return model.eval()


CASES = {  # practice: (build the student's model, build the grader's, example inputs, inputs to compare on, convert)
    "mnist_cnn": (lambda m: m.MnistCNN(), lambda: reference("mnist_cnn").MnistCNN(),
                  lambda: [digits(2, EXAMPLE_SEED)], lambda: [digits(5, 7)], None),
    "cgan": (lambda m: m.Generator(), lambda: reference("cgan").Generator(), cgan_inputs,
             lambda: [torch.randn(5, 100), torch.arange(5)], None),
    "dcgan": (lambda m: m.Generator(**DCGAN), lambda: reference("dcgan").Generator(**DCGAN), layer_order_noise,
              lambda: [torch.randn(5, 100)], projection_as_linear),
    "pix2pix": (lambda m: m.UNetGenerator(**PIX2PIX), lambda: reference("pix2pix").UNetGenerator(**PIX2PIX),
                lambda: [torch.rand(2, 3, 64, 64) * 2 - 1], lambda: [torch.rand(3, 3, 64, 64) * 2 - 1], None),
}


@pytest.mark.parametrize("practice, design", [p for practice in CASES for p in correct_designs(practice)])
def test_every_correct_design_draws_the_same_in_the_grader_model(practice, design, tmp_path):
    build, grader_build, example, inputs, convert = CASES[practice]
    if design is None:
        path, name = paths.SOLUTIONS_DIR / f"{practice}.py", f"{practice}_{practice}"
    else:
        path, name = materialise(design, tmp_path), f"{design.practice}_{design.name}"
    torch.manual_seed(0)
    student = as_if_trained(build(load(path, name)))
    ours = transplant(trained_state(student, example()), grader_build(), example(), name="the model", convert=convert)
    args = inputs()
    with torch.no_grad():
        assert torch.allclose(ours(*args), student(*args), atol=1e-5)
    assert not ours.training


def reference_generator() -> nn.Module:
    return as_if_trained(reference("dcgan").Generator(**DCGAN))


def refusal(student: nn.Module) -> str:
    with pytest.raises(TransplantError) as refused:
        transplant(trained_state(student, layer_order_noise()), reference("dcgan").Generator(**DCGAN),
                   layer_order_noise(), name="your Generator", convert=projection_as_linear)
    return str(refused.value)


def test_a_bank_registered_on_the_model_is_refused():
    student = reference_generator()
    student.register_buffer("bank", torch.zeros(64, 1, 32, 32))
    assert "(the model itself): bank (64, 1, 32, 32)" in refusal(student)


def test_a_bank_in_a_module_the_forward_never_runs_is_refused():
    student = reference_generator()
    student.store = nn.Module()
    student.store.register_buffer("images", torch.zeros(64, 1, 32, 32))
    assert "no part of the layers its forward runs: store.images (64, 1, 32, 32)" in refusal(student)


def test_an_extra_tensor_on_a_layer_is_refused():
    student = reference_generator()
    student.out.register_buffer("memory", torch.zeros(10))
    message = refusal(student)
    assert "out: " in message and "memory (10,)" in message


def test_a_missing_layer_is_refused_with_both_lists():
    student = reference_generator()
    student.out = nn.Identity()
    assert "the declared architecture has" in refusal(student)


@pytest.mark.parametrize("evidence", [None, {"layers": "x", "holds": {}}, {"layers": [{"name": 1}], "holds": {}},
                                      {"layers": [{"name": "a", "type": "T", "state": {"w": [1.0]}}], "holds": {}}])
def test_evidence_of_another_shape_is_refused(evidence):
    with pytest.raises(TransplantError, match="did not come back as layers of tensors"):
        transplant(evidence, reference("dcgan").Generator(**DCGAN), layer_order_noise(), name="G")


def test_a_refusal_fails_the_test_with_a_hint():
    student = reference_generator()
    student.register_buffer("bank", torch.zeros(3))
    with pytest.raises(GradingFailure, match="after 1,000 steps, your Generator"):
        grader_model(trained_state(student, layer_order_noise()), reference("dcgan").Generator(**DCGAN),
                     layer_order_noise(), name="your Generator", what="after 1,000 steps")
