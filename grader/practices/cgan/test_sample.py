"""cgan.7: sample, watched on a small grader-made generator with dropout, handed over in train mode.

In eval mode its dropout is off, so sample must return exactly the generator's eval-mode output,
the same on every call, without a gradient graph.
"""

from __future__ import annotations

from grader.practices.cgan.reference import GAN_PROBES, labels, noise
from grader.testing import assert_close, check, task
from grader.operations.tiny_models import seeded

CALL = "sample(G, labels (12,), z (12, 100)) with G in train mode"


def run(student_session) -> dict:
    generator = seeded(7, g={"model": "TinyConditionalGenerator", "kwargs": {"dropout": 0.5}},
                       d={"model": "TinyConditionalDiscriminator", "kwargs": {}})["g"]
    y, z = labels(12, 8), noise(12, 9)
    return student_session.run(f"{GAN_PROBES}:sampling_probe", student_session.module.sample, generator, [y, z],
                               train=True, model_args=[z, y])


@task("cgan.7", points=2, category="values", visibility="public")
def test_sample_is_the_generator_in_eval_mode(student_session):
    probe = run(student_session)
    hint = "call G.eval() (dropout off), then return G(z, labels) under torch.no_grad()."
    assert_close(probe["first"], probe["expected"], atol=1e-6, rtol=1e-5, call=CALL, hint=hint)
    assert_close(probe["second"], probe["expected"], atol=1e-6, rtol=1e-5, call=f"{CALL}, called a second time",
                 hint=hint)
    check(not probe["modes_after"][0], f"after {CALL}, G is still in train mode; sample should leave it in eval "
          "mode.", "call G.eval() and do not switch back.")


@task("cgan.7", points=1, category="gradients", visibility="hidden", style=True)
def test_sample_builds_no_gradient_graph(student_session):
    probe = run(student_session)
    check(not probe["has_graph"], f"{CALL} returned images that require a gradient: a graph was recorded.",
          "compute the images under torch.no_grad(); sampling never needs a backward pass.")
