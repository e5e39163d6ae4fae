"""dcgan.5-6: the two losses, on logits, their values and their gradients.

The discriminator returns logits a, and D(x) = sigmoid(a). For L_G = -mean log sigmoid(a) the
gradient is dL/da = -(1 - sigmoid(a)) / B, about -1 per sample when D confidently rejects the
fakes (a = -10); the saturating mean log(1 - sigmoid(a)) has dL/da = -sigmoid(a) / B, about
-4.5e-5 per sample: no signal for the generator. Logits of +-200 must give finite losses and
gradients, which binary_cross_entropy_with_logits does and log(sigmoid(a)) does not: in float32
sigmoid(-200) is 0 and sigmoid(200) is 1, so log(sigmoid(-200)) and log(1 - sigmoid(200)) are
-inf (at +-60 the naive formula is still finite: sigmoid(-60) = 8.8e-27 is a float32 number).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.practices.dcgan.reference import GAN_PROBES
from grader.testing import assert_close, check, fail, task

NOT_PROBABILITIES = ("D returns logits: use F.binary_cross_entropy_with_logits (it applies the sigmoid itself, "
                     "stably), not F.binary_cross_entropy on the logits.")


def logits(batch: int, seed: int, scale: float = 3.0) -> torch.Tensor:
    return scale * torch.randn(batch, generator=torch.Generator().manual_seed(seed))  # (B,)


def expected_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.softplus(-real).mean() + F.softplus(fake).mean()  # -log s(a) = softplus(-a), -log(1 - s(a)) = softplus(a)


def scalar(value, call: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        fail(f"{call} should return a scalar tensor, but your code returned {shape}.",
             "reduce with the mean over the batch.")
    return value.reshape(())


def check_discriminator_loss(student, real: torch.Tensor, fake: torch.Tensor) -> None:
    call = f"discriminator_loss(real_logits, fake_logits) with logits of shape {tuple(real.shape)}"
    loss = scalar(student.discriminator_loss(real, fake), call)
    expected = expected_d(real, fake)
    if abs(loss.item() - expected.item() / 2) < 1e-5:
        fail(f"{call} returned {loss.item():.5f}, half the expected {expected.item():.5f}.",
             "add the two means (real and fake); do not average them.")
    if abs(loss.item() - (F.softplus(real).mean() + F.softplus(-fake).mean()).item()) < 1e-5:
        fail(f"{call} returned {loss.item():.5f}: real images are scored as fake and fake ones as real; expected "
             f"{expected.item():.5f}.", "target 1 for real_logits, target 0 for fake_logits.")
    assert_close(loss, expected, atol=1e-5, rtol=1e-4, call=call,
                 hint="L_D = BCE-with-logits(real_logits, 1) + BCE-with-logits(fake_logits, 0), each a batch mean.")


def check_generator_loss(student, fake: torch.Tensor) -> None:
    call = f"generator_loss(fake_logits) with logits of shape {tuple(fake.shape)}"
    loss = scalar(student.generator_loss(fake), call)
    expected = F.softplus(-fake).mean()
    if abs(loss.item() + F.softplus(fake).mean().item()) < 1e-5:
        fail(f"{call} returned {loss.item():.5f} = mean log(1 - sigmoid(a)), the saturating loss; expected "
             f"-mean log sigmoid(a) = {expected.item():.5f}.", "the non-saturating generator loss is "
                                                              "BCE-with-logits of fake_logits with target 1.")
    assert_close(loss, expected, atol=1e-5, rtol=1e-4, call=call,
                 hint="L_G = -mean log sigmoid(fake_logits): BCE-with-logits with target 1 (real).")


@task("dcgan.5", points=2, category="values", visibility="public")
def test_discriminator_loss_values(student):
    check_discriminator_loss(student, logits(16, 0), logits(16, 1))
    check_discriminator_loss(student, logits(3, 2), logits(3, 3))


@task("dcgan.5", points=1, category="gradients", visibility="hidden")
def test_discriminator_loss_gradient_and_large_logits(student_session):
    real = torch.tensor([8.0, -3.0, 0.5, 200.0, -200.0])
    fake = torch.tensor([-9.0, 2.0, -0.5, -200.0, 200.0])
    result = student_session.run(f"{GAN_PROBES}:loss_gradient", student_session.module.discriminator_loss, [real, fake],
                                 squash=False)
    call = "discriminator_loss(real_logits, fake_logits) with logits up to +-200"
    check(result["grads"] is not None, f"{call} returned {type(result['loss']).__name__} without a gradient.",
          "compute the loss with torch operations on its inputs (no .item(), no .detach()).")
    check(bool(torch.isfinite(result["loss"]).all()), f"{call} returned {result['loss']}; expected the finite "
          f"{expected_d(real, fake).item():.4f}.", NOT_PROBABILITIES)
    expected = [-(1 - torch.sigmoid(real)) / 5, torch.sigmoid(fake) / 5]
    for name, got, want in zip(("real_logits", "fake_logits"), result["grads"], expected):
        assert_close(got, want, atol=1e-5, rtol=1e-3, call=f"the gradient of {call} with respect to {name}",
                     hint=NOT_PROBABILITIES)


@task("dcgan.6", points=1, category="values", visibility="public")
def test_generator_loss_values(student):
    check_generator_loss(student, logits(16, 6))
    check_generator_loss(student, logits(1, 7))


@task("dcgan.6", points=2, category="gradients", visibility="public")
def test_generator_loss_is_non_saturating_at_a_confident_discriminator(student_session):
    batch = 8
    fake = torch.full((batch,), -10.0)  # D is sure the generated images are fake: D(G(z)) = 4.5e-5
    result = student_session.run(f"{GAN_PROBES}:loss_gradient", student_session.module.generator_loss, [fake], squash=False)
    call = f"the gradient of generator_loss(a) with respect to the logit a = -10 ({batch} samples)"
    check(result["grads"] is not None and result["grads"][0] is not None,
          f"{call}: generator_loss returned {type(result['loss']).__name__} without a gradient.",
          "compute the loss with torch operations on its input (no .item(), no .detach()).")
    per_sample = result["grads"][0] * batch  # dL/da for each sample, undoing the mean
    expected = -(1 - torch.sigmoid(fake))
    saturating = torch.sigmoid(fake)
    if torch.allclose(per_sample, saturating, rtol=0.05) or torch.allclose(per_sample, -saturating, rtol=0.05):
        fail(f"{call} is {per_sample.mean().item():.3g} per sample: the saturating loss log(1 - D(G(z))), whose "
             f"gradient vanishes when D rejects confidently; expected {expected.mean().item():.4f} per sample.",
             "use the non-saturating loss: L_G = -mean log sigmoid(a), BCE-with-logits with target 1.")
    assert_close(per_sample, expected, atol=1e-4, rtol=1e-3, call=f"{call}, times the batch size",
                 hint="L_G = -mean log sigmoid(a) gives dL/da = -(1 - sigmoid(a)) / B, about -1 per sample here.")


@task("dcgan.6", points=1, category="values", visibility="hidden")
def test_generator_loss_is_finite_at_large_logits(student):
    fake = torch.tensor([-1000.0, -200.0, -30.0, 0.0, 30.0, 200.0, 1000.0])
    call = "generator_loss(fake_logits) with logits from -1000 to 1000 (float32)"
    loss = scalar(student.generator_loss(fake), call)
    check(bool(torch.isfinite(loss)), f"{call} returned {loss.item()}; expected the finite "
          f"{F.softplus(-fake).mean().item():.4f}.", NOT_PROBABILITIES)
    assert_close(loss, F.softplus(-fake).mean(), atol=1e-4, rtol=1e-4, call=call, hint=NOT_PROBABILITIES)
