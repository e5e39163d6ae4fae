"""dcgan.7: train_step, watched on two small grader-made models with plain SGD.

The student's train_step runs in the worker on a TinyImageGenerator and a TinyImageDiscriminator
(linear layers with the practice's interface: G(z) -> (B, 1, 8, 8) in [-1, 1], D(x) -> (B,)
logits; no batch norm or dropout, so every run is deterministic) whose weights are made here; the
optimizers record, at each step(), every parameter and gradient of both models. Here the same
step is done correctly from the same weights (`grader.training.gan_probes.reference_train_step`)
and the two are compared. The student's own Generator and Discriminator are not needed, so this
task is graded on its own (the losses it calls are the student's: a wrong loss also costs here).
"""

from __future__ import annotations

import torch

from grader.suites.cgan.test_train_step import compare_states, same, steps
from grader.suites.dcgan.reference import PROBES, noise
from grader.testing import check, fail, task
from grader.training.gan import state_of
from grader.training.gan_loop import STATS
from grader.training.gan_probes import reference_train_step, tiny_image_models

LR = 0.5
CALL = "train_step(G, D, opt_g, opt_d, real (16, 1, 8, 8), z (16, 100))"
DETACH_HINT = ("did you detach the fake images before the discriminator step? D(fake.detach()) keeps the "
               "discriminator's loss from reaching the generator.")


def real_images(batch: int, seed: int) -> torch.Tensor:
    return torch.rand(batch, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def run(student_session, *, seed: int, batch: int = 16, stale_gradient: float | None = None) -> tuple[dict, dict]:
    G, D = tiny_image_models(seed)
    g_state, d_state = state_of(G), state_of(D)
    x, z = real_images(batch, seed + 1), noise(batch, seed + 3)
    probe = student_session.run(f"{PROBES}:train_step_probe", student_session.module.train_step, g_state, d_state, x,
                                z, lr=LR, stale_gradient=stale_gradient)
    expected = reference_train_step(g_state, d_state, x, z, lr=LR)
    expected["g_start"], expected["d_start"] = g_state, d_state
    return probe, expected


def first_step(probe: dict, optimizer: str) -> dict:
    found = steps(probe, optimizer)
    if not found:
        fail(f"{CALL} never called {optimizer}.step().", "step 1 ends with opt_d.step(), step 2 with opt_g.step().")
    return found[0]


@task("dcgan.7", points=2, category="values", visibility="public")
def test_train_step_returns_the_four_statistics(student_session):
    probe, expected = run(student_session, seed=0)
    returned = probe["returned"]
    check(isinstance(returned, dict), f"{CALL} returned {type(returned).__name__}; expected a dict with "
          f"{', '.join(STATS)}.", 'return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "d_real": ..., '
                                  '"d_fake": ...}.')
    missing = [k for k in STATS if k not in returned]
    check(not missing, f"{CALL} returned a dict without {missing}; its keys are {sorted(map(str, returned))}.",
          f"the dict has exactly these keys: {', '.join(STATS)}.")
    for key in STATS:
        value, want = returned[key], expected["stats"][key]
        check(isinstance(value, float), f"{CALL} returned {key} as {type(value).__name__}; expected a Python float.",
              "use .item() on a scalar tensor (and torch.sigmoid(logits).mean().item() for D's mean outputs).")
        if key == "d_fake" and abs(value - expected["d_fake_after_d_step"]) < 1e-5 and abs(value - want) > 1e-5:
            fail(f"{CALL} returned d_fake = {value:.5f}, the mean D(G(z)) after the discriminator's update; "
                 f"expected {want:.5f}, the mean from the discriminator step, before its update.",
                 "report d_real and d_fake from step 1, where D judged the real and the detached fake images.")
        check(abs(value - want) <= 1e-4 * max(1.0, abs(want)), f"{CALL} returned {key} = {value:.5f}; expected "
              f"{want:.5f}.", {"loss_d": "loss_d is L_D of step 1, before opt_d.step() (and discriminator_loss "
                                         "must pass its own tests, dcgan.5).",
                               "loss_g": "loss_g is L_G of step 2, computed with the updated discriminator (and "
                                         "generator_loss must pass its own tests, dcgan.6).",
                               "d_real": "d_real is the mean of sigmoid(D(real)) in step 1: D returns logits.",
                               "d_fake": "d_fake is the mean of sigmoid(D(fake)) in step 1: D returns logits."}[key])


@task("dcgan.7", points=2, category="gradients", visibility="public")
def test_discriminator_step_leaves_the_generator_untouched(student_session):
    probe, expected = run(student_session, seed=1)
    event = first_step(probe, "opt_d")
    moved = [n for n in expected["g_start"] if not torch.equal(event["g_params"][n], expected["g_start"][n])]
    check(not moved, f"{CALL}: when opt_d.step() was called, the generator's parameters {moved} had already "
          "changed.", "update the discriminator first (step 1), then the generator (step 2).")
    touched = {n: g.abs().max().item() for n, g in event["g_grads"].items() if g is not None and g.abs().max() > 0}
    check(not touched, f"{CALL}: when opt_d.step() was called, the generator's parameters had gradients "
          f"(largest |grad| {max(touched.values(), default=0):.3g} in {sorted(touched)}); the discriminator's "
          "loss reached the generator. Expected no gradient in G during step 1.", DETACH_HINT)


@task("dcgan.7", points=2, category="values", visibility="public")
def test_discriminator_update(student_session):
    probe, expected = run(student_session, seed=2)
    event = first_step(probe, "opt_d")
    compare_states(event["d_grads"], expected["d_grads"],
                   call=f"{CALL}: the discriminator's gradient when opt_d.step() was called",
                   hint="opt_d.zero_grad(), then L_D = discriminator_loss(D(real), D(fake.detach())), L_D.backward(), "
                        "opt_d.step().")
    after = steps(probe, "opt_g")[0]["d_params"] if steps(probe, "opt_g") else probe["after"]["d_params"]
    compare_states(after, expected["d_after"], call=f"{CALL}: the discriminator's parameters after opt_d.step()",
                   hint="one opt_d.step() after L_D.backward(), in step 1.")


@task("dcgan.7", points=2, category="gradients", visibility="public")
def test_generator_step_leaves_the_discriminator_unchanged(student_session):
    probe, expected = run(student_session, seed=3)
    first_step(probe, "opt_g")
    after_d_step = steps(probe, "opt_g")[0]["d_params"]
    final = probe["after"]["d_params"]
    changed = [n for n in final if not torch.equal(final[n], after_d_step[n])]
    check(not changed, f"{CALL}: the discriminator's parameters {changed} changed after opt_g.step() was called; "
          "the generator step must change only the generator.",
          "opt_g holds only G's parameters; call opt_d.step() once, in step 1, and never after L_G.backward().")
    count = len(steps(probe, "opt_d"))
    check(count == 1, f"{CALL} called opt_d.step() {count} times; expected once.",
          "the discriminator is updated once per train_step, in step 1.")


@task("dcgan.7", points=2, category="values", visibility="public")
def test_generator_update_uses_the_updated_discriminator(student_session):
    probe, expected = run(student_session, seed=4)
    event = first_step(probe, "opt_g")
    grads = event["g_grads"]
    if all(grads[n] is not None for n in grads) and same(grads, expected["g_grads_before_d_step"]) \
            and not same(grads, expected["g_grads"]):
        fail(f"{CALL}: the generator's gradient when opt_g.step() was called is the one against the discriminator "
             "before its update.", "in step 2, compute D(fake) again, after opt_d.step().")
    compare_states(grads, expected["g_grads"], call=f"{CALL}: the generator's gradient when opt_g.step() was called",
                   hint="opt_g.zero_grad(), then L_G = generator_loss(D(fake)) with fake = G(z) not detached, "
                        "L_G.backward(), opt_g.step().")
    compare_states(probe["after"]["g_params"], expected["g_after"],
                   call=f"{CALL}: the generator's parameters after train_step",
                   hint="one opt_g.step() after L_G.backward(), in step 2.")


@task("dcgan.7", points=2, category="gradients", visibility="hidden")
def test_train_step_clears_old_gradients(student_session):
    clean, _ = run(student_session, seed=5)
    stale, _ = run(student_session, seed=5, stale_gradient=1.0)
    hint = ("call opt_d.zero_grad() before L_D.backward() and opt_g.zero_grad() before L_G.backward(); without "
            "them the old gradients (here 1.0) are added to the new ones.")
    for model, name in (("d_params", "discriminator"), ("g_params", "generator")):
        compare_states(stale["after"][model], clean["after"][model],
                       call=f"{CALL}, starting with old gradients of 1.0 in every parameter: the {name}'s parameters "
                            "after it, compared with the same call starting without old gradients", hint=hint)


@task("dcgan.7", points=1, category="values", visibility="hidden")
def test_one_update_each_in_order_and_in_train_mode(student_session):
    probe, _ = run(student_session, seed=6)
    order = [e["optimizer"] for e in probe["events"] if e["event"] == "step"]
    check(order == ["opt_d", "opt_g"], f"{CALL} called the optimizers' step() in the order {order}; expected "
          "['opt_d', 'opt_g'].", "one discriminator update, then one generator update.")
    for event in probe["events"]:
        if event["event"] == "step":
            check(event["g_training"] and event["d_training"], f"{CALL} was given G and D in eval mode; when "
                  f"{event['optimizer']}.step() was called, G was in {'train' if event['g_training'] else 'eval'} "
                  f"mode and D in {'train' if event['d_training'] else 'eval'} mode.",
                  "start train_step with G.train() and D.train(): batch norm must use the batch's statistics.")
