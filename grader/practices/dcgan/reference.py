"""The reference DCGAN on the trusted side, inputs for the tests, and loading the reference's
weights into a student's model.

Layers are matched by their shapes (`grader.operations.models.load_layers`), never by attribute names
or grouping. The generator's projection may be a Linear(nz, C * 16) viewed as (C, 4, 4) or the
same map as a ConvTranspose2d(nz, C, 4) on (nz, 1, 1): the reference's Linear weight is given to
such a student reshaped, weight_t[k, c, h, w] = weight[c * 16 + h * 4 + w, k]. What the tests
compare with comes from the `@recorded` functions here (`grader.recorded`).
"""

from __future__ import annotations

import torch

from grader.practices.cgan.reference import layer_list, parameter_count, shapes_count  # noqa: F401 (shared)
from grader.recorded import recorded
from grader.testing import fail, reference
from grader.operations.models import layer_states, layers_in_run_order, norm_settings_of, signature

MODELS = "grader.operations.models"
GAN_PROBES = "grader.operations.gan_probes"
STEPS = "grader.operations.steps"
NZ = 100
NAMES = {"generator": "Generator", "discriminator": "Discriminator"}
# (kwargs, image size, channels) of the configurations the tests build
SMALL = {"generator": {"nz": NZ, "ngf": 8, "nc": 1, "image_size": 32},
         "discriminator": {"ndf": 8, "nc": 1, "image_size": 32}}
COLOUR = {"generator": {"nz": NZ, "ngf": 8, "nc": 3, "image_size": 64},
          "discriminator": {"ndf": 8, "nc": 3, "image_size": 64}}


def noise(batch: int, seed: int, nz: int = NZ) -> torch.Tensor:
    """(B, nz) float32, N(0, 1)."""
    return torch.randn(batch, nz, generator=torch.Generator().manual_seed(seed))


def images(batch: int, seed: int, nc: int = 1, size: int = 32) -> torch.Tensor:
    """(B, nc, size, size) float32 in [-1, 1]."""
    return torch.rand(batch, nc, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def reference_model(kind: str, kwargs: dict, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = getattr(reference("dcgan"), NAMES[kind])(**kwargs)
    if seed:  # batch norm as after some training, so a missing or misplaced one shows
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.weight.uniform_(0.5, 1.5)
                    module.bias.uniform_(-0.3, 0.3)
                    module.running_mean.uniform_(-0.2, 0.2)
                    module.running_var.uniform_(0.5, 2.0)
    return model


def example_args(kind: str, kwargs: dict, batch: int = 2, seed: int = 1) -> list[torch.Tensor]:
    if kind == "generator":
        return [noise(batch, seed, kwargs.get("nz", NZ))]
    return [images(batch, seed, kwargs.get("nc", 3), kwargs.get("image_size", 64))]


def call_text(kind: str, kwargs: dict, batch: int, mode: str = "eval") -> str:
    built = f"{NAMES[kind]}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
    if kind == "generator":
        return f"{built}(z ({batch}, {kwargs.get('nz', NZ)})) in {mode} mode"
    size = kwargs.get("image_size", 64)
    return f"{built}(x ({batch}, {kwargs.get('nc', 3)}, {size}, {size})) in {mode} mode"


def as_projection_convolution(states: list[dict], found: list[dict], nz: int) -> list[dict]:
    """The reference's states with its bias-free Linear projection turned into the equivalent
    ConvTranspose2d(nz, C, 4) weight, when the student built it that way."""
    converted = []
    for state in states:
        weight = state.get("weight")
        if set(state) == {"weight"} and weight.dim() == 2 and weight.shape[1] == nz and weight.shape[0] % 16 == 0:
            channels = weight.shape[0] // 16
            wanted = {"weight": (nz, channels, 4, 4)}
            if any(d["shapes"] == wanted for d in found):
                state = {"weight": weight.T.reshape(nz, channels, 4, 4).contiguous()}
        converted.append(state)
    return converted


@recorded
def reference_parameter_count(kind: str, kwargs: dict) -> int:
    return parameter_count(reference_model(kind, kwargs))


@recorded
def reference_weights(kind: str, kwargs: dict, seed: int) -> list[dict[str, torch.Tensor]]:
    """The state of each parameterised layer, in run order, of the reference drawn with `seed`."""
    return layer_states(reference_model(kind, kwargs, seed), example_args(kind, kwargs), with_buffers=False)


@recorded
def reference_layers(kind: str, kwargs: dict) -> list[dict]:
    """[{type, shapes: {"weight": shape}}] of the reference's parameterised layers, in run order."""
    model = reference_model(kind, kwargs)
    return [{"type": type(m).__name__, "shapes": {k: tuple(v.shape) for k, v in m.state_dict().items() if k == "weight"}}
            for m in layers_in_run_order(model, example_args(kind, kwargs), with_buffers=False)]


@recorded
def reference_output(kind: str, kwargs: dict, seed: int, batch: int, data_seed: int, train: bool) -> torch.Tensor:
    """The reference drawn with `seed`, in train or eval mode, on example_args(kind, kwargs, batch,
    data_seed): images (B, nc, size, size) or logits (B,)."""
    model = reference_model(kind, kwargs, seed)
    model.train(train)
    with torch.no_grad():
        return model(*example_args(kind, kwargs, batch=batch, seed=data_seed))


@recorded
def reference_norm_settings(kind: str, kwargs: dict) -> list[dict]:
    """The reference's batch norms' settings, in run order (`grader.operations.models.norm_settings_of`)."""
    return norm_settings_of(reference_model(kind, kwargs), example_args(kind, kwargs))


def load_reference_weights(session, model, kind: str, kwargs: dict, seed: int = 0) -> None:
    """Give the student's model the reference's weights, layer by layer, matched by shape; fails
    with both layer lists when the designs differ."""
    args = example_args(kind, kwargs)
    states, expected = reference_weights(kind, kwargs, seed), reference_layers(kind, kwargs)
    found = session.run(f"{MODELS}:load_layers", model, args, [], by_shape=True)  # no states: lists the layers
    if kind == "generator":
        states = as_projection_convolution(states, found, kwargs.get("nz", NZ))
    found = session.run(f"{MODELS}:load_layers", model, args, states, by_shape=True)
    if sorted(signature(d["shapes"]) for d in found) != sorted(signature(s) for s in states):
        fail(f"your {call_text(kind, kwargs, 2).split('(')[0]}'s layers with parameters, in the order they run, are: "
             f"{layer_list(found)}; expected (in any order): {layer_list(expected)}.",
             f"build exactly the layers in the {NAMES[kind]} docstring (no bias where batch norm follows), and use "
             "each one in forward.")
