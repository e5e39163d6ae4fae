"""pix2pix.1: the U-Net generator, observed by what it does, not by its attribute names.

- parameter counts at several (ngf, depth): the 54M-parameter depth-8 U-Net is only counted;
- the layers with parameters, in run order, match the design (batch-norm placement);
- with the reference's weights loaded layer by layer, the output matches the reference's (both
  recorded values, `grader.recorded`);
- skip connections: with the innermost convolution zeroed, the deep path carries nothing, yet a
  changed input pixel still changes the output next to it (through the shallow skip path);
- dropout: each decoder block's randomness is isolated (`dropout_blocks_probe`): at depth 8 and
  at depth 6 (where "the first three" and "depth - 5" differ), exactly the first depth - 5 decoder
  blocks drop about half their values in train mode, single values (not whole channels, as
  Dropout2d would), on the block's own output (the skip features are never touched), and
  nothing is random in eval mode;
- batch norm's settings (eps, momentum, ...), which are no parameters (`grader.practices.norm_settings`).
"""

from __future__ import annotations

import torch

from grader.practices.norm_settings import settings_match
from grader.practices.pix2pix.reference import (
    GAN_PROBES,
    MODELS,
    images,
    layers_match,
    parameter_count_is,
    reference_layers,
    reference_norm_settings,
    reference_output,
    reference_parameter_count,
    reference_weights,
)
from grader.testing import assert_close, assert_raises, check, fail, task

DESIGN_HINT = ("follow the UNetGenerator docstring: the first encoder convolution and the innermost one have no "
               "batch norm, every other convolution (decoder included) is followed by one; no convolution has a "
               "bias except the output one; decoder block j reads the previous block joined with its skip "
               "connection (twice the channels).")
SMALL = {"ngf": 8, "depth": 6}  # 64x64 inputs


@task("pix2pix.1", points=2, category="shapes", visibility="public")
def test_parameter_counts(student_session):
    for config, expected in (({"ngf": 64, "depth": 8}, 54_413_955), ({"ngf": 32, "depth": 6}, 7_314_755)):
        parameter_count_is(student_session, "UNetGenerator", config, expected, DESIGN_HINT)


@task("pix2pix.1", points=1, category="shapes", visibility="hidden")
def test_parameter_counts_at_other_sizes(student_session):
    for config, expected in (({"ngf": 64, "depth": 6}, 29_244_035),
                             ({"ngf": 8, "depth": 7, "in_channels": 1, "out_channels": 2},
                              reference_parameter_count("UNetGenerator",
                                                        {"ngf": 8, "depth": 7, "in_channels": 1, "out_channels": 2}))):
        parameter_count_is(student_session, "UNetGenerator", config, expected, DESIGN_HINT)


@task("pix2pix.1", points=1, category="shapes", visibility="public")
def test_output_shape_range_and_size_check(student_session):
    G = student_session.module.UNetGenerator(**SMALL)
    for batch, size in ((2, 64), (1, 128)):
        x = images(batch, size, seed=size)
        out = student_session.run(f"{MODELS}:forward", G, [x], train=False)
        call = f"UNetGenerator(ngf=8, depth=6)(x ({batch}, 3, {size}, {size})) in eval mode"
        check(isinstance(out, torch.Tensor) and tuple(out.shape) == (batch, 3, size, size),
              f"{call} should return shape {(batch, 3, size, size)}, but yours returned "
              f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}.",
              "the output layer is a ConvTranspose2d(2 * ngf, out_channels, 4, 2, 1) back to the input's size.")
        check(bool(torch.isfinite(out).all()) and out.abs().max().item() <= 1,
              f"{call} returned values from {out.min().item():.4g} to {out.max().item():.4g}; they should lie in "
              "[-1, 1].", "end with torch.tanh.")
    assert_raises(lambda: student_session.run(f"{MODELS}:forward", G, [images(1, 48, seed=1)], train=False),
                  ValueError, call="UNetGenerator(ngf=8, depth=6)(x (1, 3, 48, 48))",
                  hint="48 is not divisible by 2^6 = 64: check x.shape[-2:] first and raise ValueError with a "
                       "message saying which sizes work.")


@task("pix2pix.1", points=2, category="shapes", visibility="public")
def test_batch_norm_placement_and_layers(student_session):
    G = student_session.module.UNetGenerator(**SMALL)
    layers_match(student_session, G, images(1, 64, seed=2), reference_layers(SMALL, size=64, seed=2),
                 "UNetGenerator(ngf=8, depth=6)", DESIGN_HINT)


@task("pix2pix.1", points=2, category="values", visibility="hidden")
def test_same_output_as_the_reference_with_its_weights(student_session):
    G = student_session.module.UNetGenerator(**SMALL)
    states = reference_weights("UNetGenerator", SMALL, seed=3, inputs=[(1, 64, 4)])
    found = student_session.run(f"{MODELS}:load_layers", G, [images(1, 64, seed=4)], states)
    check(len(found) == len(states), "UNetGenerator(ngf=8, depth=6): the layers with "
          "parameters differ from the design, so the reference's weights cannot be loaded.", DESIGN_HINT)
    expected = reference_output("UNetGenerator", SMALL, seed=3, inputs=[(3, 64, 5)])
    assert_close(student_session.run(f"{MODELS}:forward", G, [images(3, 64, seed=5)], train=False), expected,
                 atol=1e-5, rtol=1e-4,
                 call="UNetGenerator(ngf=8, depth=6)(x (3, 3, 64, 64)) in eval mode, with the reference's weights",
                 hint="activations come before each convolution (LeakyReLU 0.2 in the encoder, ReLU in the decoder); "
                      "each decoder block's output is joined with torch.cat([encoder output, decoder output], dim=1).")


def skip_response(student_session, *, seed: int, row: int, column: int) -> torch.Tensor:
    G = student_session.module.UNetGenerator(**SMALL)
    probe = student_session.run(f"{GAN_PROBES}:skip_probe", G, images(1, 64, seed=seed), row, column, silence=5)
    check(probe["convolutions"] == 12, f"UNetGenerator(ngf=8, depth=6) ran {probe['convolutions']} convolutions; "
          "the design has 12 (6 down, 5 up, and the output one).", DESIGN_HINT)
    return (probe["changed"] - probe["output"]).abs()[0].amax(0)  # (64, 64)


@task("pix2pix.1", points=2, category="values", visibility="public")
def test_skip_connections_carry_the_encoders_features(student_session):
    for seed, (row, column) in ((6, (20, 37)), (7, (45, 9))):
        change = skip_response(student_session, seed=seed, row=row, column=column)
        near = change[max(0, row - 3):row + 4, max(0, column - 3):column + 4].max().item()
        check(near > 1e-4, f"UNetGenerator(ngf=8, depth=6) with its innermost convolution's weights set to zero: "
              f"changing input pixel ({row}, {column}) changed the output next to it by at most {near:.2g}. With "
              "the deepest path silenced, the skip connections must still carry the encoder's features to the "
              "decoder.", "join each decoder block's output with the encoder output of the same size, "
              "torch.cat([encoder output, decoder output], dim=1), and feed that to the next decoder block.")


def dropout_blocks_are(student_session, depth: int, size: int) -> None:
    """Dropout 0.5, element-wise, on the decoder's own features (before the skip concatenation), in
    exactly the first depth - 5 decoder blocks, and nothing random in eval mode."""
    G = student_session.module.UNetGenerator(ngf=8, depth=depth)
    probe = student_session.run(f"{GAN_PROBES}:dropout_blocks_probe", G, images(8, size, seed=8))
    built, count = f"UNetGenerator(ngf=8, depth={depth})", 2 * depth
    wanted = list(range(max(0, depth - 5)))
    check(probe["convolutions"] == count, f"{built} ran {probe['convolutions']} convolutions; the design has {count} "
          f"({depth} down, {depth - 1} up, and the output one).", DESIGN_HINT)
    check(probe["eval_same"], f"two eval-mode passes of {built} gave different outputs: something random is still "
          "active in eval mode.",
          "use nn.Dropout modules (they follow model.eval()), not F.dropout(..., training=True).")
    # convolution k's input is random only through what runs after convolution k - 1
    random = [k for k in range(count) if probe["differ"][k]]
    encoder = [k for k in random if k <= depth]  # up to the first decoder convolution (depth): encoder stretches
    decoder_blocks = [k - depth - 1 for k in random if k > depth]  # input of conv depth + 1 + j: after block j
    blocks = ", ".join(map(str, wanted)) or "none"
    hint = (f"dropout 0.5 (nn.Dropout(0.5)) after the batch norm of the first depth - 5 decoder blocks (at depth "
            f"{depth}: blocks {blocks}; 0 is the innermost), on the block's own output before it is joined with the "
            "skip connection, and nowhere else: not in the encoder, not in the later decoder blocks.")
    if encoder:
        fail(f"{built} in train mode draws random numbers in the encoder (before convolution {encoder[0] + 1} of "
             f"{count}, in run order); the encoder has no dropout.", hint)
    check(decoder_blocks == wanted, f"{built} in train mode has randomness (dropout) in decoder blocks "
          f"{decoder_blocks} (0 is the innermost); expected exactly blocks {wanted} (depth - 5 = {depth - 5}).", hint)
    skipped = [k - depth - 1 for k in random if k > depth and probe["skip_differ"][k]]
    check(not skipped, f"{built} in train mode changes the encoder's skip features at random after decoder blocks "
          f"{skipped}: dropout runs after the concatenation torch.cat([encoder output, decoder output], dim=1).",
          hint)
    for block in decoder_blocks:
        rate = probe["rates"][block + depth + 1]
        check(0.4 <= rate <= 0.6, f"{built}: decoder block {block}'s dropout zeroed {rate:.0%} of its non-zero "
              "outputs in train mode; expected about 50% (dropout 0.5).", hint)
    maps = sum(probe["maps"][block + depth + 1] for block in decoder_blocks)
    whole = sum(probe["whole_maps"][block + depth + 1] for block in decoder_blocks)
    check(maps == 0 or whole <= maps / 2, f"{built} in train mode: of the {maps} feature maps (one image, one "
          f"channel, 4 or more non-zero values) where dropout zeroed something, it zeroed the whole map in {whole}: "
          "channel-wise dropout (nn.Dropout2d). Element-wise dropout 0.5 zeroes all of 4 values with probability "
          "1/16.", "use nn.Dropout(0.5), which drops single values, not nn.Dropout2d, which drops whole channels.")


@task("pix2pix.1", points=2, category="values", visibility="public")
def test_dropout_in_exactly_the_first_three_decoder_blocks(student_session):
    dropout_blocks_are(student_session, depth=8, size=256)


@task("pix2pix.1", points=1, category="values", visibility="hidden")
def test_dropout_in_the_first_depth_minus_5_decoder_blocks_at_depth_6(student_session):
    dropout_blocks_are(student_session, depth=6, size=128)  # block 0 then has 4 x 4 maps: whole ones are rare


@task("pix2pix.1", points=1, category="values", visibility="hidden")
def test_batch_norm_settings(student_session):
    settings_match(student_session, student_session.module.UNetGenerator(**SMALL), [images(1, 64, seed=2)],
                   reference_norm_settings("UNetGenerator", SMALL, inputs=[(1, 64, 2)]),
                   "your UNetGenerator(ngf=8, depth=6)")


@task("pix2pix.1", points=1, category="gradients", visibility="hidden", style=True)
def test_every_parameter_gets_a_gradient(student_session):
    G = student_session.module.UNetGenerator(**SMALL)
    probe = student_session.run(f"{MODELS}:gradient_probe", G, [images(2, 64, seed=9)])
    if probe["missing"] or probe["zero"]:
        fail(f"after a train-mode pass of UNetGenerator(ngf=8, depth=6), these parameters got no gradient: "
             f"{(probe['missing'] + probe['zero'])[:6]}.", "every layer you create must be used in forward.")
