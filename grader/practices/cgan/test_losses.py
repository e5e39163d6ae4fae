"""cgan.4-5: the two losses, on probabilities, their values and their gradients.

The gradient test feeds the losses sigmoid(a) for logits a made here, and compares dL/da with
the closed forms: for L_G = -mean log sigmoid(a), dL/da = -(1 - sigmoid(a)) / B, about -1 per
sample when D confidently rejects (a = -10); the saturating log(1 - sigmoid(a)) would give
-sigmoid(a) / B, about -4.5e-5 per sample: no signal for the generator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.practices.cgan.reference import GAN_PROBES
from grader.testing import assert_close, check, fail, task

SIGMOID_TWICE = ("the discriminator's outputs are probabilities already (D ends in a sigmoid): use "
                 "F.binary_cross_entropy (or torch.log), not F.binary_cross_entropy_with_logits, which applies a "
                 "second sigmoid.")


def probabilities(batch: int, seed: int, low: float = 0.02, high: float = 0.98) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(batch, 1, generator=generator)  # (B, 1)


def expected_d(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    return -torch.log(d_real).mean() - torch.log1p(-d_fake).mean()


def scalar(value, call: str, hint: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        fail(f"{call} should return a scalar tensor, but your code returned {shape}.", hint)
    return value.reshape(())


def check_discriminator_loss(student, d_real: torch.Tensor, d_fake: torch.Tensor) -> None:
    call = f"discriminator_loss(d_real, d_fake) with probabilities of shape {tuple(d_real.shape)}"
    hint = "L_D = -mean log D(x|y) - mean log(1 - D(G(z|y)|y)): binary cross-entropy with target 1 on d_real " \
           "plus with target 0 on d_fake."
    loss = scalar(student.discriminator_loss(d_real, d_fake), call, "reduce with the mean over the batch.")
    expected = expected_d(d_real, d_fake)
    if abs(loss.item() - (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                          + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))).item()) < 1e-5:
        fail(f"{call} returned {loss.item():.5f}, the loss of sigmoid(d_real) and sigmoid(d_fake); expected "
             f"{expected.item():.5f}.", SIGMOID_TWICE)
    if abs(loss.item() - expected.item() / 2) < 1e-5:
        fail(f"{call} returned {loss.item():.5f}, half the expected {expected.item():.5f}.",
             "add the two means (real and fake); do not average them.")
    if abs(loss.item() + expected.item()) < 1e-5:
        fail(f"{call} returned {loss.item():.5f}, minus the expected {expected.item():.5f}.",
             "D maximises log D(x) + log(1 - D(G(z))): its loss to minimise is the negative of that.")
    assert_close(loss, expected, atol=1e-5, rtol=1e-4, call=call, hint=hint)


def check_generator_loss(student, d_fake: torch.Tensor) -> None:
    call = f"generator_loss(d_fake) with probabilities of shape {tuple(d_fake.shape)}"
    loss = scalar(student.generator_loss(d_fake), call, "reduce with the mean over the batch.")
    expected = -torch.log(d_fake).mean()
    if abs(loss.item() - F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake)).item()) < 1e-5:
        fail(f"{call} returned {loss.item():.5f}, the loss of sigmoid(d_fake); expected {expected.item():.5f}.",
             SIGMOID_TWICE)
    if abs(loss.item() - torch.log1p(-d_fake).mean().item()) < 1e-5:
        fail(f"{call} returned {loss.item():.5f} = mean log(1 - D(G(z))), the saturating loss; expected "
             f"-mean log D(G(z)) = {expected.item():.5f}.",
             "the non-saturating generator loss is binary cross-entropy of d_fake with target 1.")
    assert_close(loss, expected, atol=1e-5, rtol=1e-4, call=call,
                 hint="L_G = -mean log D(G(z|y)|y): binary cross-entropy of d_fake with target 1 (real).")


@task("cgan.4", points=2, category="values", visibility="public")
def test_discriminator_loss_values(student):
    check_discriminator_loss(student, probabilities(16, 0), probabilities(16, 1))
    check_discriminator_loss(student, probabilities(3, 2), probabilities(3, 3))


@task("cgan.4", points=1, category="gradients", visibility="hidden")
def test_discriminator_loss_gradient_at_confident_outputs(student_session):
    real = torch.tensor([[8.0], [-3.0], [0.5], [12.0]])  # logits of D on real images
    fake = torch.tensor([[-9.0], [2.0], [-0.5], [-12.0]])
    result = student_session.run(f"{GAN_PROBES}:loss_gradient", student_session.module.discriminator_loss, [real, fake],
                                 squash=True)
    call = "the gradient of discriminator_loss(sigmoid(a_real), sigmoid(a_fake)) with respect to the logits"
    check(result["grads"] is not None, f"{call}: discriminator_loss returned "
          f"{type(result['loss']).__name__} without a gradient.",
          "compute the loss with torch operations on its inputs (no .item(), no .detach()).")
    expected = [-(1 - torch.sigmoid(real)) / 4, torch.sigmoid(fake) / 4]
    for name, got, want in zip(("a_real", "a_fake"), result["grads"], expected):
        assert_close(got, want, atol=1e-5, rtol=1e-3, call=f"{call} {name} (4 samples)",
                     hint="with probabilities as inputs, -log p and -log(1 - p) give these gradients; a clamp or "
                          "an epsilon too large (log(p + 0.1)) distorts them.")


@task("cgan.4", points=1, category="values", visibility="hidden")
def test_no_sigmoid_applied_twice_in_the_losses(student):
    d_real, d_fake = probabilities(8, 4, 0.001, 0.999), probabilities(8, 5, 0.001, 0.999)
    call = "discriminator_loss(d_real, d_fake) with probabilities near 0 and 1"
    loss = scalar(student.discriminator_loss(d_real, d_fake), call, "reduce with the mean over the batch.")
    doubled = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
               + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
    check(abs(loss.item() - doubled.item()) > 1e-4, f"{call} returned {loss.item():.5f}, the loss of "
          f"sigmoid(d_real) and sigmoid(d_fake); expected {expected_d(d_real, d_fake).item():.5f}.", SIGMOID_TWICE)
    call = "generator_loss(d_fake) with probabilities near 0 and 1"
    loss = scalar(student.generator_loss(d_fake), call, "reduce with the mean over the batch.")
    doubled = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
    check(abs(loss.item() - doubled.item()) > 1e-4, f"{call} returned {loss.item():.5f}, the loss of "
          f"sigmoid(d_fake); expected {-torch.log(d_fake).mean().item():.5f}.", SIGMOID_TWICE)


@task("cgan.5", points=1, category="values", visibility="public")
def test_generator_loss_values(student):
    check_generator_loss(student, probabilities(16, 6))
    check_generator_loss(student, probabilities(1, 7))


@task("cgan.5", points=2, category="gradients", visibility="public")
def test_generator_loss_is_non_saturating_at_a_confident_discriminator(student_session):
    batch = 8
    logits = torch.full((batch, 1), -10.0)  # D is sure the generated images are fake: D(G(z)) = 4.5e-5
    result = student_session.run(f"{GAN_PROBES}:loss_gradient", student_session.module.generator_loss, [logits],
                                 squash=True)
    call = f"the gradient of generator_loss(sigmoid(a)) with respect to the logit a = -10 ({batch} samples)"
    check(result["grads"] is not None and result["grads"][0] is not None,
          f"{call}: generator_loss returned {type(result['loss']).__name__} without a gradient.",
          "compute the loss with torch operations on its input (no .item(), no .detach()).")
    per_sample = result["grads"][0] * batch  # dL/da for each sample, undoing the mean
    expected = -(1 - torch.sigmoid(logits))
    saturating = -torch.sigmoid(logits)
    if torch.allclose(per_sample, saturating, rtol=0.05) or torch.allclose(per_sample, -saturating, rtol=0.05):
        fail(f"{call} is {per_sample.mean().item():.3g} per sample: the saturating loss log(1 - D(G(z))), whose "
             f"gradient vanishes when D rejects confidently; expected {expected.mean().item():.4f} per sample.",
             "use the non-saturating loss: L_G = -mean log D(G(z)), binary cross-entropy with target 1.")
    assert_close(per_sample, expected, atol=1e-4, rtol=1e-3, call=f"{call}, times the batch size",
                 hint="L_G = -mean log D(G(z)) gives dL/da = -(1 - sigmoid(a)) / B, about -1 per sample here.")
