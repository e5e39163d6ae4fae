"""pix2pix.8: a fresh U-Net and PatchGAN, trained by the student's train_step, translate held-out
photos into their edge maps better than three baselines that learn nothing.

The grader runs its GAN loop in the worker (`grader.operations.gan_loop:train_gan` with the paired
settings of `grader.practices.pix2pix.loop.loop_settings`: pair order, Adam, seed, model sizes); the
student's `train_step` does each step. The training pairs go in as
tensors; no held-out pair does. The trained U-Net's weights come back, and the grader's own U-Net
holding them translates the held-out inputs (below). Here, in the trusted process, the outputs are
compared with the held-out targets: L1 (mean absolute error in [-1, 1]) and PSNR (dB, in [0, 1]), next to the same
scores of the baselines (`grader.practices.pix2pix.metrics`): the identity map, the mean training
target, and the blurred input.

CPU plan: the embedded set (64x64; 360 train pairs from six photos, 80 held-out from a seventh),
photo -> Sobel edge map (AtoB, see `grader.practices.pix2pix.data` for why not the other way),
UNetGenerator(ngf=16, depth=6) and PatchDiscriminator(ndf=16), batches of 4, Adam(5e-4,
beta1 0.5) for both, 300 steps (3.3 epochs). The bars (CPU), L1 at most 0.235 and PSNR at least
15.5 dB, leave room beyond the reference's worst seed for another seed's noise (a correct model
built in another order draws other initial weights) and are missed by every baseline, the mean
image included. The reference's seeds, the baselines' scores and the time: benchmarks/README.md,
"Convergence checks: sizing and bars".

Drawn by the weights: the worker sends back the trained U-Net's layers, before the first step
and after the last (`grader.operations.trained_state`), never an output; here they are loaded into
the grader's own UNetGenerator of the same arguments (`grader.judging.transplant`: matched by
run order and shape; a model holding any other tensor is refused), which translates the held-out
inputs in eval mode. So a forward that computes the target by a fixed filter (the embedded
target is the Sobel edge map, a documented function of the input), switched on by anything at
all, never reaches the scores. The untrained weights, drawn the same way, must miss the bars
(weights written by hand to compute the target would not).

Copies: before scoring, the held-out outputs are compared with the training targets
(`grader.judging.copies.assert_no_copies`: the distance d over shifts of up to 2 pixels and
flips, after smoothing); an output closer than COPY_THRESHOLD = 0.15 to a training target is a
copy, and more than 1% copies (here: one of the 80) fails the task. 0.15 leaves a factor of 2
below the reference's closest output and lies above shifted and noised training targets
(`benchmarks/copy_threshold.py`; the numbers: benchmarks/README.md).

GPU plan (written, not run here): facades at 256x256 when present under the data root (label map
-> photo, the paper's direction), the paper's models (depth 8, ngf 64, ndf 64), batches of 1,
Adam(2e-4, beta1 0.5), 4,000 steps (10 epochs); the bar is to beat the best baseline by 10% in L1
and by 0.5 dB in PSNR. A GPU without facades runs the CPU plan on the GPU, for the same points.
"""

from __future__ import annotations

from functools import lru_cache

import pytest
import torch

from grader.practices.pix2pix import run_pictures
from grader.testing import check, fail, task
from grader.judging.copies import assert_no_copies
from grader.practices.pix2pix import data as pix2pix_data
from grader.judging.drawing import Drawn, can_draw, trained_model
from grader.practices.pix2pix.loop import LOOP, loop_settings
from grader.practices.pix2pix.metrics import baseline_scores, scores

COPY_THRESHOLD = 0.15  # the distance d of grader.judging.copies to the nearest training target; benchmarks/README.md
CPU = {"steps": 300, "batch_size": 4, "lr": 5e-4, "beta1": 0.5, "l1": 0.235, "psnr": 15.5}
GPU = {"steps": 4000, "batch_size": 1, "lr": 2e-4, "beta1": 0.5, "l1_share": 0.9, "psnr_gain": 0.5}


@lru_cache(maxsize=1)
def embedded_pairs() -> pix2pix_data.Pairs:
    return pix2pix_data.embedded("AtoB")


def plan_for(device: str) -> tuple[dict, pix2pix_data.Pairs, dict, dict]:
    """(recipe with bars, pairs, generator kwargs, discriminator kwargs) for this device: the GPU plan
    on facades when they are under the data root (and this grader can draw its U-Net), else the
    CPU plan (trained on the device), so the task is worth the same points everywhere."""
    wide_generator, wide_discriminator = pix2pix_data.model_sizes(256, wide=True)
    if not (device.startswith("cuda") and pix2pix_data.facades_present() and can_draw(drawn(wide_generator, 256))):
        generator, discriminator = pix2pix_data.model_sizes(64, wide=False)
        return CPU, embedded_pairs(), generator, discriminator
    pairs = pix2pix_data.facades(direction="BtoA")
    return GPU, pairs, wide_generator, wide_discriminator


def layer_order_inputs(size: int = 64) -> list[torch.Tensor]:
    """(2, 3, size, size) inputs in [-1, 1] on which the worker runs the generator once to list its layers."""
    return [torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(99)) * 2 - 1]


def drawn(generator_kwargs: dict, size: int) -> Drawn:
    return Drawn("pix2pix", "UNetGenerator", dict(generator_kwargs), lambda: layer_order_inputs(size))


DRAWN = [drawn(pix2pix_data.model_sizes(64, wide=False)[0], 64)]  # the CPU plan's U-Net; facades' runs on a GPU


def translations(trained, generator_kwargs: dict, pairs: pix2pix_data.Pairs, what: str, session) -> torch.Tensor:
    """(N, 3, H, W) in [-1, 1]: the eval-mode UNetGenerator(**generator_kwargs) holding the student's
    `trained` weights translates the held-out inputs (`grader.judging.drawing`)."""
    built = ", ".join(f"{k}={v}" for k, v in generator_kwargs.items())
    size = pairs.held_out_inputs.shape[-1]
    inputs = pairs.held_out_inputs.float() / 127.5 - 1  # uint8 -> [-1, 1], as the loop scales them
    with trained_model(trained, drawn(generator_kwargs, size), session=session,
                       name=f"your UNetGenerator({built})", what=what) as draw:
        return draw(inputs, chunk=16)


def bars(recipe: dict, baselines: dict[str, dict[str, float]]) -> tuple[float, float]:
    if "l1" in recipe:
        return recipe["l1"], recipe["psnr"]
    return (recipe["l1_share"] * min(b["l1"] for b in baselines.values()),
            max(b["psnr"] for b in baselines.values()) + recipe["psnr_gain"])


def converges(student_session, device: str, seed: int) -> dict:
    recipe, pairs, generator, discriminator = plan_for(device)
    baselines = baseline_scores(pairs.train_targets, pairs.held_out_inputs, pairs.held_out_targets)
    l1_bar, psnr_bar = bars(recipe, baselines)
    student = student_session.module
    # the held-out inputs stay here: the grader's own U-Net translates them (no input goes to the worker)
    record = student_session.run(LOOP, student.UNetGenerator, student.PatchDiscriminator, student.train_step,
                                 pairs.train_inputs, pairs.held_out_inputs[:0], train_targets=pairs.train_targets,
                                 **loop_settings(generator, discriminator, lr=recipe["lr"], beta1=recipe["beta1"]),
                                 epochs=10**6, max_steps=recipe["steps"], batch_size=recipe["batch_size"],
                                 seed=seed, device=device, every_epoch=False, send_initial=True, send_samples=False,
                                 send_layers=layer_order_inputs(pairs.held_out_inputs.shape[-1]))
    stats = record["stats"]
    recent = {k: sum(v[-50:]) / len(v[-50:]) for k, v in stats.items() if v}
    means = ", ".join(f"{k} {v:.3f}" for k, v in recent.items())
    trained = (f"after {record['steps']:,} steps of your train_step (batches of {recipe['batch_size']}, "
               f"{len(pairs.train_inputs):,} pairs, {pairs.source.split(' (')[0]}, {pairs.direction})")
    if not all(v == v and abs(v) != float("inf") for v in recent.values()):
        fail(f"{trained}, the losses became nan or inf ({means}).",
             "use F.binary_cross_entropy_with_logits on D's logits (it is stable); D has no sigmoid.")
    outputs = translations(record.get("generator_state"), generator, pairs, trained, student_session)
    check(bool(torch.isfinite(outputs).all()),
          f"{trained}, your trained weights translate the held-out inputs into images "
          "that are not finite.", "use F.binary_cross_entropy_with_logits on D's logits (it is stable); D has no sigmoid.")
    run_pictures.attach_outputs(outputs, pairs, stats, trained)  # the held-out rows and curves, for the student
    assert_no_copies((outputs + 1) / 2, [pairs.train_targets], threshold=COPY_THRESHOLD,
                     what=f"{trained}, the {len(outputs)} held-out outputs your trained weights draw",
                     hint="the U-Net must translate its input, not look up or store the training targets.")
    got = scores(outputs, pairs.held_out_targets)
    run_pictures.attach_verdict(got, l1_bar, psnr_bar, device)
    initial = translations(record.get("initial_generator_state"), generator, pairs,
                           "before the first step of your train_step", student_session)
    before = scores(initial, pairs.held_out_targets)
    check(before["l1"] > l1_bar or before["psnr"] < psnr_bar,
          f"your UNetGenerator's weights, before the first training step, already score L1 {before['l1']:.3f} and "
          f"PSNR {before['psnr']:.1f} dB: this check measures what your train_step teaches a fresh U-Net, so an "
          "untrained one must not meet the bar.", "build the U-Net of the docstring with PyTorch's default "
                                                  "initialisation; the translation is learned, not built in.")
    table = "; ".join(f"{name} {b['l1']:.3f} / {b['psnr']:.1f} dB" for name, b in baselines.items())
    hint = ("the L1 term drives the translation: is generator_loss's total gan + 100 * l1, with l1 the mean "
            "absolute error, and does train_step update G with it every step? Do the U-Net's skip connections "
            "carry the encoder's features (pix2pix.1)?")
    if recent.get("loss_g_l1", 0) < 0.5 * got["l1"]:
        hint = ("the training L1 is low but the held-out outputs, drawn from your trained weights by the grader's "
                "U-Net in eval mode, are far off: does your U-Net build exactly the docstring's layers and run them "
                "in that order (batch norm and dropout as nn modules that follow G.eval())?")
    check(got["l1"] <= l1_bar and got["psnr"] >= psnr_bar,
          f"{trained}, the held-out outputs your trained weights draw score L1 {got['l1']:.3f} and PSNR {got['psnr']:.1f} dB; the "
          f"bar is L1 at most {l1_bar:.3f} and PSNR at least {psnr_bar:.1f} dB. Baselines (L1 / PSNR): {table}. "
          f"The last 50 steps' means: {means}.", hint)
    return {**got, "baselines": baselines}


@task("pix2pix.8", points=5, category="convergence", visibility="public", timeout=400)
def test_held_out_translations_beat_the_baselines(student_session, device):
    converges(student_session, device, seed=0)
