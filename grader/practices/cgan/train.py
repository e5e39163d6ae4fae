"""`bootcamp train cgan`: train the conditional GAN in the sandbox and keep a record of the run.

The student's `Generator`, `Discriminator` and `train_step` run in a sandbox worker under the
grader's GAN loop (`grader.operations.gan_loop:train_gan` with the settings of
`grader.practices.cgan.loop`); each epoch streams back the step statistics,
1,000 samples (100 of each digit, from fixed noise so epochs compare) and both models' weights.
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
from pathlib import Path
from typing import Any, Callable

import torch

from grader import paths
from grader.data import load_mnist
from grader.training import pictures
from grader.training.runs import new_run_folder
from grader.practices.cgan.loop import LOOP, NZ, SETTINGS
from grader.training.entry import Training
from grader.training.gan_run import GAN_LINES, GanRun, epoch_summary, train_in_sandbox
from grader.judging.digit_judge import JudgeError, judge, judge_accuracy

DEFAULT_STEPS = 2500  # about 2.5 minutes on a 2-core CPU; --epochs overrides


@dataclass
class GanOptions:
    """The training recipe (see `grader.practices.cgan.test_convergence` for why these values).

    epochs None: enough epochs for DEFAULT_STEPS steps. lr is the generator's; the discriminator
    learns at 2 * lr; both decay linearly to 0 over the run. Adam with beta1 = 0.
    """

    epochs: int | None = None
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    device: str = "cpu"
    threads: int = 0
    data_root: str | None = None


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


def train_cgan(directory: Path, options: GanOptions, *, out: Path = paths.RUNS_DIR,
               on_start: Callable[[GanRun, int], None] = lambda run, steps: None,
               on_step: Callable[[dict], None] = lambda step: None,
               on_epoch: Callable[[dict], None] = lambda epoch: None) -> GanRun:
    """Train the `Generator` and `Discriminator` of `directory` with its `train_step`.

    `on_start(run, total_steps)` is called once, `on_step` with {"step", "epoch", loss_d, loss_g,
    d_real, d_fake} every few steps, `on_epoch` with each epoch's summary. Ctrl-C
    (KeyboardInterrupt) ends the run cleanly: the returned run has `interrupted` set and keeps
    every finished epoch.
    """
    data = load_mnist(options.data_root)
    classifier, judge_note = judge_for_run()
    steps_per_epoch = len(data.train_labels) // options.batch_size
    epochs = options.epochs or max(1, math.ceil(DEFAULT_STEPS / steps_per_epoch))
    run = GanRun(new_run_folder(out, "cgan"), options, data.source, str(directory), epochs, judge_note, practice="cgan")
    on_start(run, steps_per_epoch * epochs)
    run.save_metrics()
    sample_labels, sample_noise = sample_inputs(options.seed)

    def epoch_done(record: dict[str, Any]) -> None:
        if "samples" not in record:
            on_step(record)
            return
        summary = {**epoch_summary(run, record, options.batch_size), "judge_accuracy": None, "per_digit": None}
        if classifier is not None:
            verdict = judge_accuracy(classifier, record["samples"], sample_labels)
            summary["judge_accuracy"] = round(verdict["accuracy"], 4)
            summary["per_digit"] = [round(rate, 3) for rate in verdict["per_digit"]]
        run.history.append(summary)
        recognised = (f", {summary['judge_accuracy']:.0%} recognised" if summary["judge_accuracy"] is not None
                      else "")
        title = f"cgan after epoch {record['epoch'] + 1} ({record['steps']:,} steps{recognised}); row k: digit k"
        grid = grid_of(record["samples"])
        pictures.sample_grid(grid, run.folder / f"samples_epoch_{record['epoch'] + 1:03d}.png", title=title)
        pictures.sample_grid(grid, run.folder / "samples.png", title=title)
        pictures.gan_curves(run.steps, run.history, run.folder / "curves.png",
                            title=f"cgan: {data.source.split(' (')[0]}")
        run.save_metrics()  # last: an epoch in metrics.json has its checkpoint and pictures
        on_epoch(summary)

    return train_in_sandbox(
        run, directory, options.threads, LOOP,
        lambda student: [student.Generator, student.Discriminator, student.train_step, data.train_images,
                         sample_noise],
        dict(train_labels=data.train_labels, sample_labels=sample_labels, **SETTINGS,
             epochs=epochs, batch_size=options.batch_size, lr=options.lr, lr_d=2 * options.lr, beta1=0.0,
             decay=True, seed=options.seed, device=options.device, send_weights=True), epoch_done)


TRAINING = Training(
    run=train_cgan, options=GanOptions, lines=GAN_LINES,
    shown_defaults={"epochs": f"enough for {DEFAULT_STEPS:,} steps"},
    notes={"lr": "the generator's; the discriminator's is twice it"})
