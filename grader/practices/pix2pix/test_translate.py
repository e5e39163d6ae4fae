"""pix2pix.7: translate, watched on small grader-made generators handed over in train mode: one
with dropout, and a two-level U-Net with batch norm and dropout (`SmallUNet`) whose running
statistics are unlike any batch's. In eval mode dropout is off and batch norm uses the running
statistics, so translate must return exactly the eval-mode output, the same on every call,
without a gradient graph and without moving the running statistics."""

from __future__ import annotations

import torch

from grader.practices.pix2pix.reference import GAN_PROBES, images
from grader.testing import assert_close, check, task
from grader.operations.tiny_models import built, seeded, state_of

CALL = "translate(G, inputs (6, 3, 16, 16)) with G in train mode"


def run(student_session) -> dict:
    generator = {"model": "TinyTranslator", "kwargs": {"dropout": 0.5}}
    generator["state"] = state_of(built(generator))
    x = images(6, 16, 11)
    return student_session.run(f"{GAN_PROBES}:sampling_probe", student_session.module.translate, generator, [x],
                               train=True, model_args=[x])


@task("pix2pix.7", points=2, category="values", visibility="public")
def test_translate_is_the_generator_in_eval_mode(student_session):
    probe = run(student_session)
    hint = "call G.eval() (dropout off, running batch-norm statistics), then return G(inputs) under torch.no_grad()."
    assert_close(probe["first"], probe["expected"], atol=1e-6, rtol=1e-5, call=CALL, hint=hint)
    assert_close(probe["second"], probe["expected"], atol=1e-6, rtol=1e-5, call=f"{CALL}, called a second time",
                 hint=hint)
    check(not probe["modes_after"][0], f"after {CALL}, G is still in train mode; translate should leave it in eval "
          "mode.", "call G.eval() and do not switch back.")


@task("pix2pix.7", points=1, category="gradients", visibility="hidden", style=True)
def test_translate_builds_no_gradient_graph(student_session):
    probe = run(student_session)
    check(not probe["has_graph"], f"{CALL} returned images that require a gradient: a graph was recorded.",
          "compute the outputs under torch.no_grad().")


@task("pix2pix.7", points=1, category="values", visibility="hidden")
def test_translate_on_a_unet_with_batch_norm(student_session):
    generator = seeded(12, g={"model": "SmallUNet", "kwargs": {}}, d={"model": "SmallPatchCritic", "kwargs": {}})["g"]
    state, x = generator["state"], images(6, 16, 13)
    probe = student_session.run(f"{GAN_PROBES}:sampling_probe", student_session.module.translate, generator, [x],
                                train=True, model_args=[x])
    call = "translate(G, inputs (6, 3, 16, 16)) with a U-Net G (batch norm, dropout) in train mode"
    hint = ("G.eval() switches every layer to evaluation mode: batch norm uses its running statistics (not the "
            "batch's) and dropout is off; do not switch any layer back to train mode.")
    assert_close(probe["first"], probe["expected"], atol=1e-6, rtol=1e-5, call=call, hint=hint)
    moved = [k for k, v in state.items() if "running_" in k and not torch.equal(probe["state_after"][k], v)]
    check(not moved, f"{call} moved G's batch-norm running statistics {moved}: a layer ran in train mode.", hint)
