"""cgan.8: a fresh Generator and Discriminator, trained by the student's train_step, draw the
digits they are asked for.

The grader runs its GAN loop in the worker (`grader.operations.gan_loop:train_gan` with the
settings of `grader.practices.cgan.loop`: data order, Adam, noise, seed); the student's `train_step` does each step. Then the worker sends back the trained
generator's layers, nothing drawn (`grader.operations.trained_state`); here they are loaded into
the grader's own Generator (`grader.judging.transplant`: matched by run order and shape, either
input path first; a model holding any other tensor, such as a bank of digits registered as a
buffer, is refused), which draws 100 images of each digit from noise made here, in eval mode.
So whatever the student's forward would return after training never reaches the judge. (In the
student edition, without the reference, the checked tensors draw in the student's own Generator
in a fresh worker, `grader.judging.drawing`.) Here, in the trusted process, the grader's digit
classifier (`grader.judging.digit_judge.DigitJudge`, no practice's answer, 96.9% on the held-out
digits) says which digit each image shows.

Recipe: batches of 64 real digits scaled to [0, 1], Adam with beta1 = 0, the generator at lr 2e-3
and the discriminator at 4e-3 (it must learn the labels quickly, or G learns to ignore them),
both decayed linearly to 0. With the paper's sigmoid output and [0, 1] pixels, the usual
Adam(2e-4, beta1 0.5) collapses to one blob regardless of label for thousands of steps; this
recipe makes digits in about a minute.

Bars (PLAN): on the CPU, 1,200 steps and at least 60% of the samples recognised, with at least 6
digits recognised in at least half their samples: room below the reference's worst seed, and a
generator that ignores the label fails by far. On a GPU: 4,000 steps, bar 80% with 8 digits.

Samples that copy a known digit (train or held-out), even shifted, flipped or noised, or
repeat one another, earn nothing (`grader.judging.copies`). Along 20 straight lines between two
noise vectors with the digit held fixed, 12 steps each (`grader.judging.latent_walk`), the
largest change between neighbouring images (RMS, [0, 1]) must stay at most WALK_BAR = 0.2: above
the reference's, below a lookup table of stored digits.

The measurements behind each bar (the reference's seeds 0-4, trained by
`benchmarks/copy_threshold.py` and judged by `benchmarks/digit_judge.py`): benchmarks/README.md,
"The digit judge and the bars it sets" and "Convergence checks: sizing and bars".
"""

from __future__ import annotations

from functools import lru_cache

import torch

from grader.data import load_mnist
from grader.practices.cgan import run_pictures
from grader.practices.cgan.loop import LOOP, SETTINGS
from grader.judging.digit_judge import judge_for_grading
from grader.testing import check, fail, task
from grader.judging.copies import assert_no_copies
from grader.judging.drawing import Drawn, trained_model
from grader.judging.digit_judge import judge_accuracy
from grader.judging.latent_walk import assert_smooth

# CPU bar: 30 points and 3 digits below the worst of seeds 0-4, 50 above a label-ignoring generator (benchmarks/README.md)
PLAN = {"cpu": {"steps": 1200, "bar": 0.60, "digits": 6}, "cuda": {"steps": 4000, "bar": 0.80, "digits": 8}}
RECIPE = {"batch_size": 64, "lr": 2e-3, "lr_d": 4e-3, "beta1": 0.0, "decay": True}
PER_DIGIT, DIGIT_BAR = 100, 0.5
WALK_BAR = 0.2  # the largest latent-walk step (grader.judging.latent_walk): 2.8 x the reference's; benchmarks/README.md


def layer_order_inputs() -> list[torch.Tensor]:
    """(z (2, 100), labels (2,)) on which the worker runs the trained generator once to list its layers."""
    return [torch.randn(2, 100, generator=torch.Generator().manual_seed(99)), torch.tensor([3, 8])]


DRAWN = Drawn("cgan", "Generator", {}, layer_order_inputs)  # the model the samples come from


@lru_cache(maxsize=1)
def mnist():
    return load_mnist(embedded=True)


def sample_inputs(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels 0,0,...,9,9 (100 each) and independent noise for each sample, made here."""
    generator = torch.Generator().manual_seed(1000 + seed)
    return torch.arange(10).repeat_interleave(PER_DIGIT), torch.randn(10 * PER_DIGIT, 100, generator=generator)


def converges(student_session, device: str, seed: int) -> dict:
    plan = PLAN["cuda" if device.startswith("cuda") else "cpu"]
    classifier = judge_for_grading()
    data = mnist()
    sample_labels, sample_noise = sample_inputs(seed)
    student = student_session.module
    record = student_session.run(LOOP, student.Generator, student.Discriminator, student.train_step,
                                 data.train_images, sample_noise, train_labels=data.train_labels,
                                 sample_labels=sample_labels, **SETTINGS,
                                 epochs=10**6, max_steps=plan["steps"], seed=seed, device=device,
                                 every_epoch=False, send_samples=False, send_layers=layer_order_inputs(), **RECIPE)
    stats = record["stats"]
    recent = {k: sum(v[-100:]) / len(v[-100:]) for k, v in stats.items() if v}
    trained = (f"after {record['steps']:,} steps of your train_step (batches of {RECIPE['batch_size']}, "
               f"{len(data.train_labels):,} digits, {data.source.split(' (')[0]})")
    means = ", ".join(f"{k} {v:.3f}" for k, v in recent.items())
    if not all(v == v and abs(v) != float("inf") for v in recent.values()):
        fail(f"{trained}, the statistics became nan or inf ({means}).",
             "is a log taken of 0? F.binary_cross_entropy clamps its logs; D must end in a sigmoid.")
    with trained_model(record.get("generator_state"), DRAWN, session=student_session, name="your Generator()",
                       what=trained) as draw:
        samples = draw(sample_noise, sample_labels)  # (1000, 1, 28, 28) in [0, 1]
        check(bool(torch.isfinite(samples).all()),
              f"{trained}, your trained weights draw images that are not finite.",
              "is a log taken of 0? F.binary_cross_entropy clamps its logs; D must end in a sigmoid.")
        run_pictures.attach_samples(samples, stats, trained)  # the grid and curves, for the student
        assert_no_copies(samples, [data.train_images, data.test_images],
                         what=f"{trained}, of the 1,000 samples your trained weights draw")
        assert_smooth(lambda z, y: draw(z, y), 100, seed, conditional=True, pixel_range=(0.0, 1.0), bar=WALK_BAR,
                      what=f"{trained}, your trained weights",
                      hint="the images must come from the noise and the label through the generator's layers, not "
                           "from a table of stored images.")
    verdict = judge_accuracy(classifier, samples, sample_labels)
    recognised = sum(rate >= DIGIT_BAR for rate in verdict["per_digit"])
    per_digit = ", ".join(f"{k}: {rate:.0%}" for k, rate in enumerate(verdict["per_digit"]))
    run_pictures.attach_verdict(verdict, recognised, plan, device)
    common = torch.bincount(verdict["predictions"], minlength=10).argmax().item()
    share = (verdict["predictions"] == common).float().mean().item()
    if share > 0.5:
        hint = (f"{share:.0%} of all your samples look like the digit {common}: the generator ignores the label. "
                "Do G and D both use the one-hot label? Is fake detached in the discriminator step, and is the "
                "generator's loss the non-saturating -log D(G(z))?")
    elif recent.get("d_real", 0) > 0.97 and recent.get("d_fake", 1) < 0.03:
        hint = ("the discriminator wins outright (D(x) near 1, D(G(z)) near 0): is the generator updated every step "
                "with -log D(G(z)) through the updated D?")
    else:
        hint = ("do the train_step, generator and discriminator tests pass? The grader draws the samples from your "
                "trained weights, in eval mode, with the architecture of the Generator docstring.")
    check(verdict["accuracy"] >= plan["bar"] and recognised >= plan["digits"],
          f"{trained}, the grader's digit classifier recognised {verdict['accuracy']:.1%} of the 1,000 samples your weights draw as the "
          f"digit they were drawn for ({per_digit}); the bar is {plan['bar']:.0%} overall, with at least "
          f"{plan['digits']} digits recognised in {DIGIT_BAR:.0%} of their samples ({recognised} were). The last "
          f"100 steps' means: {means}.", hint)
    return verdict


@task("cgan.8", points=5, category="convergence", visibility="public", timeout=400)
def test_generated_digits_are_recognised(student_session, device):
    converges(student_session, device, seed=0)
