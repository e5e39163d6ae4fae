"""`bootcamp train dcgan`: train the DCGAN in the sandbox and keep a record of the run.

The student's `Generator`, `Discriminator` and `train_step` run in a sandbox worker under the
grader's GAN loop (`grader.operations.gan_loop:train_gan`, with the grader's DCGAN initialisation),
driven like every practice's run by `grader.training.driver`; the training images go to the
worker as a tensor: MNIST digits padded to 32 x 32 (nc 1), or CIFAR-10 (nc 3), scaled there to
[-1, 1]. Each epoch streams back the step statistics, the
generator's images for fixed noise (so epochs compare) and both models' weights. Here, in the
trusted process, the grader's digit classifier (`grader.judging.digit_judge`) scores 1,000 of the
samples (classifier score and Fréchet distance to held-out digits, see
`grader.judging.sample_quality`; MNIST only), and the run folder is brought up to date, so a
run stopped by Ctrl-C keeps everything up to its last finished epoch:

    runs/dcgan/<timestamp>/
        metrics.json             options, data used, one record per epoch
        samples_epoch_001.png    8 x 8 samples after epoch 1, the same 64 noise vectors every epoch
        ...
        samples.png              the latest grid
        interpolation.png        8 rows, each G along the straight line between two fixed noise
                                 vectors, in 10 steps (latest epoch)
        curves.png               D and G losses, D(x) and D(G(z)) per step; classifier score and
                                 Fréchet distance per epoch
        checkpoint.pt            {"generator": state_dict, "discriminator": state_dict} (last epoch),
                                 for torch.load(weights_only=True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from grader.data import load_cifar10, load_mnist
from grader.judging.digit_judge import PREPARING, JudgeError, judge
from grader.judging.sample_quality import pad_digits, reference_features, sample_quality
from grader.sandbox import SandboxError
from grader.training import pictures
from grader.training.driver import Plan, Run
from grader.training.entry import Choice, TrainOptions, Training
from grader.training.gan import both_models, epoch_stats, gan_lines

LOOP = "grader.operations.gan_loop:train_gan"
DATASETS = ("mnist", "cifar10")
NZ, SIZE = 100, 32
DEFAULT_STEPS = 2000  # --epochs overrides
JUDGED, GRID, PAIRS, STEPS = 1000, 64, 8, 10  # samples judged; grid; interpolation rows and steps


@dataclass
class DcganOptions(TrainOptions):
    """The training recipe of the convergence check (`grader.practices.dcgan.judging`), run longer: the
    paper's Adam(beta1 0.5), here at `TrainOptions`' lr for both models (small models learn faster at
    a larger step), decayed linearly to 0 over the run, with the grader's DCGAN initialisation.
    `width` is ngf = ndf. epochs None: enough epochs for DEFAULT_STEPS steps."""

    dataset: str = DATASETS[0]
    width: int = 16


def training_set(options: DcganOptions) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """(uint8 training images (N, nc, 32, 32), held-out digits (M, 1, 28, 28) for the judge or None,
    a sentence naming the data). CIFAR-10 missing: DataError naming the file to fetch."""
    if options.dataset == "cifar10":
        data = load_cifar10(options.data_root)
        return data.train_images, None, data.source
    data = load_mnist(options.data_root)
    return pad_digits(data.train_images), data.test_images[:JUDGED], f"{data.source}, padded to 32 x 32"


def sample_noise(seed: int) -> torch.Tensor:
    """(JUDGED + PAIRS * STEPS, NZ): JUDGED independent vectors (the first GRID make the grid), then
    PAIRS rows of STEPS points on the straight line between two fixed vectors."""
    generator = torch.Generator().manual_seed(20_000 + seed)
    judged = torch.randn(JUDGED, NZ, generator=generator)
    ends = torch.randn(2, PAIRS, 1, NZ, generator=generator)
    t = torch.linspace(0, 1, STEPS).view(1, STEPS, 1)
    line = (1 - t) * ends[0] + t * ends[1]  # (PAIRS, STEPS, NZ)
    return torch.cat([judged, line.reshape(PAIRS * STEPS, NZ)])


def judge_for_run(held_out: torch.Tensor | None) -> tuple[torch.nn.Module | None, torch.Tensor | None, str]:
    if held_out is None:
        return None, None, "none: the digit classifier judges MNIST samples only"
    try:
        classifier = judge()
    except JudgeError as error:
        return None, None, f"no digit classifier: {error}"
    return (classifier, reference_features(classifier, held_out),
            "the grader's digit classifier (DigitJudge): classifier score and Fréchet distance to held-out digits")


def prepare(options: DcganOptions) -> Plan:
    """The run of the student's `Generator`, `Discriminator` and `train_step` on padded MNIST or
    CIFAR-10: per epoch, JUDGED samples scored by the digit classifier (MNIST only), a grid, an
    interpolation, the curves."""
    if options.dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, not {options.dataset!r}")
    images, held_out, source = training_set(options)
    classifier, held_out_features, judge_note = judge_for_run(held_out)
    channels = images.shape[1]
    steps_per_epoch = len(images) // options.batch_size
    epochs = options.epochs or max(1, math.ceil(DEFAULT_STEPS / steps_per_epoch))
    noise = sample_noise(options.seed)

    def judge_epoch(run: Run, record: dict[str, Any]) -> dict[str, Any]:
        samples = record["samples"]  # (JUDGED + PAIRS * STEPS, nc, 32, 32) in [-1, 1]
        wanted = (len(noise), channels, SIZE, SIZE)
        if not isinstance(samples, torch.Tensor) or tuple(samples.shape) != wanted:
            found = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
            raise SandboxError(f"Generator(ngf={options.width}, nc={channels}, image_size=32)(z)",
                               f"returned images of shape {found} for {len(noise)} noise vectors; expected {wanted}")
        summary = {**epoch_stats(run, record, options.batch_size), "score": None, "distance": None}
        if classifier is not None:
            quality = sample_quality(classifier, samples[:JUDGED], held_out_features)
            summary["score"], summary["distance"] = round(quality["score"], 3), round(quality["distance"], 2)
        return summary

    def draw(run: Run, record: dict[str, Any], summary: dict[str, Any]) -> None:
        samples = record["samples"]
        judged = (f", score {summary['score']:.2f}, distance {summary['distance']:.0f}"
                  if summary["score"] is not None else "")
        title = f"dcgan after epoch {record['epoch'] + 1} ({record['steps']:,} steps{judged})"
        grid = (samples[:GRID] + 1) / 2  # [0, 1]
        pictures.sample_grid(grid, run.folder / f"samples_epoch_{record['epoch'] + 1:03d}.png", rows=8, title=title,
                             ylabel=None)
        pictures.sample_grid(grid, run.folder / "samples.png", rows=8, title=title, ylabel=None)
        pictures.sample_grid((samples[JUDGED:] + 1) / 2, run.folder / "interpolation.png", rows=PAIRS, ylabel=None,
                             title=f"{title}: G along straight lines between two noise vectors")
        pictures.gan_curves(run.steps, run.history, run.folder / "curves.png", title=f"dcgan: {source.split(' (')[0]}",
                            per_epoch={"score": "classifier score (at most 10)",
                                       "distance": "Fréchet distance to held-out digits"})

    model = {"nz": NZ, "ngf": options.width, "nc": channels, "image_size": SIZE}
    return Plan(
        data=source, epochs=epochs, steps=steps_per_epoch * epochs, loop=LOOP, judge_note=judge_note,
        arguments=lambda student: [student.Generator, student.Discriminator, student.train_step, images, noise],
        settings=dict(generator_kwargs=model,
                      discriminator_kwargs={"ndf": options.width, "nc": channels, "image_size": SIZE},
                      init_std=0.02, nz=NZ, pixel_range=(-1.0, 1.0), epochs=epochs, batch_size=options.batch_size,
                      lr=options.lr, lr_d=options.lr, beta1=0.5, decay=True, seed=options.seed, device=options.device,
                      send_weights=True),
        judge=judge_epoch, draw=draw, checkpoint=both_models)


# What a run prints (`grader.training.run_command.drive`).
LINES = gan_lines(
    judged=lambda summary: (f"  score {summary['score']:.2f}  distance {summary['distance']:.1f}"
                            if summary["score"] is not None else ""),
    verdict=lambda last: (f"classifier score {last['score']:.2f} (at most 10), Fréchet distance to held-out digits "
                          f"{last['distance']:.1f}; " if last["score"] is not None else ""),
    preparing=PREPARING)

TRAINING = Training(
    options=DcganOptions, prepare=prepare, lines=LINES,
    shown_defaults={"epochs": f"enough for {DEFAULT_STEPS:,} steps"}, notes={"lr": "for both models"},
    choices={"dataset": Choice(DATASETS, "mnist (digits padded to 32 x 32, the default) or cifar10 (32 x 32 colour)")})
