"""The reference MnistCNN on the trusted side, and comparisons of a student's model with it.

Layers are matched by the order they run and their type (see `grader.training.probes`), never by
attribute names, so any correct design passes.
"""

from __future__ import annotations

import torch

from grader.testing import fail, reference
from grader.training.probes import layer_states, layers

PROBES = "grader.training.probes"
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


def load_reference_weights(session, model, seed: int = 0) -> torch.nn.Module:
    """Give the student's model the reference's weights (layer by layer, in run order).

    Returns the reference model holding the same weights; fails with both layer lists when the
    designs differ.
    """
    ref = reference_model(seed)
    example = digits(2, EXAMPLE_SEED)
    states = layer_states(ref, example)
    found = session.run(f"{PROBES}:load_layers", model, example, states)
    expected = layers(ref, example, progress=None)
    if [d["shapes"] for d in found] != [d["shapes"] for d in expected]:
        fail(f"your model's layers with parameters, in the order they run, are: {layer_list(found)}; "
             f"expected: {layer_list(expected)}.",
             "build exactly the layers in the MnistCNN docstring, and use each one in forward in that order.")
    return ref
