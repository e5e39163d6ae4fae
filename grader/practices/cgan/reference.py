"""The reference cGAN on the trusted side, inputs for the tests, and comparisons of a student's
models with the reference.

Layers are matched by their shapes (see `grader.operations.models.load_layers`), never by attribute
names or by which input path runs first, so any correct design passes. What the tests compare with
comes from the `@recorded` functions here (`grader.recorded`).
"""

from __future__ import annotations

import math

import torch

from grader.recorded import recorded
from grader.testing import fail, reference
from grader.operations.models import layer_states, signature

MODELS = "grader.operations.models"
GAN_PROBES = "grader.operations.gan_probes"
STEPS = "grader.operations.steps"
NZ = 100


def noise(batch: int, seed: int) -> torch.Tensor:
    """(B, 100) float32, N(0, 1)."""
    return torch.randn(batch, NZ, generator=torch.Generator().manual_seed(seed))


def labels(batch: int, seed: int) -> torch.Tensor:
    """(B,) int64 digit classes."""
    return torch.randint(0, 10, (batch,), generator=torch.Generator().manual_seed(seed))


def images(batch: int, seed: int) -> torch.Tensor:
    """(B, 1, 28, 28) float32 in [0, 1], mostly dark like MNIST."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 1, 28, 28, generator=generator) ** 4


def inputs(kind: str, batch: int, seed: int) -> list[torch.Tensor]:
    """[z (B, 100), labels (B,)] for the generator, [x (B, 1, 28, 28), labels (B,)] for the discriminator."""
    first = noise(batch, seed) if kind == "generator" else images(batch, seed)
    return [first, labels(batch, seed + 1)]


def reference_generator(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return reference("cgan").Generator()


def reference_discriminator(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return reference("cgan").Discriminator()


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def shapes_count(shapes: dict) -> int:
    return sum(math.prod(shape) for shape in shapes.values())


def layer_list(described: list[dict]) -> str:
    return ", ".join(f"{d['type']}{tuple(d['shapes'].get('weight', ()))}" for d in described) or "none"


def example_args(kind: str) -> list[torch.Tensor]:
    return [noise(2, 1), labels(2, 2)] if kind == "generator" else [images(2, 1), labels(2, 2)]


def reference_of(kind: str, seed: int = 0) -> torch.nn.Module:
    return reference_generator(seed) if kind == "generator" else reference_discriminator(seed)


@recorded
def reference_parameter_count(kind: str) -> int:
    return parameter_count(reference_of(kind))


@recorded
def reference_weights(kind: str, seed: int) -> list[dict[str, torch.Tensor]]:
    """The state of each parameterised layer, in run order, of the reference `kind` drawn with `seed`."""
    return layer_states(reference_of(kind, seed), example_args(kind), with_buffers=False)


@recorded
def reference_output(kind: str, seed: int, batch: int, data_seed: int) -> torch.Tensor:
    """The reference `kind` drawn with `seed`, in eval mode, on inputs(kind, batch, data_seed):
    images (B, 1, 28, 28) or probabilities (B, 1)."""
    model = reference_of(kind, seed)
    model.eval()
    with torch.no_grad():
        return model(*inputs(kind, batch, data_seed))


def load_reference_weights(session, model, kind: str, seed: int = 0) -> None:
    """Give the student's Generator or Discriminator (`kind`) the reference's weights, layer by
    layer, matched by shape; fails with both layer lists when the designs differ."""
    states = reference_weights(kind, seed)
    found = session.run(f"{MODELS}:load_layers", model, example_args(kind), states, by_shape=True)
    if sorted(signature(d["shapes"]) for d in found) != sorted(signature(s) for s in states):
        name = "Generator" if kind == "generator" else "Discriminator"
        expected = [{"type": "Linear", "shapes": {k: tuple(v.shape) for k, v in s.items()}} for s in states]
        fail(f"your {name}'s layers with parameters, in the order they run, are: {layer_list(found)}; "
             f"expected (in any order): {layer_list(expected)}.",
             f"build exactly the layers in the {name} docstring (each Maxout holds one nn.Linear), and use each "
             "one in forward.")
