"""cgan.3: the Discriminator's parameter count, shapes, exact values, conditioning and dropout.

Exact values: the reference's weights are loaded into the student's discriminator, layer by
layer (matched by shape), and both must then give the same probabilities in eval mode.
"""

from __future__ import annotations

from grader.practices.cgan import checks
from grader.testing import task

KIND = "discriminator"
LAYERS_HINT = ("Maxout(784, 240, 5) on the flattened image, Maxout(10, 50, 5) on the one-hot label, "
               "Maxout(290, 240, 4) on torch.cat([image features, label features], dim=1), Linear(240, 1): "
               "1,224,351 parameters.")
ORDER_HINT = ("flatten x to (B, 784); one-hot labels with F.one_hot(labels, 10).float(); join image features "
              "first: torch.cat([h_x, h_y], dim=1); one torch.sigmoid after Linear(240, 1), so D returns "
              "probabilities; and Maxout must pass its own tests (cgan.1).")


@task("cgan.3", points=2, category="shapes", visibility="public")
def test_parameter_count(student_session):
    checks.parameter_count_is(student_session, KIND, "compare each layer's sizes with the docstring: " + LAYERS_HINT)


@task("cgan.3", points=1, category="shapes", visibility="public")
def test_probabilities_shape_and_range_for_several_batch_sizes(student_session):
    checks.output_shape_and_range(student_session, KIND)


@task("cgan.3", points=3, category="values", visibility="public")
def test_same_probabilities_as_the_reference_in_eval_mode(student_session):
    checks.same_as_reference(student_session, KIND, batch=8, seed=0, hint=ORDER_HINT)


@task("cgan.3", points=1, category="values", visibility="public")
def test_the_label_changes_the_probability(student_session):
    checks.label_changes_output(student_session, KIND)


@task("cgan.3", points=1, category="values", visibility="hidden")
def test_same_probabilities_as_the_reference_for_one_image(student_session):
    checks.same_as_reference(student_session, KIND, batch=1, seed=3, hint=ORDER_HINT)


@task("cgan.3", points=2, category="values", visibility="hidden")
def test_dropout_on_the_maxout_layers_in_train_mode_only(student_session):
    checks.dropout_rates(student_session, KIND, [(960, 290), (1, 240)],
                         ["the joint maxout layer (its Linear(290, 960))", "the last layer, Linear(240, 1)"],
                         "put nn.Dropout(0.5) after each of the three maxout layers, and nowhere else.")


@task("cgan.3", points=1, category="gradients", visibility="hidden", style=True)
def test_every_parameter_receives_a_gradient(student_session):
    checks.every_parameter_gets_a_gradient(student_session, KIND)


@task("cgan.3", points=1, category="values", visibility="hidden")
def test_dropout_after_each_maxout_and_nowhere_else(student_session):
    checks.dropout_placement(student_session, KIND, [
        ((1200, 784), 0, 784, "the image going into the image maxout", 0.0),
        ((250, 10), 0, 10, "the one-hot labels going into the label maxout", 0.0),
        ((960, 290), 0, 240, "the image maxout's 240 outputs going into the joint maxout", 0.5),
        ((960, 290), 240, 290, "the label maxout's 50 outputs going into the joint maxout", 0.5),
        ((1, 240), 0, 240, "the joint maxout's output going into Linear(240, 1)", 0.5),
    ], "put nn.Dropout(0.5) after each of the three maxout layers, and nowhere else.")
