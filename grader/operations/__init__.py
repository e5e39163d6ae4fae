"""The trusted operations: grader-written code that runs in the sandbox worker on a student's objects.

Everything here runs on the untrusted side of the boundary, beside the student's code: it returns
evidence (outputs, gradients, losses, the trained tensors) as data, and judges nothing. The
grader's side (`grader.judging`, the practices' checks) decides what the evidence is worth. This
package imports nothing from the grader's side, and a worker imports it before any student code
runs (`grader.sandbox.prefork`).
"""

from grader.operations import (classifier_loop, conditional_gan, conv_gan, gan_loop,  # noqa: F401
                               model_probes, trained_state, translation)
