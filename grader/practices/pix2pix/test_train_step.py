"""pix2pix.6: train_step, watched on two small grader-made models with plain SGD.

The student's train_step runs in the worker on a TinyTranslator (a 3x3 convolution and tanh) and
a TinyPatchCritic (two convolutions on the joined pair, patch logits), whose weights are made
here; the optimizers record, at each step(), every parameter and gradient of both models (the
watched optimizers of the GAN practices, `grader.operations.steps.train_step_probe`; the comparisons
of `grader.practices.gan_train_step`). Here the same step is done correctly from the same
weights (`grader.operations.steps.reference_gan_step`, paired, with the L1 term) and the two are
compared. The student's
own U-Net and PatchGAN are not needed, so this task is graded on its own. One more run uses a
SmallUNet and a SmallPatchCritic, with batch norm and dropout: there train mode decides the
gradients (a D put in eval mode for the generator's step shows), a second G(x) draws another
dropout mask, and the running statistics count the train-mode passes.
"""

from __future__ import annotations

import torch

from grader.practices.gan_train_step import compare_states, steps
from grader.practices.pix2pix.loop import STATS
from grader.practices.pix2pix.reference import STEPS, images
from grader.testing import check, fail, task
from grader.operations.steps import reference_gan_step
from grader.operations.tiny_models import seeded

LR = 0.05
TINY = {"g": {"model": "TinyTranslator", "kwargs": {}}, "d": {"model": "TinyPatchCritic", "kwargs": {}}}
SMALL = {"g": {"model": "SmallUNet", "kwargs": {}}, "d": {"model": "SmallPatchCritic", "kwargs": {}}}
CALL = "train_step(G, D, opt_g, opt_d, inputs (4, 3, 16, 16), targets (4, 3, 16, 16))"
DETACH_HINT = ("detach G's output in the discriminator step: D(inputs, fake.detach()) keeps the discriminator's "
               "loss from reaching the generator.")


def run(student_session, *, seed: int, stale_gradient: float | None = None, small: bool = False) -> tuple[dict, dict]:
    models = seeded(seed, **(SMALL if small else TINY))
    data = [images(4, 16, seed + 1), images(4, 16, seed + 2)]
    probe = student_session.run(f"{STEPS}:train_step_probe", student_session.module.train_step, models, data, lr=LR,
                                stale_gradient=stale_gradient, seed=seed)
    expected = reference_gan_step("paired", models, data, lr=LR, logits=True, discriminator_weight=0.5,
                                  l1_weight=100.0, seed=seed)
    expected["g_start"] = models["g"]["state"]
    return probe, expected


def first_step(probe: dict, optimizer: str) -> dict:
    found = steps(probe, optimizer)
    if not found:
        fail(f"{CALL} never called {optimizer}.step().", "step 2 ends with opt_d.step(), step 3 with opt_g.step().")
    return found[0]


@task("pix2pix.6", points=2, category="values", visibility="public")
def test_train_step_returns_the_four_losses(student_session):
    probe, expected = run(student_session, seed=0)
    returned = probe["returned"]
    check(isinstance(returned, dict) and all(k in returned for k in STATS), f"{CALL} returned "
          f"{sorted(map(str, returned)) if isinstance(returned, dict) else type(returned).__name__}; expected a dict "
          f"with {', '.join(STATS)}.", 'return {"loss_d": ..., "loss_g": ..., "loss_g_gan": ..., "loss_g_l1": ...} '
                                       "with .item() on each.")
    for key in STATS:
        value, want = returned[key], expected["stats"][key]
        check(isinstance(value, float), f"{CALL} returned {key} as {type(value).__name__}; expected a Python float.",
              "use .item() on a scalar tensor.")
        check(abs(value - want) <= 1e-4 * max(1.0, abs(want)), f"{CALL} returned {key} = {value:.5f}; expected "
              f"{want:.5f}.", {"loss_d": "loss_d is L_D of the discriminator step, before opt_d.step().",
                               "loss_g": "loss_g is gan + 100 * l1 of the generator step, with the updated D.",
                               "loss_g_gan": "loss_g_gan is the gan part of generator_loss, with the updated D.",
                               "loss_g_l1": "loss_g_l1 is the mean |G(x) - y|."}[key])


@task("pix2pix.6", points=2, category="gradients", visibility="public")
def test_discriminator_step_leaves_the_generator_untouched(student_session):
    probe, expected = run(student_session, seed=1)
    event = first_step(probe, "opt_d")
    moved = [n for n in expected["g_start"] if not torch.equal(event["g_params"][n], expected["g_start"][n])]
    check(not moved, f"{CALL}: when opt_d.step() was called, the generator's parameters {moved} had already "
          "changed.", "update the discriminator first, then the generator.")
    touched = {n: g.abs().max().item() for n, g in event["g_grads"].items() if g is not None and g.abs().max() > 0}
    check(not touched, f"{CALL}: when opt_d.step() was called, the generator's parameters had gradients "
          f"(largest |grad| {max(touched.values(), default=0):.3g} in {sorted(touched)}); the discriminator's "
          "loss reached the generator.", DETACH_HINT)


@task("pix2pix.6", points=2, category="values", visibility="public")
def test_discriminator_update(student_session):
    probe, expected = run(student_session, seed=2)
    event = first_step(probe, "opt_d")
    compare_states(event["d_grads"], expected["d_grads"],
                   call=f"{CALL}: the discriminator's gradient when opt_d.step() was called",
                   hint="opt_d.zero_grad(), then L_D = discriminator_loss(D(inputs, targets), "
                        "D(inputs, fake.detach())), L_D.backward(), opt_d.step().")
    after = steps(probe, "opt_g")[0]["d_params"] if steps(probe, "opt_g") else probe["after"]["d_params"]
    compare_states(after, expected["d_after"], call=f"{CALL}: the discriminator's parameters after opt_d.step()",
                   hint="one opt_d.step() after L_D.backward().")


@task("pix2pix.6", points=2, category="values", visibility="public")
def test_generator_update(student_session):
    probe, expected = run(student_session, seed=3)
    event = first_step(probe, "opt_g")
    compare_states(event["g_grads"], expected["g_grads"],
                   call=f"{CALL}: the generator's gradient when opt_g.step() was called",
                   hint="opt_g.zero_grad(), then (L_G, gan, l1) = generator_loss(D(inputs, fake), fake, targets) with "
                        "the updated D and fake not detached, L_G.backward(), opt_g.step().")
    compare_states(probe["after"]["g_params"], expected["g_after"],
                   call=f"{CALL}: the generator's parameters after train_step", hint="one opt_g.step().")
    final, after_d_step = probe["after"]["d_params"], event["d_params"]
    changed = [n for n in final if not torch.equal(final[n], after_d_step[n])]
    check(not changed and len(steps(probe, "opt_d")) == 1, f"{CALL}: the discriminator changed after its own "
          f"update ({changed or 'opt_d.step() called more than once'}).", "call opt_d.step() once, before the "
          "generator's step.")


@task("pix2pix.6", points=1, category="gradients", visibility="hidden", style=True)
def test_train_step_clears_old_gradients_and_trains_in_train_mode(student_session):
    clean, _ = run(student_session, seed=5)
    stale, _ = run(student_session, seed=5, stale_gradient=1.0)
    for model, name in (("d_params", "discriminator"), ("g_params", "generator")):
        compare_states(stale["after"][model], clean["after"][model],
                       call=f"{CALL}, starting with old gradients of 1.0 in every parameter: the {name}'s parameters "
                            "after it, compared with the same call starting without old gradients",
                       hint="call opt_d.zero_grad() before L_D.backward() and opt_g.zero_grad() before "
                            "L_G.backward().")
    for event in clean["events"]:
        if event["event"] == "step":
            check(event["g_training"] and event["d_training"], f"{CALL} was given G and D in eval mode; when "
                  f"{event['optimizer']}.step() was called, one was still in eval mode.",
                  "start train_step with G.train() and D.train(): translate() leaves G in eval mode.")


@task("pix2pix.6", points=2, category="values", visibility="hidden")
def test_train_step_on_models_with_batch_norm_and_dropout(student_session):
    probe, expected = run(student_session, seed=6, small=True)
    call = CALL + " on a small U-Net and PatchGAN with batch norm and dropout"
    compare_states(first_step(probe, "opt_d")["d_grads"], expected["d_grads"],
                   call=f"{call}: the discriminator's gradient when opt_d.step() was called",
                   hint="both models in train mode; fake = G(inputs) once, then L_D = discriminator_loss(D(inputs, "
                        "targets), D(inputs, fake.detach())).")
    compare_states(first_step(probe, "opt_g")["g_grads"], expected["g_grads"],
                   call=f"{call}: the generator's gradient when opt_g.step() was called",
                   hint="G runs once per step: the generator step uses the same fake as the discriminator step "
                        "(a second G(inputs) draws another dropout mask), and D stays in train mode for it.")
    for name, key, want in (("generator", "g_params", expected["g_after"]),
                            ("discriminator", "d_params", expected["d_final"])):
        running = {k: v for k, v in want.items() if "running_" in k}
        compare_states({k: probe["after"][key][k] for k in running}, running,
                       call=f"{call}: the {name}'s batch-norm running statistics after train_step",
                       hint="each train-mode pass moves them once: G runs once, D three times (real pair, detached "
                            "fake pair, fake pair).")
