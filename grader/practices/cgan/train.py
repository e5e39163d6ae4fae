"""`bootcamp train cgan`: train the conditional GAN in the sandbox and keep a record of the run.

The student's `Generator`, `Discriminator` and `train_step` run in a sandbox worker under the
grader's GAN loop (`grader.operations.gan_loop:train_gan` with the settings of
`grader.practices.cgan.loop`), driven like every practice's run by `grader.training.driver`;
each epoch streams back the step statistics, 1,000 samples (100 of each digit, from fixed
noise so epochs compare) and both models' weights.
Here, in the trusted process, the grader's digit classifier (`grader.judging.digit_judge`) says how
many samples show the digit they were drawn for, and the run folder is brought up to date, so a
run stopped by Ctrl-C keeps everything up to its last finished epoch:

    runs/cgan/<timestamp>/
        metrics.json             options, data used, one record per epoch
        samples_epoch_001.png    10 x 10 samples after epoch 1: row k asks for digit k, column j
        ...                      uses noise j in every row and every epoch
        samples.png              the latest grid
        curves.png               D and G losses, D(x) and D(G(z)) per step; recognised share per epoch
        checkpoint.pt            {"generator": state_dict, "discriminator": state_dict} (last epoch),
                                 for torch.load(weights_only=True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from grader.data import load_mnist
from grader.judging.digit_judge import PREPARING, JudgeError, judge, judge_accuracy
from grader.practices.cgan.loop import LOOP, NZ, SETTINGS
from grader.training import pictures
from grader.training.driver import Plan, Run
from grader.training.entry import TrainOptions, Training
from grader.training.gan import both_models, epoch_stats, gan_lines

DEFAULT_STEPS = 2500  # about 2.5 minutes on a 2-core CPU; --epochs overrides


@dataclass
class CganOptions(TrainOptions):
    """The training recipe (see `grader.practices.cgan.test_convergence` for why these values),
    with `TrainOptions`' defaults. epochs None: enough epochs for DEFAULT_STEPS steps. lr is the
    generator's; the discriminator learns at 2 * lr; both decay linearly to 0 over the run. Adam
    with beta1 = 0."""


def sample_inputs(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels 0 x 100, ..., 9 x 100 and noise (1000, NZ) where sample (k, j) uses noise row j, the
    same for every digit and every epoch."""
    noise = torch.randn(100, NZ, generator=torch.Generator().manual_seed(10_000 + seed))
    return torch.arange(10).repeat_interleave(100), noise.repeat(10, 1)


def grid_of(samples: torch.Tensor) -> torch.Tensor:
    """The first 10 samples of each digit: (100, 1, 28, 28), row k = digit k."""
    return samples.view(10, 100, 1, 28, 28)[:, :10].reshape(100, 1, 28, 28)


def judge_for_run() -> tuple[torch.nn.Module | None, str]:
    try:
        return judge(), "the grader's digit classifier (DigitJudge), trained on the embedded MNIST subset"
    except JudgeError as error:
        return None, f"no digit classifier: {error}"


def prepare(options: CganOptions) -> Plan:
    """The run of the student's `Generator`, `Discriminator` and `train_step` on MNIST: per epoch,
    1,000 samples (100 of each digit, from fixed noise) judged by the digit classifier, the share
    recognised as the digit asked for (and per digit), a grid of them, the curves."""
    data = load_mnist(options.data_root)
    classifier, judge_note = judge_for_run()
    steps_per_epoch = len(data.train_labels) // options.batch_size
    epochs = options.epochs or max(1, math.ceil(DEFAULT_STEPS / steps_per_epoch))
    sample_labels, sample_noise = sample_inputs(options.seed)

    def judge_epoch(run: Run, record: dict[str, Any]) -> dict[str, Any]:
        summary = {**epoch_stats(run, record, options.batch_size), "judge_accuracy": None, "per_digit": None}
        if classifier is not None:
            verdict = judge_accuracy(classifier, record["samples"], sample_labels)
            summary["judge_accuracy"] = round(verdict["accuracy"], 4)
            summary["per_digit"] = [round(rate, 3) for rate in verdict["per_digit"]]
        return summary

    def draw(run: Run, record: dict[str, Any], summary: dict[str, Any]) -> None:
        recognised = (f", {summary['judge_accuracy']:.0%} recognised" if summary["judge_accuracy"] is not None
                      else "")
        title = f"cgan after epoch {record['epoch'] + 1} ({record['steps']:,} steps{recognised}); row k: digit k"
        grid = grid_of(record["samples"])
        pictures.sample_grid(grid, run.folder / f"samples_epoch_{record['epoch'] + 1:03d}.png", title=title)
        pictures.sample_grid(grid, run.folder / "samples.png", title=title)
        pictures.gan_curves(run.steps, run.history, run.folder / "curves.png",
                            title=f"cgan: {data.source.split(' (')[0]}")

    return Plan(
        data=data.source, epochs=epochs, steps=steps_per_epoch * epochs, loop=LOOP, judge_note=judge_note,
        arguments=lambda student: [student.Generator, student.Discriminator, student.train_step, data.train_images,
                                   sample_noise],
        settings=dict(train_labels=data.train_labels, sample_labels=sample_labels, **SETTINGS, epochs=epochs,
                      batch_size=options.batch_size, lr=options.lr, lr_d=2 * options.lr, beta1=0.0, decay=True,
                      seed=options.seed, device=options.device, send_weights=True),
        judge=judge_epoch, draw=draw, checkpoint=both_models)


# What a run prints (`grader.training.run_command.drive`).
LINES = gan_lines(
    judged=lambda summary: (f"  recognised {summary['judge_accuracy']:.0%}"
                            if summary["judge_accuracy"] is not None else ""),
    verdict=lambda last: (f"the digit classifier recognised {last['judge_accuracy']:.0%} of the samples as the digit "
                          "asked for; " if last["judge_accuracy"] is not None else ""),
    preparing=PREPARING)

TRAINING = Training(
    options=CganOptions, prepare=prepare, lines=LINES,
    shown_defaults={"epochs": f"enough for {DEFAULT_STEPS:,} steps"},
    notes={"lr": "the generator's; the discriminator's is twice it"})
