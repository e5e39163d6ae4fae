"""pix2pix.2: the conditioned PatchGAN discriminator.

The receptive field is measured, not read from the layers: the gradient of one logit near the
middle with respect to the input pair (eval mode, so batch norm uses running statistics and the
patches do not mix through batch statistics) is non-zero exactly on the patch that logit sees.
A 70x70 support for n_layers 3, whatever layer objects the student used. Batch norm's settings
(eps, momentum, ...) are compared with the reference's (`grader.practices.norm_settings`).
"""

from __future__ import annotations

import torch

from grader.practices.norm_settings import settings_match
from grader.practices.pix2pix.reference import (
    GAN_PROBES,
    MODELS,
    images,
    parameter_count_is,
    reference_norm_settings,
    reference_output,
    reference_parameter_count,
    reference_weights,
)
from grader.testing import assert_close, check, fail, task

DESIGN_HINT = ("follow the PatchDiscriminator docstring: Conv2d(in_channels, ndf) with bias and no norm, then "
               "n_layers - 1 stride-2 and one stride-1 convolution without bias, each with batch norm, then a "
               "1-channel convolution with bias; all 4x4 with padding 1.")
SMALL = {"ndf": 8}


def logits(student_session, D, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = student_session.run(f"{MODELS}:forward", D, [x, y], train=False)
    check(isinstance(out, torch.Tensor), f"PatchDiscriminator(ndf=8)(x, y) returned {type(out).__name__}, not a "
          "tensor.")
    return out


@task("pix2pix.2", points=2, category="shapes", visibility="public")
def test_parameter_counts(student_session):
    for config, expected in (({"ndf": 64}, 2_768_705), ({"ndf": 32}, 696_225)):
        parameter_count_is(student_session, "PatchDiscriminator", config, expected, DESIGN_HINT)


@task("pix2pix.2", points=1, category="shapes", visibility="hidden")
def test_parameter_counts_at_other_depths(student_session):
    for config in ({"ndf": 16, "n_layers": 1}, {"ndf": 16, "n_layers": 5}, {"ndf": 8, "in_channels": 4}):
        expected = reference_parameter_count("PatchDiscriminator", config)
        parameter_count_is(student_session, "PatchDiscriminator", config, expected, DESIGN_HINT)


@task("pix2pix.2", points=1, category="shapes", visibility="public")
def test_patch_logits_shape(student_session):
    D = student_session.module.PatchDiscriminator(**SMALL)
    for batch, size, side in ((2, 256, 30), (3, 64, 6)):
        out = logits(student_session, D, images(batch, size, 1), images(batch, size, 2))
        check(tuple(out.shape) == (batch, 1, side, side), f"PatchDiscriminator(ndf=8)(x, y) for a pair of "
              f"{size}x{size} images (batch {batch}) should return logits of shape {(batch, 1, side, side)}, but "
              f"yours have shape {tuple(out.shape)}.", DESIGN_HINT + " No sigmoid and no flattening at the end.")


def support(grad: torch.Tensor) -> tuple[int, int, int, int]:
    """Rows and columns where the gradient (1, C, H, W) is non-zero: (top, bottom, left, right)."""
    hit = grad.abs().sum((0, 1)) > 0  # (H, W)
    rows, columns = torch.nonzero(hit.any(1)).flatten(), torch.nonzero(hit.any(0)).flatten()
    return rows.min().item(), rows.max().item(), columns.min().item(), columns.max().item()


def measured_field(student_session, n_layers: int, size: int) -> tuple[int, int]:
    D = student_session.module.PatchDiscriminator(ndf=8, n_layers=n_layers)
    shape = logits(student_session, D, images(1, size, 3), images(1, size, 4)).shape
    row, column = shape[2] // 2, shape[3] // 2
    probe = student_session.run(f"{GAN_PROBES}:patch_gradient", D, images(1, size, 3), images(1, size, 4), row, column)
    call = f"PatchDiscriminator(ndf=8, n_layers={n_layers}) on a {size}x{size} pair"
    check(probe["x"] is not None and probe["y"] is not None, f"{call}: logit ({row}, {column}) does not depend on "
          f"{'the input x' if probe['x'] is None else 'the image y'}.",
          "join the pair with torch.cat([x, y], dim=1) and send it through every layer.")
    top, bottom, left, right = support(probe["x"] + probe["y"])
    check(top > 0 and left > 0 and bottom < size - 1 and right < size - 1,
          f"{call}: logit ({row}, {column}) depends on input rows {top}-{bottom} and columns {left}-{right}, "
          f"reaching the border of the image; a PatchGAN's logit sees a patch, not the whole image.", DESIGN_HINT)
    return bottom - top + 1, right - left + 1


@task("pix2pix.2", points=3, category="gradients", visibility="public")
def test_each_logit_sees_a_70x70_patch(student_session):
    height, width = measured_field(student_session, 3, 160)
    check((height, width) == (70, 70), f"one logit of PatchDiscriminator(ndf=8, n_layers=3) depends on a "
          f"{height}x{width} patch of the input pair (measured from its gradient); a 70x70 PatchGAN's depends on "
          "70x70.", "four 4x4 convolutions with strides 2, 2, 2, 1, then the 4x4 stride-1 output convolution "
          "(padding 1 everywhere): 1 + 3 * (1 + 2 + 4 + 8 + 8) = 70.")


@task("pix2pix.2", points=1, category="gradients", visibility="hidden")
def test_the_patch_grows_with_n_layers(student_session):
    for n_layers, field, size in ((1, 16, 64), (2, 34, 96)):
        measured = measured_field(student_session, n_layers, size)
        check(measured == (field, field), f"one logit of PatchDiscriminator(ndf=8, n_layers={n_layers}) depends on a "
              f"{measured[0]}x{measured[1]} patch (measured); expected {field}x{field}.", DESIGN_HINT)


@task("pix2pix.2", points=2, category="values", visibility="public")
def test_the_discriminator_is_conditioned_on_the_input(student_session):
    D = student_session.module.PatchDiscriminator(**SMALL)
    x, y = images(4, 64, 5), images(4, 64, 6)
    out = logits(student_session, D, x, y)
    other_x = logits(student_session, D, images(4, 64, 7), y)
    other_y = logits(student_session, D, x, images(4, 64, 8))
    check(out.shape == other_x.shape and not torch.allclose(out, other_x, atol=1e-6),
          "PatchDiscriminator(ndf=8)(x, y): changing only the input x left the logits unchanged; a pix2pix "
          "discriminator judges the pair, so it must see the input too.",
          "join the two with torch.cat([x, y], dim=1) (6 channels) before the first convolution.")
    check(not torch.allclose(out, other_y, atol=1e-6), "PatchDiscriminator(ndf=8)(x, y): changing only the image y "
          "left the logits unchanged.", "join the two with torch.cat([x, y], dim=1) before the first convolution.")


@task("pix2pix.2", points=2, category="values", visibility="hidden")
def test_same_logits_as_the_reference_with_its_weights(student_session):
    D = student_session.module.PatchDiscriminator(**SMALL)
    pair = [(2, 64, 9), (2, 64, 10)]  # (batch, size, seed) of x and y
    x, y = (images(*spec) for spec in pair)
    states = reference_weights("PatchDiscriminator", SMALL, seed=1, inputs=pair)
    expected = reference_output("PatchDiscriminator", SMALL, seed=1, inputs=pair)
    found = student_session.run(f"{MODELS}:load_layers", D, [x, y], states, by_shape=True)
    if len(found) != len(states):
        fail("PatchDiscriminator(ndf=8): the layers with parameters differ from the design, so the reference's "
             "weights cannot be loaded.", DESIGN_HINT)
    assert_close(logits(student_session, D, x, y), expected, atol=1e-5, rtol=1e-4,
                 call="PatchDiscriminator(ndf=8)(x, y) in eval mode, with the reference's weights",
                 hint="LeakyReLU(0.2) after every convolution but the last; the pair joined as torch.cat([x, y], "
                      "dim=1), the input first; no sigmoid.")


@task("pix2pix.2", points=1, category="values", visibility="hidden")
def test_batch_norm_settings(student_session):
    pair = [(1, 64, 3), (1, 64, 4)]  # (batch, size, seed) of x and y
    settings_match(student_session, student_session.module.PatchDiscriminator(**SMALL), [images(*s) for s in pair],
                   reference_norm_settings("PatchDiscriminator", SMALL, inputs=pair), "your PatchDiscriminator(ndf=8)")
