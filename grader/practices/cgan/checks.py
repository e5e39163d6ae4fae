"""Checks shared by the Generator (cgan.2) and Discriminator (cgan.3) tests.

Each takes `kind` ("generator" or "discriminator") and observes the student's model in the
worker; the expected values come from the reference's recorded values (`grader.recorded`).
"""

from __future__ import annotations

import torch

from grader.practices.cgan.reference import (
    MODELS,
    inputs,
    load_reference_weights,
    noise,
    reference_output,
    reference_parameter_count,
    shapes_count,
)
from grader.testing import assert_close, check, fail

NAMES = {"generator": "Generator", "discriminator": "Discriminator"}
SIGMOID_TWICE = ("your output is the sigmoid of the expected output: the sigmoid is applied twice. The last "
                 "layer is followed by exactly one torch.sigmoid (and nothing else).")


def build(student_session, kind: str):
    return getattr(student_session.module, NAMES[kind])()


def call_text(kind: str, batch: int, mode: str) -> str:
    first = f"z ({batch}, 100)" if kind == "generator" else f"x ({batch}, 1, 28, 28)"
    return f"{NAMES[kind]}()({first}, labels ({batch},)) in {mode} mode"


def parameter_count_is(student_session, kind: str, hint: str) -> None:
    shapes = student_session.run(f"{MODELS}:parameter_shapes", build(student_session, kind))
    count = shapes_count(shapes)
    expected = reference_parameter_count(kind)
    check(count == expected, f"{NAMES[kind]}() has {count:,} parameters; the design in its docstring has "
          f"{expected:,}.", hint)


def output_shape_and_range(student_session, kind: str) -> None:
    model = build(student_session, kind)
    want = (lambda b: (b, 1, 28, 28)) if kind == "generator" else (lambda b: (b, 1))
    for batch in (1, 5, 64):
        out = student_session.run(f"{MODELS}:forward", model, inputs(kind, batch, seed=batch), train=False)
        call = call_text(kind, batch, "eval")
        check(isinstance(out, torch.Tensor), f"{call} returned {type(out).__name__}, not a tensor.")
        check(tuple(out.shape) == want(batch), f"{call} should return shape {want(batch)}, but yours has shape "
              f"{tuple(out.shape)}.",
              "reshape the 784 outputs with .view(-1, 1, 28, 28)." if kind == "generator" else
              "the last layer is nn.Linear(240, 1): keep its (B, 1) output.")
        check(bool(torch.isfinite(out).all()) and out.min().item() >= 0 and out.max().item() <= 1,
              f"{call} returned values from {out.min().item():.4g} to {out.max().item():.4g}; they should lie in "
              "[0, 1].", "end with torch.sigmoid: " + ("images are in [0, 1]." if kind == "generator" else
                                                      "D returns probabilities."))


def same_as_reference(student_session, kind: str, *, batch: int, seed: int, hint: str) -> None:
    model = build(student_session, kind)
    load_reference_weights(student_session, model, kind, seed=seed)
    args = inputs(kind, batch, seed + 10)
    expected = reference_output(kind, seed, batch, data_seed=seed + 10)
    out = student_session.run(f"{MODELS}:forward", model, args, train=False)
    call = f"{call_text(kind, batch, 'eval')}, with the reference's weights"
    if isinstance(out, torch.Tensor) and out.shape == expected.shape and \
            torch.allclose(out, torch.sigmoid(expected), atol=1e-5):
        index = (0,) * expected.dim()
        fail(f"{call} returned wrong values: expected {expected[index].item():.6g} at index {index}, got "
             f"{out[index].item():.6g} = sigmoid({expected[index].item():.6g}).", SIGMOID_TWICE)
    assert_close(out, expected, atol=1e-5, rtol=1e-4, call=call, hint=hint)


def label_changes_output(student_session, kind: str) -> None:
    model = build(student_session, kind)
    first, y = inputs(kind, 16, seed=30)
    other = (y + 1 + torch.arange(16) % 9) % 10  # a different digit for every sample
    out = student_session.run(f"{MODELS}:forward", model, [first, y], train=False)
    changed = student_session.run(f"{MODELS}:forward", model, [first, other], train=False)
    check(isinstance(out, torch.Tensor) and isinstance(changed, torch.Tensor) and out.shape == changed.shape,
          f"{call_text(kind, 16, 'eval')} did not return tensors of one shape.")
    same = [i for i in range(16) if torch.allclose(out[i], changed[i], atol=1e-6)]
    check(not same, f"{NAMES[kind]}: changing only the labels left the output of {len(same)} of 16 samples "
          f"unchanged (samples {same[:5]}); the label must change what the model computes.",
          "turn the labels into one-hot vectors (F.one_hot(labels, 10).float()), send them through the label "
          "path, and join that path's output with the other one with torch.cat(..., dim=1).")
    if kind == "generator":
        _, y = inputs(kind, 16, seed=30)
        again = student_session.run(f"{MODELS}:forward", model, [noise(16, 99), y], train=False)
        same = [i for i in range(16) if torch.allclose(out[i], again[i], atol=1e-6)]
        check(not same, f"Generator: changing only the noise z left {len(same)} of 16 images unchanged.",
              "the noise path is Linear(nz, 200) + ReLU on z, joined with the label path.")


def dropout_rates(student_session, kind: str, weight_shapes: list[tuple[int, int]], where: list[str],
                  hint: str) -> None:
    """Dropout 0.5 on the inputs of the layers with these weight shapes in train mode, none in eval mode."""
    model = build(student_session, kind)
    probe = student_session.run(f"{MODELS}:dropout_probe", model, inputs(kind, 256, seed=40), weight_shapes)
    call = call_text(kind, 256, "train")
    check(not probe["train_same"], f"two passes of {call} gave identical outputs: no dropout is active in "
          "train mode.", hint)
    check(probe["eval_same"], f"two passes of {call_text(kind, 256, 'eval')} gave different outputs: something "
          "random is still active in eval mode.",
          "use nn.Dropout modules (they follow model.eval()), not F.dropout(..., training=True).")
    for shape, place, train, evaluation in zip(weight_shapes, where, probe["train_zeros"], probe["eval_zeros"]):
        check(train is not None and evaluation is not None, f"no layer with a weight of shape {tuple(shape)} "
              f"({place}) ran in {NAMES[kind]}.forward.", hint)
        rate = (train - evaluation) / max(1e-9, 1 - evaluation)
        check(0.4 <= rate <= 0.6, f"{NAMES[kind]}: dropout zeroed {rate:.0%} of the values going into {place} in "
              f"train mode (zeros: {train:.0%} in train mode, {evaluation:.0%} in eval mode); expected about "
              f"50% (dropout 0.5).", hint)


def every_parameter_gets_a_gradient(student_session, kind: str) -> None:
    model = build(student_session, kind)
    probe = student_session.run(f"{MODELS}:gradient_probe", model, inputs(kind, 8, seed=50))
    check(not probe["missing"], f"after {NAMES[kind]}(...).sum().backward() these parameters have no gradient: "
          f"{probe['missing']}.",
          "every layer you create must be used in forward, and nothing may be detached (.detach(), .data, "
          "torch.no_grad()) on the way from the inputs to the output.")
    check(not probe["zero"], f"after {NAMES[kind]}(...).sum().backward() these parameters have an all-zero "
          f"gradient: {probe['zero']}.", "is a layer's output cut off (multiplied by zero, or clamped) on the way "
          "to the output?")


def dropout_placement(student_session, kind: str, parts: list[tuple[tuple[int, int], int, int, str, float]],
                      hint: str) -> None:
    """Dropout of the expected rate (0.5, or 0: none) on each part of a layer's input, in train mode.

    parts: (weight shape of the layer, first column, end column, what that part is, rate). The
    rate is (zeros in train mode - zeros in eval mode) / (1 - zeros in eval mode), on 256 inputs.
    """
    model = build(student_session, kind)
    probe = student_session.run(f"{MODELS}:input_zero_shares", model, inputs(kind, 256, seed=41),
                                [(shape, start, stop) for shape, start, stop, _, _ in parts])
    for (shape, _, _, place, rate), train, evaluation in zip(parts, probe["train"], probe["eval"]):
        check(train is not None and evaluation is not None, f"no layer with a weight of shape {tuple(shape)} "
              f"({place}) ran in {NAMES[kind]}.forward.", hint)
        dropped = (train - evaluation) / max(1e-9, 1 - evaluation)
        wanted = "about 50% (dropout 0.5)" if rate else "none (no dropout there)"
        check(abs(dropped - rate) <= 0.1, f"{NAMES[kind]}: in train mode dropout zeroed {dropped:.0%} of {place} "
              f"(zeros: {train:.0%} in train mode, {evaluation:.0%} in eval mode); expected {wanted}.", hint)
