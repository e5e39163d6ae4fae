"""The reference pix2pix models on the trusted side, inputs for the tests, and comparisons of a
student's models with the reference.

Layers are compared in the order they run (`grader.training.probes`), never by attribute names, so
a flat list, nested blocks or the authors' recursive U-Net all pass.
"""

from __future__ import annotations

import torch

from grader.suites.cgan.reference import shapes_count
from grader.testing import check, fail, reference
from grader.training.probes import layers_in_run_order

P2P = "grader.training.pix2pix"
PROBES = "grader.training.probes"


def images(batch: int, size: int, seed: int) -> torch.Tensor:
    """(B, 3, size, size) float32 in [-1, 1]."""
    return torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def reference_generator(seed: int = 0, **config) -> torch.nn.Module:
    torch.manual_seed(seed)
    return reference("pix2pix").UNetGenerator(**config)


def reference_discriminator(seed: int = 0, **config) -> torch.nn.Module:
    torch.manual_seed(seed)
    return reference("pix2pix").PatchDiscriminator(**config)


def config_text(config: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in config.items())


def parameter_count_is(session, class_name: str, config: dict, expected: int, hint: str) -> None:
    model = getattr(session.module, class_name)(**config)
    count = shapes_count(session.run(f"{PROBES}:parameter_shapes", model))
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


def layers_match(session, model, example: torch.Tensor, ref: torch.nn.Module, what: str, hint: str) -> None:
    """The student's parameterised layers, in run order, have the reference's types and shapes."""
    found = session.run(f"{PROBES}:layers", model, example)
    expected = [{"type": type(m).__name__, "shapes": {k: tuple(v.shape) for k, v in m.state_dict().items()}}
                for m in layers_in_run_order(ref, example)]
    mine, want = describe(found), describe(expected)
    for index, (a, b) in enumerate(zip(mine, want)):
        if a != b:
            fail(f"{what}: the layers with parameters, in the order they run, differ from the design at layer "
                 f"{index + 1}: yours is {a}, expected {b}. Yours: {', '.join(mine[:index + 2])}, ...; expected: "
                 f"{', '.join(want[:index + 2])}, ...", hint)
    check(len(mine) == len(want), f"{what} runs {len(mine)} layers with parameters; the design has {len(want)} "
          f"(yours end with {', '.join(mine[-2:])}; expected {', '.join(want[-2:])}).", hint)
