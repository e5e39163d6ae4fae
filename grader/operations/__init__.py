"""The trusted operations: grader-written code that runs in the sandbox worker on a student's objects.

Everything here runs on the untrusted side of the boundary, beside the student's code: it returns
evidence (outputs, gradients, losses, the trained tensors) as data, and judges nothing. The
grader's side (`grader.judging`, the practices' checks) decides what the evidence is worth, and
sends what a practice needs (its settings, its inputs) as data; nothing here names a practice.
This package imports nothing from the grader's side, and a worker imports it before any student
code runs (`grader.sandbox.prefork`).

- `models`: a student's model: its layers in run order, loading weights, outputs, probes.
- `steps`: one watched call of a student's train_step; the correct step to compare with.
- `gan_probes`: the parts of a student's GAN: sampling, initialisation, Maxout, losses, an
  encoder-decoder's skips and dropout, a patch discriminator's reach.
- `tiny_models`: the small grader-made models those probes run the student's functions on.
- `classifier_loop`, `gan_loop`: the grader's training loops.
- `trained_state`: what a trained model hands back to a convergence check.
"""

from grader.operations import (classifier_loop, gan_loop, gan_probes, models, steps,  # noqa: F401
                               tiny_models, trained_state)
