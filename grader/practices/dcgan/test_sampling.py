"""dcgan.8-9: sample and interpolate, watched on a small grader-made generator with batch norm.

Its batch norm has running statistics unlike any batch's, so its eval-mode images differ from
its train-mode ones: sample and interpolate must draw in eval mode, without a gradient graph,
without touching the running statistics, and hand G back in the mode it came in (train or eval).
"""

from __future__ import annotations

import torch

from grader.practices.dcgan.reference import GAN_PROBES, noise
from grader.testing import assert_close, check, fail, task
from grader.operations.tiny_models import built, seeded

STEPS = 7
GENERATOR = {"model": "TinyImageGenerator", "kwargs": {"batch_norm": True}}  # a grader-made G (tiny_models)


def generator_state(seed: int) -> dict:
    return seeded(seed, g=GENERATOR, d={"model": "TinyImageDiscriminator", "kwargs": {}})["g"]["state"]


def eval_images(state: dict, z: torch.Tensor) -> torch.Tensor:
    G = built({**GENERATOR, "state": state})
    G.eval()
    with torch.no_grad():
        return G(z)


def run(student_session, name: str, state: dict, args: list, *, train: bool) -> dict:
    return student_session.run(f"{GAN_PROBES}:sampling_probe", getattr(student_session.module, name),
                               {**GENERATOR, "state": state}, args, train=train)


def mode_kept(probe: dict, call: str, train: bool, hint: str) -> None:
    mode = "train" if train else "eval"
    after = ["train" if m else "eval" for m in probe["modes_after"]]
    check(after == [mode, mode], f"{call} with G in {mode} mode left G in {after[0]} mode (after a second call: "
          f"{after[1]}); expected {mode} mode, the mode it was given in.", hint)


def no_side_effects(probe: dict, state: dict, call: str) -> None:
    check(not probe["has_graph"], f"{call} returned images that require a gradient: a graph was recorded.",
          "compute the images under torch.no_grad(); drawing never needs a backward pass.")
    changed = [k for k, v in state.items() if not torch.equal(probe["state_after"][k], v)]
    check(not changed, f"{call} changed G's {changed}: a train-mode pass updated batch norm's running statistics.",
          "switch G to eval mode before drawing.")


SAMPLE_HINT = "remember G.training, call G.eval(), draw G(z) under torch.no_grad(), then G.train(was_training)."


@task("dcgan.8", points=2, category="values", visibility="public")
def test_sample_draws_in_eval_mode_and_restores_the_mode(student_session):
    state, z = generator_state(7), noise(12, 8)
    expected = eval_images(state, z)
    for train in (True, False):
        call = f"sample(G, z (12, 100)) with G in {'train' if train else 'eval'} mode"
        probe = run(student_session, "sample", state, [z], train=train)
        assert_close(probe["first"], expected, atol=1e-6, rtol=1e-5, call=call, hint=SAMPLE_HINT)
        assert_close(probe["second"], expected, atol=1e-6, rtol=1e-5, call=f"{call}, called a second time",
                     hint=SAMPLE_HINT)
        mode_kept(probe, call, train, SAMPLE_HINT)


@task("dcgan.8", points=1, category="gradients", visibility="hidden", style=True)
def test_sample_builds_no_graph_and_keeps_the_statistics(student_session):
    state = generator_state(9)
    probe = run(student_session, "sample", state, [noise(12, 10)], train=True)
    no_side_effects(probe, state, "sample(G, z (12, 100)) with G in train mode")


def interpolation_inputs(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    z = noise(2, seed)
    return z[0], z[1]  # (100,) each


INTERPOLATE_HINT = ("t = torch.linspace(0, 1, steps); z_i = (1 - t_i) * z0 + t_i * z1, a (steps, nz) batch; draw it "
                    "like sample (eval mode, no gradients, G's mode restored).")


@task("dcgan.9", points=2, category="values", visibility="public")
def test_interpolate_starts_at_z0_and_ends_at_z1(student_session):
    state = generator_state(11)
    z0, z1 = interpolation_inputs(12)
    call = f"interpolate(G, z0 (100,), z1 (100,), steps={STEPS}) with G in train mode"
    probe = run(student_session, "interpolate", state, [z0, z1, STEPS], train=True)
    out = probe["first"]
    check(isinstance(out, torch.Tensor) and tuple(out.shape) == (STEPS, 1, 8, 8),
          f"{call} returned {tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}; expected "
          f"shape ({STEPS}, 1, 8, 8): one image per step.", INTERPOLATE_HINT)
    ends = eval_images(state, torch.stack([z0, z1]))
    if torch.allclose(out[-1], ends[0], atol=1e-5) and torch.allclose(out[0], ends[1], atol=1e-5):
        fail(f"{call} goes from G(z1) to G(z0); expected G(z0) first and G(z1) last.", INTERPOLATE_HINT)
    assert_close(out[0], ends[0], atol=1e-5, rtol=1e-4, call=f"{call}, its first image (expected G(z0) in eval mode)",
                 hint=INTERPOLATE_HINT)
    assert_close(out[-1], ends[1], atol=1e-5, rtol=1e-4, call=f"{call}, its last image (expected G(z1) in eval "
                 "mode)", hint=INTERPOLATE_HINT)
    mode_kept(probe, call, True, INTERPOLATE_HINT)


@task("dcgan.9", points=1, category="values", visibility="hidden")
def test_interpolate_walks_the_straight_line(student_session):
    state = generator_state(13)
    z0, z1 = interpolation_inputs(14)
    t = torch.linspace(0, 1, 5).unsqueeze(1)
    expected = eval_images(state, (1 - t) * z0 + t * z1)
    call = "interpolate(G, z0 (100,), z1 (100,), steps=5) with G in eval mode"
    probe = run(student_session, "interpolate", state, [z0, z1, 5], train=False)
    assert_close(probe["first"], expected, atol=1e-5, rtol=1e-4, call=call, hint=INTERPOLATE_HINT)
    mode_kept(probe, call, False, INTERPOLATE_HINT)
    no_side_effects(probe, state, call)
