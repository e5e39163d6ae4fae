"""How the grader's GAN loop trains pix2pix: its settings, sent to the worker as data.

The shared loop (`grader.operations.gan_loop.train_gan`, `LOOP`) gets paired images: training
pairs come in as uint8 tensors; held-out inputs come in, G's outputs for them go back, and their
targets never enter the worker (the trusted side scores the outputs,
`grader.practices.pix2pix.metrics`). The student's `train_step(G, D, opt_g, opt_d, inputs,
targets)` does each step on the student's `UNetGenerator` and `PatchDiscriminator` and returns
the four statistics `STATS`.
"""

from __future__ import annotations

from typing import Any

LOOP = "grader.operations.gan_loop:train_gan"
STATS = ("loss_d", "loss_g", "loss_g_gan", "loss_g_l1")


def loop_settings(generator: dict[str, int], discriminator: dict[str, int], *, lr: float,
                  beta1: float = 0.5) -> dict[str, Any]:
    """The keyword arguments of the shared GAN loop for pix2pix, besides the run's length, seed and
    device: paired images in [-1, 1], the four statistics `STATS`, Adam(lr, betas=(beta1, 0.999))
    for both models as in the paper, no decay, held-out outputs 16 at a time. Call it as
    `train_gan(UNetGenerator, PatchDiscriminator, train_step, train_inputs, held_out_inputs,
    train_targets=train_targets, **loop_settings(...), ...)`."""
    return {"stats": STATS, "generator_kwargs": generator, "discriminator_kwargs": discriminator,
            "pixel_range": (-1.0, 1.0), "lr": lr, "lr_d": lr, "beta1": beta1, "decay": False, "sample_chunk": 16,
            "report_every": 10}
