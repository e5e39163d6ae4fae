"""The reference pix2pix models on the trusted side, inputs for the tests, and comparisons of a
student's models with the reference.

Layers are compared in the order they run (`grader.operations.models`), never by attribute names, so
a flat list, nested blocks or the authors' recursive U-Net all pass. What the tests compare with
comes from the `@recorded` functions here (`grader.recorded`).
"""

from __future__ import annotations

import torch

from grader.practices.cgan.reference import shapes_count
from grader.recorded import recorded
from grader.testing import check, fail, reference
from grader.operations.models import describe as describe_layer, layer_states, layers_in_run_order, norm_settings_of

MODELS = "grader.operations.models"
GAN_PROBES = "grader.operations.gan_probes"
STEPS = "grader.operations.steps"


def images(batch: int, size: int, seed: int) -> torch.Tensor:
    """(B, 3, size, size) float32 in [-1, 1]."""
    return torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def reference_generator(seed: int = 0, **config) -> torch.nn.Module:
    torch.manual_seed(seed)
    return reference("pix2pix").UNetGenerator(**config)


def reference_discriminator(seed: int = 0, **config) -> torch.nn.Module:
    torch.manual_seed(seed)
    return reference("pix2pix").PatchDiscriminator(**config)


def reference_of(class_name: str, seed: int = 0, **config) -> torch.nn.Module:
    """The reference UNetGenerator or PatchDiscriminator, drawn with `seed`."""
    return (reference_generator if class_name == "UNetGenerator" else reference_discriminator)(seed, **config)


@recorded
def reference_parameter_count(class_name: str, config: dict) -> int:
    return sum(p.numel() for p in reference_of(class_name, **config).parameters())


@recorded
def reference_layers(config: dict, size: int, seed: int) -> list[dict]:
    """[{type, shapes}] of the reference UNetGenerator's parameterised layers, in run order, on
    images(1, size, seed)."""
    return [describe_layer(m) for m in layers_in_run_order(reference_generator(**config), [images(1, size, seed)])]


@recorded
def reference_weights(class_name: str, config: dict, seed: int, inputs: list) -> list[dict[str, torch.Tensor]]:
    """The state of each parameterised layer, in run order, of the reference drawn with `seed`, the
    order found on images(*spec) for each (batch, size, seed) spec of `inputs` (the discriminator's
    pair joined along the channels, as its `model` reads it)."""
    model = reference_of(class_name, seed, **config)
    tensors = [images(*spec) for spec in inputs]
    if class_name == "UNetGenerator":
        return layer_states(model, tensors[:1])
    return layer_states(model.model, [torch.cat(tensors, dim=1)])


@recorded
def reference_output(class_name: str, config: dict, seed: int, inputs: list) -> torch.Tensor:
    """The reference drawn with `seed`, in eval mode, on images(*spec) for each spec of `inputs`."""
    model = reference_of(class_name, seed, **config)
    model.eval()
    with torch.no_grad():
        return model(*[images(*spec) for spec in inputs])


@recorded
def reference_norm_settings(class_name: str, config: dict, inputs: list) -> list[dict]:
    """The reference's batch norms' settings, in run order (`grader.operations.models.norm_settings_of`)."""
    return norm_settings_of(reference_of(class_name, **config), [images(*spec) for spec in inputs])


def config_text(config: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in config.items())


def parameter_count_is(session, class_name: str, config: dict, expected: int, hint: str) -> None:
    model = getattr(session.module, class_name)(**config)
    count = shapes_count(session.run(f"{MODELS}:parameter_shapes", model))
    check(count == expected, f"{class_name}({config_text(config)}) has {count:,} parameters; the design in its "
          f"docstring has {expected:,}.", hint)


def describe(found: list[dict]) -> list[str]:
    """'Conv2d(3, 64)'-style names of parameterised layers."""
    names = []
    for layer in found:
        weight = tuple(layer["shapes"].get("weight", ()))
        if len(weight) == 4:
            ins, outs = (weight[0], weight[1]) if "Transpose" in layer["type"] else (weight[1], weight[0])
            bias = "" if "bias" in layer["shapes"] else ", bias=False"
            names.append(f"{layer['type']}({ins}, {outs}{bias})")
        else:
            names.append(f"{layer['type']}({weight[0] if weight else '?'})")
    return names


def layers_match(session, model, example: torch.Tensor, expected: list[dict], what: str, hint: str) -> None:
    """The student's parameterised layers, in run order, have the reference's types and shapes
    (`expected`, as `reference_layers` gives them)."""
    found = session.run(f"{MODELS}:layers", model, [example])
    mine, want = describe(found), describe(expected)
    for index, (a, b) in enumerate(zip(mine, want)):
        if a != b:
            fail(f"{what}: the layers with parameters, in the order they run, differ from the design at layer "
                 f"{index + 1}: yours is {a}, expected {b}. Yours: {', '.join(mine[:index + 2])}, ...; expected: "
                 f"{', '.join(want[:index + 2])}, ...", hint)
    check(len(mine) == len(want), f"{what} runs {len(mine)} layers with parameters; the design has {len(want)} "
          f"(yours end with {', '.join(mine[-2:])}; expected {', '.join(want[-2:])}).", hint)
