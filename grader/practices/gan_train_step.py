"""The checks of a GAN practice's train_step, shared by the GAN practices' suites.

Each practice runs its student's train_step once on small grader-made models with watched SGD
optimizers (`grader.operations.steps:train_step_probe`, with a conditional GAN's models or an
unconditional one's) and the correct step on the trusted side
(`grader.operations.steps.reference_gan_step`); these functions compare the two. `words` holds what differs between the
practices' messages: "call" (how the call reads), "loss_d" / "loss_g" / "d_real" / "d_fake"
(where each statistic comes from), "float" (how to return floats), "d_step" and "g_step" (the
right update), "again" (computing D's output again), "train_mode" (why train mode).
"""

from __future__ import annotations

import torch

from grader.testing import assert_close, check, fail
from grader.operations.gan_loop import STATS

DETACH = ("did you detach the fake images before the discriminator step? Scoring fake.detach() keeps the "
          "discriminator's loss from reaching the generator.")


def steps(probe: dict, optimizer: str) -> list[dict]:
    return [e for e in probe["events"] if e["event"] == "step" and e["optimizer"] == optimizer]


def first_step(probe: dict, optimizer: str, call: str) -> dict:
    found = steps(probe, optimizer)
    if not found:
        fail(f"{call} never called {optimizer}.step().", "step 1 ends with opt_d.step(), step 2 with opt_g.step().")
    return found[0]


def compare_states(actual: dict, expected: dict, *, call: str, hint: str) -> None:
    for name, value in expected.items():
        got = actual.get(name)
        if got is None:
            fail(f"{call}: parameter {name!r} has no gradient; expected one.", hint)
        assert_close(got, value, atol=1e-5, rtol=1e-4, call=f"{call}, {name!r}", hint=hint)


def same(a: dict, b: dict) -> bool:
    return all(a[k] is not None and b[k] is not None and torch.allclose(a[k], b[k], atol=1e-6) for k in b)


def returns_the_four_statistics(probe: dict, expected: dict, words: dict) -> None:
    call, returned = words["call"], probe["returned"]
    check(isinstance(returned, dict), f"{call} returned {type(returned).__name__}; expected a dict with "
          f"{', '.join(STATS)}.", 'return a dict of floats (tensor.item()) with the keys loss_d, loss_g, '
                                  'd_real and d_fake.')
    missing = [k for k in STATS if k not in returned]
    check(not missing, f"{call} returned a dict without {missing}; its keys are {sorted(map(str, returned))}.",
          f"the dict has exactly these keys: {', '.join(STATS)}.")
    for key in STATS:
        value, want = returned[key], expected["stats"][key]
        check(isinstance(value, float), f"{call} returned {key} as {type(value).__name__}; expected a Python float.",
              words["float"])
        if key == "d_fake" and abs(value - expected["d_fake_after_d_step"]) < 1e-5 and abs(value - want) > 1e-5:
            fail(f"{call} returned d_fake = {value:.5f}, the mean D(G(z)) after the discriminator's update; "
                 f"expected {want:.5f}, the mean from the discriminator step, before its update.",
                 "report d_real and d_fake from step 1, where D judged the real and the detached fake images.")
        check(abs(value - want) <= 1e-4 * max(1.0, abs(want)), f"{call} returned {key} = {value:.5f}; expected "
              f"{want:.5f}.", words[key])


def discriminator_step_leaves_the_generator_untouched(probe: dict, expected: dict, words: dict) -> None:
    call = words["call"]
    event = first_step(probe, "opt_d", call)
    moved = [n for n in expected["g_start"] if not torch.equal(event["g_params"][n], expected["g_start"][n])]
    check(not moved, f"{call}: when opt_d.step() was called, the generator's parameters {moved} had already "
          "changed.", "update the discriminator first (step 1), then the generator (step 2).")
    touched = {n: g.abs().max().item() for n, g in event["g_grads"].items() if g is not None and g.abs().max() > 0}
    check(not touched, f"{call}: when opt_d.step() was called, the generator's parameters had gradients "
          f"(largest |grad| {max(touched.values(), default=0):.3g} in {sorted(touched)}); the discriminator's "
          "loss reached the generator. Expected no gradient in G during step 1.", words.get("detach", DETACH))


def discriminator_update(probe: dict, expected: dict, words: dict) -> None:
    call = words["call"]
    event = first_step(probe, "opt_d", call)
    compare_states(event["d_grads"], expected["d_grads"],
                   call=f"{call}: the discriminator's gradient when opt_d.step() was called", hint=words["d_step"])
    after = steps(probe, "opt_g")[0]["d_params"] if steps(probe, "opt_g") else probe["after"]["d_params"]
    compare_states(after, expected["d_after"], call=f"{call}: the discriminator's parameters after opt_d.step()",
                   hint="one opt_d.step() after L_D.backward(), in step 1.")


def generator_step_leaves_the_discriminator_unchanged(probe: dict, words: dict) -> None:
    call = words["call"]
    first_step(probe, "opt_g", call)
    after_d_step = steps(probe, "opt_g")[0]["d_params"]
    final = probe["after"]["d_params"]
    changed = [n for n in final if not torch.equal(final[n], after_d_step[n])]
    check(not changed, f"{call}: the discriminator's parameters {changed} changed after opt_g.step() was called; "
          "the generator step must change only the generator.",
          "opt_g holds only G's parameters; call opt_d.step() once, in step 1, and never after L_G.backward().")
    count = len(steps(probe, "opt_d"))
    check(count == 1, f"{call} called opt_d.step() {count} times; expected once.",
          "the discriminator is updated once per train_step, in step 1.")


def generator_update_uses_the_updated_discriminator(probe: dict, expected: dict, words: dict) -> None:
    call = words["call"]
    grads = first_step(probe, "opt_g", call)["g_grads"]
    if all(grads[n] is not None for n in grads) and same(grads, expected["g_grads_before_d_step"]) \
            and not same(grads, expected["g_grads"]):
        fail(f"{call}: the generator's gradient when opt_g.step() was called is the one against the discriminator "
             "before its update.", words["again"])
    compare_states(grads, expected["g_grads"], call=f"{call}: the generator's gradient when opt_g.step() was called",
                   hint=words["g_step"])
    compare_states(probe["after"]["g_params"], expected["g_after"],
                   call=f"{call}: the generator's parameters after train_step",
                   hint="one opt_g.step() after L_G.backward(), in step 2.")


def clears_old_gradients(clean: dict, stale: dict, words: dict) -> None:
    hint = ("call opt_d.zero_grad() before L_D.backward() and opt_g.zero_grad() before L_G.backward(); without "
            "them the old gradients (here 1.0) are added to the new ones.")
    for model, name in (("d_params", "discriminator"), ("g_params", "generator")):
        compare_states(stale["after"][model], clean["after"][model],
                       call=f"{words['call']}, starting with old gradients of 1.0 in every parameter: the {name}'s "
                            "parameters after it, compared with the same call starting without old gradients",
                       hint=hint)


def one_update_each_in_order_and_in_train_mode(probe: dict, words: dict) -> None:
    call = words["call"]
    order = [e["optimizer"] for e in probe["events"] if e["event"] == "step"]
    check(order == ["opt_d", "opt_g"], f"{call} called the optimizers' step() in the order {order}; expected "
          "['opt_d', 'opt_g'].", "one discriminator update, then one generator update.")
    for event in probe["events"]:
        if event["event"] == "step":
            check(event["g_training"] and event["d_training"], f"{call} was given G and D in eval mode; when "
                  f"{event['optimizer']}.step() was called, G was in {'train' if event['g_training'] else 'eval'} "
                  f"mode and D in {'train' if event['d_training'] else 'eval'} mode.", words["train_mode"])
