"""cgan.2: the Generator's parameter count, shapes, exact values, conditioning and dropout.

Exact values: the reference's weights are loaded into the student's generator, layer by layer
(matched by shape), and both must then give the same images in eval mode (dropout off).
"""

from __future__ import annotations

from grader.practices.cgan import checks
from grader.testing import task

KIND = "generator"
LAYERS_HINT = ("Linear(100, 200) on z, Linear(10, 1000) on the one-hot label, Linear(1200, 1200) on "
               "torch.cat([noise features, label features], dim=1), Linear(1200, 784): 2,413,984 parameters.")
ORDER_HINT = ("ReLU after the noise, label and joint layers; join noise features first: torch.cat([h_z, h_y], "
              "dim=1); one-hot labels with F.one_hot(labels, 10).float(); a sigmoid after the last layer; "
              "reshape to (B, 1, 28, 28).")


@task("cgan.2", points=2, category="shapes", visibility="public")
def test_parameter_count(student_session):
    checks.parameter_count_is(student_session, KIND, "compare each layer's sizes with the docstring: " + LAYERS_HINT)


@task("cgan.2", points=1, category="shapes", visibility="public")
def test_images_shape_and_range_for_several_batch_sizes(student_session):
    checks.output_shape_and_range(student_session, KIND)


@task("cgan.2", points=3, category="values", visibility="public")
def test_same_images_as_the_reference_in_eval_mode(student_session):
    checks.same_as_reference(student_session, KIND, batch=8, seed=0, hint=ORDER_HINT)


@task("cgan.2", points=1, category="values", visibility="public")
def test_the_label_and_the_noise_change_the_image(student_session):
    checks.label_changes_output(student_session, KIND)


@task("cgan.2", points=1, category="values", visibility="hidden")
def test_same_images_as_the_reference_for_one_sample(student_session):
    checks.same_as_reference(student_session, KIND, batch=1, seed=3, hint=ORDER_HINT)


@task("cgan.2", points=2, category="values", visibility="hidden")
def test_dropout_in_train_mode_only(student_session):
    checks.dropout_rates(student_session, KIND, [(784, 1200)], ["the last layer, Linear(1200, 784)"],
                         "the joint layer is Linear(1200, 1200), ReLU, then nn.Dropout(0.5); nothing else drops.")


@task("cgan.2", points=1, category="gradients", visibility="hidden", style=True)
def test_every_parameter_receives_a_gradient(student_session):
    checks.every_parameter_gets_a_gradient(student_session, KIND)


@task("cgan.2", points=1, category="values", visibility="hidden")
def test_dropout_only_after_the_joint_layer(student_session):
    checks.dropout_placement(student_session, KIND, [
        ((200, 100), 0, 100, "the noise z going into Linear(100, 200)", 0.0),
        ((1000, 10), 0, 10, "the one-hot labels going into Linear(10, 1000)", 0.0),
        ((1200, 1200), 0, 200, "the first 200 joined values going into the joint Linear(1200, 1200)", 0.0),
        ((1200, 1200), 200, 1200, "the last 1,000 joined values going into the joint Linear(1200, 1200)", 0.0),
        ((784, 1200), 0, 1200, "the joint layer's output going into Linear(1200, 784)", 0.5),
    ], "the joint layer is Linear(1200, 1200), ReLU, then nn.Dropout(0.5); nothing else drops.")
