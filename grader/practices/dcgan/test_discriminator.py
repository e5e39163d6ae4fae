"""dcgan.3: Discriminator, by parameter count, output, architecture, batch norm (place, settings), values."""

from __future__ import annotations

from grader.practices.dcgan import checks
from grader.practices.dcgan.reference import COLOUR, SMALL, call_text, images
from grader.testing import assert_raises, task

KIND = "discriminator"
COUNT_HINT = ("log2(image_size / 4) blocks of Conv2d(c, 2c, 5, stride 2, padding 2), the first from nc to ndf with a "
              "bias and no batch norm, the others bias=False + BatchNorm2d; then Linear(C * 16, 1) with a bias.")
VALUES_HINT = ("x -> Conv2d -> LeakyReLU(0.2) -> [Conv2d -> BatchNorm2d -> LeakyReLU(0.2)] x (L - 1) -> flatten -> "
               "Linear(C * 16, 1) -> .view(-1); no sigmoid: D returns logits.")


@task("dcgan.3", points=1, category="shapes", visibility="public")
def test_discriminator_parameter_counts(student_session):
    for kwargs in ({"ndf": 64, "nc": 3, "image_size": 64}, {"ndf": 64, "nc": 1, "image_size": 32},
                   {"ndf": 16, "nc": 3, "image_size": 32}):
        checks.parameter_count_is(student_session, KIND, kwargs, COUNT_HINT)


@task("dcgan.3", points=1, category="shapes", visibility="public")
def test_discriminator_output_shape(student_session):
    for kwargs in (SMALL[KIND], COLOUR[KIND]):
        for batch in (1, 5):
            x = images(batch, batch, kwargs["nc"], kwargs["image_size"])
            checks.output_is(student_session, KIND, kwargs, [x], call_text(KIND, kwargs, batch))


@task("dcgan.3", points=2, category="shapes", visibility="public")
def test_discriminator_is_all_convolutional(student_session):
    checks.architecture(student_session, KIND, COLOUR[KIND])
    checks.architecture(student_session, KIND, SMALL[KIND])


@task("dcgan.3", points=1, category="shapes", visibility="public")
def test_discriminator_batch_norm_placement(student_session):
    checks.batch_norm_placement(student_session, KIND, COLOUR[KIND])


@task("dcgan.3", points=1, category="values", visibility="hidden")
def test_discriminator_batch_norm_settings(student_session):
    checks.batch_norm_settings(student_session, KIND, COLOUR[KIND])


@task("dcgan.3", points=2, category="values", visibility="public")
def test_discriminator_matches_the_reference(student_session):
    checks.same_as_reference(student_session, KIND, SMALL[KIND], batch=6, seed=3, train=False, hint=VALUES_HINT)
    checks.same_as_reference(student_session, KIND, SMALL[KIND], batch=6, seed=4, train=True, hint=VALUES_HINT)


@task("dcgan.3", points=1, category="values", visibility="hidden")
def test_discriminator_matches_the_reference_at_64_pixels_in_colour(student_session):
    checks.same_as_reference(student_session, KIND, COLOUR[KIND], batch=3, seed=5, train=True, hint=VALUES_HINT)


@task("dcgan.3", points=1, category="values", visibility="hidden")
def test_discriminator_rejects_other_image_sizes(student_session):
    for size in (48, 128):
        assert_raises(lambda: student_session.module.Discriminator(ndf=8, nc=1, image_size=size), ValueError,
                      call=f"Discriminator(image_size={size})", hint="only 32 and 64 are supported: raise ValueError "
                                                                     "with a message saying so.")


@task("dcgan.3", points=1, category="gradients", visibility="hidden", style=True)
def test_discriminator_every_parameter_gets_a_gradient(student_session):
    checks.every_parameter_gets_a_gradient(student_session, KIND, SMALL[KIND])
