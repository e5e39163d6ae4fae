"""pix2pix.7: translate, watched on a small grader-made generator with dropout, handed over in
train mode. In eval mode its dropout is off, so translate must return exactly its eval-mode
output, the same on every call, without a gradient graph."""

from __future__ import annotations

from grader.suites.pix2pix.reference import P2P, images
from grader.testing import assert_close, check, task
from grader.training.gan import state_of
from grader.training.pix2pix import TinyTranslator

CALL = "translate(G, inputs (6, 3, 16, 16)) with G in train mode"


def run(student_session) -> dict:
    G = TinyTranslator(dropout=0.5)
    return student_session.run(f"{P2P}:translate_probe", student_session.module.translate, state_of(G),
                               images(6, 16, 11), dropout=0.5)


@task("pix2pix.7", points=2, category="values", visibility="public")
def test_translate_is_the_generator_in_eval_mode(student_session):
    probe = run(student_session)
    hint = "call G.eval() (dropout off, running batch-norm statistics), then return G(inputs) under torch.no_grad()."
    assert_close(probe["first"], probe["expected"], atol=1e-6, rtol=1e-5, call=CALL, hint=hint)
    assert_close(probe["second"], probe["expected"], atol=1e-6, rtol=1e-5, call=f"{CALL}, called a second time",
                 hint=hint)
    check(not probe["training_after"], f"after {CALL}, G is still in train mode; translate should leave it in eval "
          "mode.", "call G.eval() and do not switch back.")


@task("pix2pix.7", points=1, category="gradients", visibility="hidden", style=True)
def test_translate_builds_no_gradient_graph(student_session):
    probe = run(student_session)
    check(not probe["has_graph"], f"{CALL} returned images that require a gradient: a graph was recorded.",
          "compute the outputs under torch.no_grad().")
