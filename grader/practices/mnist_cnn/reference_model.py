"""The reference MnistCNN on the trusted side, and comparisons of a student's model with it.

Layers are matched by the order they run and their type (see `grader.operations.models`), never by
attribute names, so any correct design passes. What the tests compare with comes from the
`@recorded` functions here (`grader.recorded`): computed from the reference where it is, else
read from the values the release recorded.
"""

from __future__ import annotations

import torch

from grader.recorded import recorded
from grader.testing import fail, reference
from grader.operations.models import layer_states, layers, norm_settings_of

MODELS = "grader.operations.models"
STEPS = "grader.operations.steps"
EXAMPLE_SEED = 1234


def digits(batch: int, seed: int) -> torch.Tensor:
    """(B, 1, 28, 28) float32 inputs, roughly as normalised MNIST looks."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 1, 28, 28, generator=generator)


def labels(batch: int, seed: int) -> torch.Tensor:
    """(B,) int64 digit classes."""
    return torch.randint(0, 10, (batch,), generator=torch.Generator().manual_seed(seed))


def reference_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return reference("mnist_cnn").MnistCNN()


def layer_list(described: list[dict]) -> str:
    return ", ".join(f"{d['type']}{tuple(d['shapes'].get('weight', ()))}" for d in described) or "none"


@recorded
def reference_parameter_count() -> int:
    return sum(p.numel() for p in reference_model().parameters())


@recorded
def reference_layers() -> list[dict]:
    """[{type, shapes}] of the reference's parameterised layers, in run order."""
    return layers(reference_model(), [digits(2, EXAMPLE_SEED)], progress=None)


@recorded
def reference_weights(seed: int) -> list[dict[str, torch.Tensor]]:
    """The state of each parameterised layer, in run order, of the reference drawn with `seed`."""
    return layer_states(reference_model(seed), [digits(2, EXAMPLE_SEED)])


@recorded
def reference_logits(seed: int, batch: int, data_seed: int, train: bool) -> torch.Tensor:
    """(B, 10): the reference drawn with `seed`, in train or eval mode, on digits(batch, data_seed)."""
    model = reference_model(seed)
    model.train(train)
    with torch.no_grad():
        return model(digits(batch, data_seed))


@recorded
def reference_norm_settings(data_seed: int) -> list[dict]:
    """The reference's batch norms' settings, in run order (`grader.operations.models.norm_settings_of`)."""
    return norm_settings_of(reference_model(), [digits(2, data_seed)])


def load_reference_weights(session, model, seed: int = 0) -> None:
    """Give the student's model the reference's weights (layer by layer, in run order); fails with
    both layer lists when the designs differ."""
    found = session.run(f"{MODELS}:load_layers", model, [digits(2, EXAMPLE_SEED)], reference_weights(seed))
    expected = reference_layers()
    if [d["shapes"] for d in found] != [d["shapes"] for d in expected]:
        fail(f"your model's layers with parameters, in the order they run, are: {layer_list(found)}; "
             f"expected: {layer_list(expected)}.",
             "build exactly the layers in the MnistCNN docstring, and use each one in forward in that order.")
