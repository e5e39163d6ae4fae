"""dcgan.2: Generator, by parameter count, output, architecture, batch norm (place, settings), values.

Values are compared by loading the reference's weights into the student's model, layer by layer,
matched by shape (`grader.practices.dcgan.reference.load_reference_weights`), in eval mode (batch
norm's running statistics) and in train mode (the batch's statistics).
"""

from __future__ import annotations

from grader.practices.dcgan import checks
from grader.practices.dcgan.reference import COLOUR, SMALL, call_text, noise
from grader.testing import assert_raises, task

KIND = "generator"
COUNT_HINT = ("projection Linear(nz, C * 16, bias=False) + BatchNorm2d(C), then log2(image_size / 4) - 1 blocks of "
              "ConvTranspose2d(c, c // 2, 5, 2, 2, 1, bias=False) + BatchNorm2d(c // 2), then "
              "ConvTranspose2d(ngf, nc, 5, 2, 2, 1) with a bias; C = ngf * 2^(L - 1).")
VALUES_HINT = ("z -> projection viewed as (B, C, 4, 4) -> BatchNorm2d -> ReLU -> [ConvTranspose2d -> BatchNorm2d -> "
               "ReLU] x (L - 1) -> ConvTranspose2d -> tanh.")


@task("dcgan.2", points=1, category="shapes", visibility="public")
def test_generator_parameter_counts(student_session):
    for kwargs in ({"nz": 100, "ngf": 64, "nc": 3, "image_size": 64},
                   {"nz": 100, "ngf": 128, "nc": 3, "image_size": 64},
                   {"nz": 100, "ngf": 64, "nc": 1, "image_size": 32}):
        checks.parameter_count_is(student_session, KIND, kwargs, COUNT_HINT)


@task("dcgan.2", points=1, category="shapes", visibility="public")
def test_generator_output_shape_and_range(student_session):
    for kwargs in (SMALL[KIND], COLOUR[KIND]):
        for batch in (1, 5):
            z = noise(batch, seed=batch)
            checks.output_is(student_session, KIND, kwargs, [z], call_text(KIND, kwargs, batch))
            checks.output_is(student_session, KIND, kwargs, [z.view(batch, 100, 1, 1)],
                             call_text(KIND, kwargs, batch).replace(f"({batch}, 100)", f"({batch}, 100, 1, 1)"))
        checks.output_is(student_session, KIND, kwargs, [100 * noise(4, seed=9)],
                         f"{call_text(KIND, kwargs, 4)} with z scaled by 100")


@task("dcgan.2", points=2, category="shapes", visibility="public")
def test_generator_is_all_convolutional(student_session):
    checks.architecture(student_session, KIND, COLOUR[KIND])
    checks.architecture(student_session, KIND, SMALL[KIND])


@task("dcgan.2", points=1, category="shapes", visibility="public")
def test_generator_batch_norm_placement(student_session):
    checks.batch_norm_placement(student_session, KIND, COLOUR[KIND])


@task("dcgan.2", points=1, category="values", visibility="hidden")
def test_generator_batch_norm_settings(student_session):
    checks.batch_norm_settings(student_session, KIND, COLOUR[KIND])


@task("dcgan.2", points=2, category="values", visibility="public")
def test_generator_matches_the_reference(student_session):
    checks.same_as_reference(student_session, KIND, SMALL[KIND], batch=6, seed=3, train=False, hint=VALUES_HINT)
    checks.same_as_reference(student_session, KIND, SMALL[KIND], batch=6, seed=4, train=True, hint=VALUES_HINT)


@task("dcgan.2", points=1, category="values", visibility="hidden")
def test_generator_matches_the_reference_at_64_pixels_in_colour(student_session):
    checks.same_as_reference(student_session, KIND, COLOUR[KIND], batch=3, seed=5, train=True, hint=VALUES_HINT)


@task("dcgan.2", points=1, category="values", visibility="hidden")
def test_generator_rejects_other_image_sizes(student_session):
    for size in (48, 128):
        assert_raises(lambda: student_session.module.Generator(nz=100, ngf=8, nc=1, image_size=size), ValueError,
                      call=f"Generator(image_size={size})", hint="only 32 and 64 are supported: raise ValueError with "
                                                                 "a message saying so.")


@task("dcgan.2", points=1, category="gradients", visibility="hidden", style=True)
def test_generator_every_parameter_gets_a_gradient(student_session):
    checks.every_parameter_gets_a_gradient(student_session, KIND, SMALL[KIND])
