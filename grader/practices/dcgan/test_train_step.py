"""dcgan.7: train_step, watched on two small grader-made models with plain SGD.

The student's train_step runs in the worker on a TinyImageGenerator and a TinyImageDiscriminator
(linear layers with the practice's interface: G(z) -> (B, 1, 8, 8) in [-1, 1], D(x) -> (B,)
logits; no batch norm or dropout, so every run is deterministic) whose weights are made here; the
optimizers record, at each step(), every parameter and gradient of both models
(`grader.operations.steps.train_step_probe`). Here the same step is done correctly from the same
weights (`grader.operations.steps.reference_gan_step`)
and the two are compared (`grader.practices.gan_train_step`, shared with cgan). The student's own
Generator and Discriminator are not needed, so this task is graded on its own (the losses it
calls are the student's: a wrong loss also costs here). One more run gives both tiny models batch
norm: there train mode decides the gradients (a D put in eval mode for the generator's step
shows), and the running statistics count the train-mode passes (a second G(z) shows).
"""

from __future__ import annotations

import torch

from grader.practices import gan_train_step as steps
from grader.practices.dcgan.reference import STEPS, noise
from grader.testing import task
from grader.operations.steps import reference_gan_step
from grader.operations.tiny_models import seeded

LR = 0.5
CALL = "train_step(G, D, opt_g, opt_d, real (16, 1, 8, 8), z (16, 100))"


def real_images(batch: int, seed: int) -> torch.Tensor:
    return torch.rand(batch, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def run(student_session, *, seed: int, batch: int = 16, stale_gradient: float | None = None,
        batch_norm: bool = False) -> tuple[dict, dict]:
    models = seeded(seed, g={"model": "TinyImageGenerator", "kwargs": {"batch_norm": batch_norm}},
                    d={"model": "TinyImageDiscriminator", "kwargs": {"batch_norm": batch_norm}})
    data = [real_images(batch, seed + 1), noise(batch, seed + 3)]
    probe = student_session.run(f"{STEPS}:train_step_probe", student_session.module.train_step, models, data, lr=LR,
                                stale_gradient=stale_gradient)
    expected = reference_gan_step("unconditional", models, data, lr=LR, logits=True)
    expected["g_start"], expected["d_start"] = models["g"]["state"], models["d"]["state"]
    return probe, expected


WORDS = {
    "call": CALL,
    "float": "use .item() on a scalar tensor (and torch.sigmoid(logits).mean().item() for D's mean outputs).",
    "loss_d": "loss_d is L_D of step 1, before opt_d.step() (and discriminator_loss must pass its own tests, dcgan.5).",
    "loss_g": "loss_g is L_G of step 2, computed with the updated discriminator (and generator_loss must pass its "
              "own tests, dcgan.6).",
    "d_real": "d_real is the mean of sigmoid(D(real)) in step 1: D returns logits.",
    "d_fake": "d_fake is the mean of sigmoid(D(fake)) in step 1: D returns logits.",
    "d_step": "opt_d.zero_grad(), then L_D = discriminator_loss(D(real), D(fake.detach())), L_D.backward(), "
              "opt_d.step().",
    "again": "in step 2, compute D(fake) again, after opt_d.step().",
    "g_step": "opt_g.zero_grad(), then L_G = generator_loss(D(fake)) with fake = G(z) not detached, L_G.backward(), "
              "opt_g.step().",
    "train_mode": "start train_step with G.train() and D.train(): batch norm must use the batch's statistics.",
}


@task("dcgan.7", points=2, category="values", visibility="public")
def test_train_step_returns_the_four_statistics(student_session):
    steps.returns_the_four_statistics(*run(student_session, seed=0), WORDS)


@task("dcgan.7", points=2, category="gradients", visibility="public")
def test_discriminator_step_leaves_the_generator_untouched(student_session):
    steps.discriminator_step_leaves_the_generator_untouched(*run(student_session, seed=1), WORDS)


@task("dcgan.7", points=2, category="values", visibility="public")
def test_discriminator_update(student_session):
    steps.discriminator_update(*run(student_session, seed=2), WORDS)


@task("dcgan.7", points=2, category="gradients", visibility="public")
def test_generator_step_leaves_the_discriminator_unchanged(student_session):
    steps.generator_step_leaves_the_discriminator_unchanged(run(student_session, seed=3)[0], WORDS)


@task("dcgan.7", points=2, category="values", visibility="public")
def test_generator_update_uses_the_updated_discriminator(student_session):
    steps.generator_update_uses_the_updated_discriminator(*run(student_session, seed=4), WORDS)


@task("dcgan.7", points=2, category="gradients", visibility="hidden", style=True)
def test_train_step_clears_old_gradients(student_session):
    steps.clears_old_gradients(run(student_session, seed=5)[0], run(student_session, seed=5, stale_gradient=1.0)[0],
                               WORDS)


@task("dcgan.7", points=1, category="values", visibility="hidden")
def test_one_update_each_in_order_and_in_train_mode(student_session):
    steps.one_update_each_in_order_and_in_train_mode(run(student_session, seed=6)[0], WORDS)


@task("dcgan.7", points=2, category="values", visibility="hidden")
def test_train_step_on_models_with_batch_norm(student_session):
    probe, expected = run(student_session, seed=7, batch_norm=True)
    call = f"{CALL}, with batch norm in G and D"
    steps.compare_states(steps.first_step(probe, "opt_d", call)["d_grads"], expected["d_grads"],
                         call=f"{call}: the discriminator's gradient when opt_d.step() was called",
                         hint="both models in train mode (batch norm on the batch's statistics). " + WORDS["d_step"])
    steps.compare_states(steps.first_step(probe, "opt_g", call)["g_grads"], expected["g_grads"],
                         call=f"{call}: the generator's gradient when opt_g.step() was called",
                         hint="both models stay in train mode through the whole step (batch norm on the batch's "
                              "statistics): do not put D in eval mode for the generator's step. " + WORDS["g_step"])
    buffers = {"generator": ("g_params", expected["g_after"]), "discriminator": ("d_params", expected["d_final"])}
    for name, (key, want) in buffers.items():
        running = {k: v for k, v in want.items() if k.startswith("norm.running_")}
        steps.compare_states({k: probe["after"][key][k] for k in running}, running,
                             call=f"{call}: the {name}'s batch-norm running statistics after train_step",
                             hint="each train-mode pass moves them once: G runs once (fake = G(z), used detached "
                                  "in step 1 and as it is in step 2), D three times (D(real), D(fake.detach()), "
                                  "D(fake)).")
