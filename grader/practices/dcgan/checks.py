"""Checks shared by the Generator (dcgan.2) and Discriminator (dcgan.3) tests.

Each takes `kind` ("generator" or "discriminator") and the constructor's keyword arguments,
observes the student's model in the worker, and compares with the reference's recorded values. The
architecture is judged twice: through the module tree (what was built) and through forward
hooks and watched functions (what ran), so any composition of layers that does the lecture's
computation passes.
"""

from __future__ import annotations

import math

import torch

from grader.practices.dcgan.reference import (
    MODELS,
    NAMES,
    call_text,
    example_args,
    load_reference_weights,
    reference_norm_settings,
    reference_output,
    reference_parameter_count,
    shapes_count,
)
from grader.practices import norm_settings
from grader.testing import assert_close, check

CONV = ("Conv2d", "ConvTranspose2d")


def build(student_session, kind: str, kwargs: dict):
    return getattr(student_session.module, NAMES[kind])(**kwargs)


def depth(kwargs: dict) -> int:
    return int(math.log2(kwargs.get("image_size", 64) // 4))


def parameter_count_is(student_session, kind: str, kwargs: dict, hint: str) -> None:
    shapes = student_session.run(f"{MODELS}:parameter_shapes", build(student_session, kind, kwargs))
    count, expected = shapes_count(shapes), reference_parameter_count(kind, kwargs)
    built = call_text(kind, kwargs, 1).split("(z")[0].split("(x")[0]
    check(count == expected, f"{built} has {count:,} parameters; the design in its docstring has {expected:,}.", hint)


def output_is(student_session, kind: str, kwargs: dict, args: list[torch.Tensor], call: str) -> torch.Tensor:
    """The eval-mode output for `args`: the right shape, finite, and in [-1, 1] for a generator."""
    out = student_session.run(f"{MODELS}:forward", build(student_session, kind, kwargs), args, train=False)
    batch, size, nc = len(args[0]), kwargs.get("image_size", 64), kwargs.get("nc", 3)
    want = (batch, nc, size, size) if kind == "generator" else (batch,)
    check(isinstance(out, torch.Tensor), f"{call} returned {type(out).__name__}, not a tensor.")
    check(tuple(out.shape) == want, f"{call} should return shape {want}, but yours has shape {tuple(out.shape)}.",
          "the last transposed convolution doubles the side to image_size and has nc output channels." if
          kind == "generator" else "flatten the last feature map into Linear(..., 1), then .view(-1): one logit "
                                   "per image.")
    check(bool(torch.isfinite(out).all()), f"{call} returned values that are not finite.")
    if kind == "generator":
        check(out.min().item() >= -1 and out.max().item() <= 1, f"{call} returned values from "
              f"{out.min().item():.4g} to {out.max().item():.4g}; images lie in [-1, 1].",
              "end with torch.tanh (no batch norm after it).")
    return out


def architecture(student_session, kind: str, kwargs: dict) -> None:
    """5 x 5 kernels with stride 2 (plus, for G, an optional 4 x 4 projection from 1 x 1), no pooling
    or resizing, at most one linear layer and it at the end D's / the start of G's path; each
    strided layer doubles (G) or halves (D) the side of what it is given."""
    model = build(student_session, kind, kwargs)
    probe = student_session.run(f"{MODELS}:architecture_probe", model, example_args(kind, kwargs))
    name, levels = NAMES[kind], depth(kwargs)
    hint = ("every convolution is 5 x 5 with stride 2 (padding 2" + (", output_padding 1 from upsample_padding())"
            if kind == "generator" else ")") + "; the side changes only through these strides, never by pooling or "
                                               "interpolation.")
    check(not probe["pooling"] and not probe["called"], f"your {name} uses pooling or resizing: "
          f"{', '.join(probe['pooling'] + probe['called'])}. DCGAN has none.", hint)
    convs = [c for c in probe["convolutions"]]
    projection = [c for c in convs if kind == "generator" and c["type"] == "ConvTranspose2d" and c["kernel"] == (4, 4)
                  and c["stride"] == (1, 1)]
    strided = [c for c in convs if c not in projection]
    wrong = [f"{c['type']}({c['in']}, {c['out']}, kernel_size={c['kernel']}, stride={c['stride']})" for c in strided
             if c["kernel"] != (5, 5) or c["stride"] != (2, 2)]
    check(not wrong, f"your {name} has convolutions that are not 5 x 5 with stride 2: {', '.join(wrong)}.", hint)
    wanted_type = "ConvTranspose2d" if kind == "generator" else "Conv2d"
    check(len(strided) == levels and all(c["type"] == wanted_type for c in strided),
          f"your {name} (image_size={kwargs.get('image_size', 64)}) has {len(strided)} strided convolutions "
          f"({', '.join(sorted({c['type'] for c in strided})) or 'none'}); expected {levels} {wanted_type} layers "
          f"(log2(image_size / 4) = {levels}).", hint)
    linear = probe["linear"]
    if kind == "generator":
        check(len(linear) + len(projection) == 1 and all(l[0] == kwargs.get("nz", 100) for l in linear),
              f"your Generator has {len(linear)} linear layers {[tuple(l[:2]) for l in linear]} and "
              f"{len(projection)} 4 x 4 projections; expected exactly one projection of z (Linear(nz, C * 16) or "
              "ConvTranspose2d(nz, C, 4)) and no hidden fully connected layer.", hint)
    else:
        check(len(linear) == 1 and linear[0][1] == 1, f"your Discriminator has the linear layers "
              f"{[tuple(l[:2]) for l in linear]}; expected exactly one, Linear(C * 16, 1), the logit, and no hidden "
              "fully connected layer.", hint)
    for layer in probe["run"]:
        if layer.get("stride") == (2, 2) and layer["in_shape"] and layer["out_shape"]:
            side_in, side_out = layer["in_shape"][-1], layer["out_shape"][-1]
            want = 2 * side_in if kind == "generator" else side_in // 2
            check(side_out == want, f"in {call_text(kind, kwargs, 2)}, a {layer['type']} turned a "
                  f"{side_in} x {side_in} input into {side_out} x {side_out}; expected {want} x {want}.",
                  "padding 2" + (" and output_padding 1 (upsample_padding())" if kind == "generator" else "") +
                  " make a 5 x 5 stride-2 layer " + ("double" if kind == "generator" else "halve") + " the side.")


def batch_norm_placement(student_session, kind: str, kwargs: dict) -> None:
    """Batch norm right after every parameterised layer except G's output layer, D's first
    convolution and D's head; no bias on a layer batch norm follows; a bias on the others."""
    model = build(student_session, kind, kwargs)
    probe = student_session.run(f"{MODELS}:architecture_probe", model, example_args(kind, kwargs))
    run = probe["run"]
    order = [layer["type"] for layer in run]
    norms = [i for i, t in enumerate(order) if t.startswith("BatchNorm")]
    levels, name = depth(kwargs), NAMES[kind]
    hint = ("Generator: batch norm after the projection and after every transposed convolution except the last "
            "(which goes straight into tanh)." if kind == "generator" else
            "Discriminator: batch norm after every convolution except the first (on the raw image); none on the "
            "logit.")
    expected = levels if kind == "generator" else levels - 1
    check(len(norms) == expected, f"in {call_text(kind, kwargs, 2)} {len(norms)} batch norm layers ran "
          f"(layers in the order they ran: {', '.join(order)}); expected {expected}.", hint)
    check(all(i > 0 and order[i - 1] in CONV + ("Linear",) for i in norms),
          f"in your {name} a batch norm does not directly follow a convolution or the projection (layers in the "
          f"order they ran: {', '.join(order)}).", hint)
    last = order[-1] if order else "nothing"
    check(not last.startswith("BatchNorm"), f"the last layer with parameters in your {name} is a {last}: "
          f"{'the output image' if kind == 'generator' else 'the logit'} must not be batch-normalised.", hint)
    first = order[0] if order else "nothing"
    if kind == "discriminator":
        check(len(order) > 1 and not order[1].startswith("BatchNorm"), "your Discriminator batch-normalises the "
              f"output of its first convolution ({', '.join(order[:3])}); the lecture leaves D's input layer "
              "without batch norm.", hint)
    check(bool(first), f"no layer with parameters ran in your {name}.")


def same_as_reference(student_session, kind: str, kwargs: dict, *, batch: int, seed: int, train: bool,
                      hint: str) -> None:
    model = build(student_session, kind, kwargs)
    load_reference_weights(student_session, model, kind, kwargs, seed=seed)
    args = example_args(kind, kwargs, batch=batch, seed=seed + 10)
    expected = reference_output(kind, kwargs, seed, batch, data_seed=seed + 10, train=train)
    out = student_session.run(f"{MODELS}:forward", model, args, train=train)
    call = f"{call_text(kind, kwargs, batch, 'train' if train else 'eval')}, with the reference's weights"
    assert_close(out, expected, atol=1e-4, rtol=1e-3, call=call, hint=hint)


def every_parameter_gets_a_gradient(student_session, kind: str, kwargs: dict) -> None:
    model = build(student_session, kind, kwargs)
    probe = student_session.run(f"{MODELS}:gradient_probe", model, example_args(kind, kwargs, batch=4, seed=50))
    name = NAMES[kind]
    check(not probe["missing"], f"after {name}(...)(...).sum().backward() these parameters have no gradient: "
          f"{probe['missing']}.", "every layer you create must be used in forward, and nothing may be detached on "
                                 "the way from the input to the output.")
    check(not probe["zero"], f"after {name}(...)(...).sum().backward() these parameters have an all-zero "
          f"gradient: {probe['zero']}.", "a bias followed by batch norm gets no gradient (the norm subtracts it): "
                                         "build such layers with bias=False.")


def batch_norm_settings(student_session, kind: str, kwargs: dict) -> None:
    """Every batch norm with PyTorch's default eps and momentum, affine and tracking statistics."""
    model = build(student_session, kind, kwargs)
    norm_settings.settings_match(student_session, model, example_args(kind, kwargs),
                                 reference_norm_settings(kind, kwargs), f"your {call_text(kind, kwargs, 2).split('(z')[0].split('(x')[0]}")
