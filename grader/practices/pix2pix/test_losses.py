"""pix2pix.3-5: the patch's receptive field, and the two losses on patch logits.

The losses take logits (no sigmoid in D) and reduce with means over every patch and pixel.
Typical mistakes are recognised by their values: the sum of the discriminator's two terms not
halved, the L1 term without lambda, a squared error instead of an absolute one, a sum instead of
a mean, a second sigmoid. Logits of +-200 (sigmoid rounds to exactly 0 or 1 in float32) catch
-log(sigmoid(a)) written out.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.testing import assert_close, assert_equal, check, fail, task

BCE = F.binary_cross_entropy_with_logits


def patch_logits(batch: int, seed: int, side: int = 6, scale: float = 3.0) -> torch.Tensor:
    return scale * torch.randn(batch, 1, side, side, generator=torch.Generator().manual_seed(seed))


def pair_images(batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    fake = torch.rand(batch, 3, 16, 16, generator=generator) * 2 - 1
    return fake, torch.rand(batch, 3, 16, 16, generator=generator) * 2 - 1


def scalar(value, call: str, hint: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        fail(f"{call} should return a scalar tensor, but your code returned {shape}.", hint)
    return value.reshape(())


@task("pix2pix.3", points=1, category="values", visibility="public")
def test_receptive_field_of_the_70x70_patchgan(student):
    assert_equal(student.patch_receptive_field(3), 70, call="patch_receptive_field(3)",
                 hint="strides 2, 2, 2, 1, 1 and 4x4 kernels: r = 1 + 3 * (1 + 2 + 4 + 8 + 8).")


@task("pix2pix.3", points=1, category="values", visibility="hidden")
def test_receptive_field_for_other_depths(student):
    for n_layers, field in ((0, 7), (1, 16), (2, 34), (4, 142), (5, 286)):
        assert_equal(student.patch_receptive_field(n_layers), field, call=f"patch_receptive_field({n_layers})",
                     hint="n_layers convolutions with stride 2, then two with stride 1, all 4x4.")


def check_discriminator_loss(student, real: torch.Tensor, fake: torch.Tensor) -> None:
    call = f"discriminator_loss(real_logits, fake_logits) with patch logits of shape {tuple(real.shape)}"
    loss = scalar(student.discriminator_loss(real, fake), call, "average over every patch of every pair.")
    terms = BCE(real, torch.ones_like(real)) + BCE(fake, torch.zeros_like(fake))
    expected = terms / 2
    if abs(loss.item() - terms.item()) < 1e-5:
        fail(f"{call} returned {loss.item():.5f}, the sum of the two terms; expected half of it, "
             f"{expected.item():.5f}.", "pix2pix halves the discriminator's objective: (real + fake) / 2.")
    probabilities = (F.binary_cross_entropy(torch.sigmoid(torch.sigmoid(real)), torch.ones_like(real))
                     + F.binary_cross_entropy(torch.sigmoid(torch.sigmoid(fake)), torch.zeros_like(fake))) / 2
    if abs(loss.item() - probabilities.item()) < 1e-5:
        fail(f"{call} returned {loss.item():.5f}, the loss of sigmoid(logits) taken as logits; expected "
             f"{expected.item():.5f}.", "D returns logits: use F.binary_cross_entropy_with_logits on them directly.")
    assert_close(loss, expected, atol=1e-5, rtol=1e-4, call=call,
                 hint="L_D = (BCE_with_logits(real, 1) + BCE_with_logits(fake, 0)) / 2, each a mean over patches.")


@task("pix2pix.4", points=2, category="values", visibility="public")
def test_discriminator_loss_values(student):
    check_discriminator_loss(student, patch_logits(4, 1), patch_logits(4, 2))


@task("pix2pix.4", points=1, category="values", visibility="hidden")
def test_discriminator_loss_on_other_shapes(student):
    check_discriminator_loss(student, patch_logits(1, 3, side=30), patch_logits(1, 4, side=30, scale=20.0))


def check_generator_loss(student, fake_logits: torch.Tensor, fake: torch.Tensor, target: torch.Tensor,
                         lambda_l1: float | None) -> None:
    args = [fake_logits, fake, target] + ([lambda_l1] if lambda_l1 is not None else [])
    shown = "" if lambda_l1 is None else f", lambda_l1={lambda_l1:g}"
    call = f"generator_loss(fake_logits {tuple(fake_logits.shape)}, fake {tuple(fake.shape)}, target{shown})"
    returned = student.generator_loss(*args)
    check(isinstance(returned, (tuple, list)) and len(returned) == 3, f"{call} should return three scalar tensors "
          f"(total, gan, l1), but your code returned {type(returned).__name__}"
          f"{f' of length {len(returned)}' if isinstance(returned, (tuple, list)) else ''}.",
          "return total, gan, l1.")
    total, gan, l1 = (scalar(value, f"{call}[{i}]", "reduce with means.") for i, value in enumerate(returned))
    weight = 100.0 if lambda_l1 is None else lambda_l1
    want_gan = BCE(fake_logits, torch.ones_like(fake_logits))
    want_l1 = F.l1_loss(fake, target)  # mean |fake - target| over every element
    assert_close(gan, want_gan, atol=1e-5, rtol=1e-4, call=f"{call}: its gan part",
                 hint="gan = BCE_with_logits(fake_logits, 1): the non-saturating loss, a mean over patches.")
    if abs(l1.item() - (fake - target).pow(2).mean().item()) < 1e-6:
        fail(f"{call}: its l1 part is {l1.item():.5f}, the mean squared error; expected the mean absolute error "
             f"{want_l1.item():.5f}.", "the L1 part is the mean of |fake - target|, not of its square: L1 blurs less than L2.")
    if abs(l1.item() - (fake - target).abs().sum().item()) < 1e-3:
        fail(f"{call}: its l1 part is {l1.item():.5f}, the sum of absolute differences; expected their mean "
             f"{want_l1.item():.5f}.", "the L1 part is the mean of |fake - target| over every element, not their sum.")
    assert_close(l1, want_l1, atol=1e-5, rtol=1e-4, call=f"{call}: its l1 part",
                 hint="the L1 part is the mean of |fake - target| over every pixel and channel.")
    if abs(total.item() - (want_gan + want_l1).item()) < 1e-4:
        fail(f"{call}: its total is {total.item():.5f} = gan + l1; expected gan + {weight:g} * l1 = "
             f"{(want_gan + weight * want_l1).item():.5f}.", "weigh the L1 term with lambda_l1 (100 by default).")
    assert_close(total, want_gan + weight * want_l1, atol=1e-4, rtol=1e-4, call=f"{call}: its total",
                 hint="total = gan + lambda_l1 * l1.")


@task("pix2pix.5", points=2, category="values", visibility="public")
def test_generator_loss_is_gan_plus_100_l1(student):
    fake, target = pair_images(2, 5)
    check_generator_loss(student, patch_logits(2, 6), fake, target, None)


@task("pix2pix.5", points=1, category="values", visibility="hidden")
def test_generator_loss_with_another_lambda(student):
    fake, target = pair_images(3, 7)
    check_generator_loss(student, patch_logits(3, 8, side=2), fake, target, 10.0)


@task("pix2pix.5", points=1, category="gradients", visibility="hidden")
def test_generator_loss_gradient_reaches_the_fake(student_session):
    fake, target = pair_images(2, 9)
    logits = patch_logits(2, 10)
    total = student_session.run("grader.operations.gan_probes:loss_gradient", student_session.module.generator_loss,
                                [logits, fake, target], differentiate=2, part=0)
    leaves = [t.clone().requires_grad_(True) for t in (logits, fake)]
    expected = torch.autograd.grad(BCE(leaves[0], torch.ones_like(leaves[0])) + 100 * (leaves[1] - target).abs().mean(),
                                   leaves)
    check(total["grads"] is not None and all(g is not None for g in total["grads"]),
          "generator_loss(...)[0]: no gradient reaches fake_logits or fake.",
          "compute the losses with differentiable torch operations, no .item() or .detach().")
    for got, want, name in zip(total["grads"], expected, ("fake_logits", "fake")):
        assert_close(got, want, atol=1e-6, rtol=1e-4, call=f"the gradient of generator_loss(...)[0] with respect "
                     f"to {name}", hint="total = gan + lambda_l1 * l1.")


@task("pix2pix.5", points=1, category="values", visibility="hidden")
def test_generator_loss_is_finite_at_large_logits(student):
    logits = torch.tensor([-1000.0, -200.0, -30.0, 0.0, 30.0, 200.0, 1000.0]).view(1, 1, 1, 7)
    fake, target = pair_images(1, 11)
    call = "generator_loss(fake_logits (1, 1, 1, 7) from -1000 to 1000, fake, target) in float32"
    returned = student.generator_loss(logits, fake, target)
    gan = returned[1] if isinstance(returned, (tuple, list)) and len(returned) == 3 else None
    check(isinstance(gan, torch.Tensor) and bool(torch.isfinite(gan).all()),
          f"{call}: its gan part is {gan if isinstance(gan, torch.Tensor) else type(returned).__name__}; expected "
          f"the finite {BCE(logits, torch.ones_like(logits)).item():.4f}.",
          "sigmoid(-200) is exactly 0 in float32, so -log(sigmoid(a)) written out is inf there: use "
          "F.binary_cross_entropy_with_logits, which computes it as softplus(-a).")
    check_generator_loss(student, logits, fake, target, None)
