"""mnist_cnn.1-2: the model's layers, its parameter count, its shapes, and exact behaviour.

Exact behaviour: the reference's weights are loaded into the student's model, layer by layer in
the order they run, and both must then compute the same logits, in eval and in train mode. Batch
norm's settings, which are no weights, are compared too (`grader.practices.norm_settings`).
"""

from __future__ import annotations

import math

import torch

from grader.practices.mnist_cnn.reference_model import (
    MODELS,
    digits,
    labels,
    load_reference_weights,
    reference_logits,
    reference_norm_settings,
    reference_parameter_count,
)
from grader.practices.norm_settings import settings_match
from grader.testing import assert_close, check, task

ORDER_HINT = ("each block is conv -> batch norm -> ReLU -> max-pool, in that order; then flatten, "
              "Linear(1568, 128), ReLU, Linear(128, 10), and no softmax at the end (forward returns logits).")


@task("mnist_cnn.1", points=2, category="shapes", visibility="public")
def test_parameter_count(student_session):
    shapes = student_session.run(f"{MODELS}:parameter_shapes", student_session.module.MnistCNN())
    count = sum(math.prod(shape) for shape in shapes.values())
    expected = reference_parameter_count()
    check(count == expected, f"MnistCNN() has {count:,} parameters; the design in its docstring has {expected:,}.",
          "compare each layer's sizes with the docstring: Conv2d(1, 16, 3, padding=1), BatchNorm2d(16), "
          "Conv2d(16, 32, 3, padding=1), BatchNorm2d(32), Linear(32 * 7 * 7, 128), Linear(128, 10).")


@task("mnist_cnn.1", points=2, category="shapes", visibility="public")
def test_layers_in_the_order_they_run(student_session):
    model = student_session.module.MnistCNN()
    load_reference_weights(student_session, model)


@task("mnist_cnn.1", points=1, category="values", visibility="hidden")
def test_batch_norm_settings(student_session):
    settings_match(student_session, student_session.module.MnistCNN(), [digits(2, seed=3)],
                   reference_norm_settings(data_seed=3), "your MnistCNN()")


@task("mnist_cnn.2", points=2, category="shapes", visibility="public")
def test_logits_shape_for_several_batch_sizes(student):
    model = student.MnistCNN()
    model.eval()
    for batch in (1, 7, 64):
        out = model(digits(batch, seed=batch))
        check(isinstance(out, torch.Tensor), f"model(x) with x of shape ({batch}, 1, 28, 28) returned "
              f"{type(out).__name__}, not a tensor.")
        check(tuple(out.shape) == (batch, 10), f"model(x) with x of shape ({batch}, 1, 28, 28) should return "
              f"logits of shape ({batch}, 10), but yours have shape {tuple(out.shape)}.",
              "flatten with x.flatten(1) (or nn.Flatten()), which keeps the batch dimension.")


@task("mnist_cnn.2", points=2, category="shapes", visibility="hidden")
def test_shape_after_each_stage(student_session):
    model = student_session.module.MnistCNN()
    x = digits(3, seed=5)
    found = student_session.run(f"{MODELS}:layer_output_shapes", model, [x])
    expected = [(3, 16, 28, 28), (3, 16, 28, 28), (3, 32, 14, 14), (3, 32, 14, 14), (3, 128), (3, 10)]
    shapes = [tuple(stage["shape"]) for stage in found]
    check(shapes == expected, f"the outputs of your layers with parameters, in run order, have shapes {shapes}; "
          f"expected {expected} (conv, BN, conv, BN, fc, fc).",
          "padding=1 keeps 28x28 through a 3x3 conv; each 2x2 max-pool halves the size: 28 -> 14 -> 7.")


def _same_logits(student_session, batch: int, seed: int, train: bool) -> None:
    model = student_session.module.MnistCNN()
    load_reference_weights(student_session, model, seed=seed)
    x = digits(batch, seed)
    expected = reference_logits(seed, batch, data_seed=seed, train=train)
    out = student_session.run(f"{MODELS}:forward", model, [x], train=train)
    mode = "train" if train else "eval"
    assert_close(out, expected, atol=1e-4, rtol=1e-4,
                 call=f"model(x) in {mode} mode, x of shape ({batch}, 1, 28, 28), with the reference's weights",
                 hint=ORDER_HINT)


@task("mnist_cnn.2", points=3, category="values", visibility="public")
def test_same_logits_as_the_reference_in_eval_mode(student_session):
    _same_logits(student_session, batch=8, seed=0, train=False)


@task("mnist_cnn.2", points=2, category="values", visibility="hidden")
def test_same_logits_as_the_reference_in_train_mode(student_session):
    _same_logits(student_session, batch=16, seed=3, train=True)


@task("mnist_cnn.2", points=1, category="values", visibility="hidden")
def test_same_logits_for_a_single_image(student_session):
    _same_logits(student_session, batch=1, seed=7, train=False)


@task("mnist_cnn.2", points=2, category="gradients", visibility="public")
def test_every_parameter_receives_a_gradient(student_session):
    model = student_session.module.MnistCNN()
    probe = student_session.run(f"{MODELS}:gradient_probe", model, [digits(8, 11)], labels=labels(8, 12))
    check(not probe["missing"], f"after loss.backward() these parameters have no gradient: {probe['missing']}.",
          "every layer you create must be used in forward, and nothing may be detached (.detach(), .data, "
          "torch.no_grad()) on the way from the input to the logits.")
    check(not probe["zero"], f"after loss.backward() these parameters have an all-zero gradient: {probe['zero']}.",
          "is a ReLU or a pooling placed where it cuts every path to these parameters?")


@task("mnist_cnn.2", points=2, category="values", visibility="hidden")
def test_batch_norm_updates_only_in_train_mode(student_session):
    model = student_session.module.MnistCNN()
    probe = student_session.run(f"{MODELS}:batch_norm_probe", model, [digits(16, 21)])
    means = [name for name in probe["start"] if name.endswith("running_mean")]
    check(len(means) == 2, f"your model has {len(means)} batch-norm layers with running statistics; expected 2.",
          "one nn.BatchNorm2d after each convolution.")
    changed = [n for n in means if not torch.equal(probe["start"][n], probe["after_train"][n])]
    check(changed == means, "a forward pass in train mode left the batch-norm running means unchanged.",
          "use nn.BatchNorm2d modules (not functional batch norm with training=False).")
    moved = [n for n in means if not torch.equal(probe["after_train"][n], probe["after_eval"][n])]
    check(not moved, f"a forward pass in eval mode changed the running statistics {moved}.",
          "in eval mode batch norm must use, not update, its running statistics: let nn.BatchNorm2d follow "
          "model.eval() rather than forcing training=True.")
