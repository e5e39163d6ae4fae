"""cgan.6: train_step, watched on two small grader-made models with plain SGD.

The student's train_step runs in the worker on a TinyConditionalGenerator and a
TinyConditionalDiscriminator (one or two linear layers with the practice's interface, no dropout,
so every run is deterministic) whose weights are made here; the optimizers record, at each
step(), every parameter and gradient of both models (`grader.operations.steps.train_step_probe`).
Here the same step is done correctly from the same weights
(`grader.operations.steps.reference_gan_step`) and the two are compared
(`grader.practices.gan_train_step`). The student's own Generator and Discriminator are not needed,
so this task is graded on its own.
"""

from __future__ import annotations

from grader.practices import gan_train_step as steps
from grader.practices.cgan.reference import STEPS, images, labels, noise
from grader.testing import task
from grader.operations.steps import reference_gan_step
from grader.operations.tiny_models import seeded

LR = 0.5
TINY = {"g": {"model": "TinyConditionalGenerator", "kwargs": {}},
        "d": {"model": "TinyConditionalDiscriminator", "kwargs": {}}}
DETACH_HINT = ("did you detach the fake images before the discriminator step? D(fake.detach(), labels) keeps "
               "the discriminator's loss from reaching the generator.")


def run(student_session, *, seed: int, batch: int = 16, stale_gradient: float | None = None) -> tuple[dict, dict]:
    models = seeded(seed, **TINY)
    data = [images(batch, seed + 1), labels(batch, seed + 2), noise(batch, seed + 3)]
    probe = student_session.run(f"{STEPS}:train_step_probe", student_session.module.train_step, models, data, lr=LR,
                                stale_gradient=stale_gradient)
    expected = reference_gan_step("conditional", models, data, lr=LR, logits=False)
    expected["g_start"], expected["d_start"] = models["g"]["state"], models["d"]["state"]
    return probe, expected


CALL = "train_step(G, D, opt_g, opt_d, images (16, 1, 28, 28), labels, z (16, 100))"
WORDS = {
    "call": CALL,
    "float": "use .item() on a scalar tensor (and .mean().item() for D's mean outputs).",
    "loss_d": "loss_d is L_D of step 1, before opt_d.step() (and discriminator_loss must pass its own tests, cgan.4).",
    "loss_g": "loss_g is L_G of step 2, computed with the updated discriminator (and generator_loss must pass its "
              "own tests, cgan.5).",
    "d_real": "d_real is the mean of D(images, labels) in step 1.",
    "d_fake": "d_fake is the mean of D(fake, labels) in step 1.",
    "detach": DETACH_HINT,
    "d_step": "opt_d.zero_grad(), then L_D = discriminator_loss(D(images, labels), D(fake.detach(), labels)), "
              "L_D.backward(), opt_d.step().",
    "again": "in step 2, compute D(fake, labels) again, after opt_d.step().",
    "g_step": "opt_g.zero_grad(), then L_G = generator_loss(D(G(z, labels), labels)) (not detached), L_G.backward(), "
              "opt_g.step().",
    "train_mode": "start train_step with G.train() and D.train(): sample() leaves G in eval mode, with dropout off.",
}


@task("cgan.6", points=2, category="values", visibility="public")
def test_train_step_returns_the_four_statistics(student_session):
    steps.returns_the_four_statistics(*run(student_session, seed=0), WORDS)


@task("cgan.6", points=2, category="gradients", visibility="public")
def test_discriminator_step_leaves_the_generator_untouched(student_session):
    steps.discriminator_step_leaves_the_generator_untouched(*run(student_session, seed=1), WORDS)


@task("cgan.6", points=2, category="values", visibility="public")
def test_discriminator_update(student_session):
    steps.discriminator_update(*run(student_session, seed=2), WORDS)


@task("cgan.6", points=2, category="gradients", visibility="public")
def test_generator_step_leaves_the_discriminator_unchanged(student_session):
    steps.generator_step_leaves_the_discriminator_unchanged(run(student_session, seed=3)[0], WORDS)


@task("cgan.6", points=2, category="values", visibility="public")
def test_generator_update_uses_the_updated_discriminator(student_session):
    steps.generator_update_uses_the_updated_discriminator(*run(student_session, seed=4), WORDS)


@task("cgan.6", points=2, category="gradients", visibility="hidden", style=True)
def test_train_step_clears_old_gradients(student_session):
    steps.clears_old_gradients(run(student_session, seed=5)[0], run(student_session, seed=5, stale_gradient=1.0)[0],
                               WORDS)


@task("cgan.6", points=1, category="values", visibility="hidden")
def test_one_update_each_in_order_and_in_train_mode(student_session):
    steps.one_update_each_in_order_and_in_train_mode(run(student_session, seed=6)[0], WORDS)
