"""`bootcamp train pix2pix`: train the U-Net and PatchGAN in the sandbox and keep a record of the run.

The student's `UNetGenerator`, `PatchDiscriminator` and `train_step` run in a sandbox worker under
the grader's GAN loop (`grader.operations.gan_loop:train_gan` with paired images, see
`grader.practices.pix2pix.loop.loop_settings`), driven like every practice's run by
`grader.training.driver`; each epoch streams back the step losses, G's eval-mode outputs for
every held-out input and both models' weights. Here, in the trusted process, the outputs are
scored against the held-out targets (which never enter the worker) and the run folder is brought
up to date, so a run stopped by Ctrl-C keeps everything up to its last finished epoch:

    runs/pix2pix/<timestamp>/
        metrics.json            options, data, baselines' scores, one record per epoch
        grid_epoch_001.png      8 fixed held-out pairs after epoch 1: input / output / target rows
        ...
        grid.png                the latest grid
        curves.png              D loss, G's GAN and L1 terms per step; held-out L1 and PSNR per epoch
        checkpoint.pt           {"generator": state_dict, "discriminator": state_dict} (last epoch),
                                for torch.load(weights_only=True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from grader.practices.pix2pix.loop import LOOP, loop_settings
from grader.practices.pix2pix import data as pix2pix_data
from grader.practices.pix2pix.metrics import baseline_scores, scores, to_unit
from grader.practices.pix2pix.pictures import translation_curves, translation_grid
from grader.training.driver import Plan, Run
from grader.training.entry import Choice, RunLines, TrainOptions, Training
from grader.training.gan import both_models, epoch_stats

GRID_PAIRS = 8
DEFAULT_EPOCHS = {"paired": 10, "facades": 200}  # paired: 900 steps of 4 pairs, a few minutes on a CPU
DEFAULT_BATCH = {"paired": 4, "facades": 1}  # facades: the paper's batches of one
JUDGE_NOTE = "the held-out targets (never in the worker): L1 and PSNR of G's outputs"


@dataclass
class Pix2pixOptions(TrainOptions):
    """The training recipe: Adam(lr, beta1 0.5) for both models (see the convergence test's sizing).

    dataset None: facades when present under the data root, else the embedded paired set.
    direction None: AtoB (photo -> edge map) for the paired set, BtoA (label map -> photo) for
    facades. epochs and batch_size None: the dataset's defaults above.
    """

    batch_size: int | None = None
    lr: float = 5e-4
    dataset: str | None = None
    direction: str | None = None
    max_steps: int | None = None  # stop early (tests)


def choose_data(options: Pix2pixOptions) -> tuple[str, pix2pix_data.Pairs]:
    """(dataset name, pairs) for the options; a DataError naming the files when facades are asked for
    but missing."""
    dataset = options.dataset or ("facades" if pix2pix_data.facades_present(options.data_root) else "paired")
    if dataset == "facades":
        return dataset, pix2pix_data.facades(options.data_root, options.direction or "BtoA")
    return dataset, pix2pix_data.embedded(options.direction or "AtoB")


def grid_indices(count: int) -> torch.Tensor:
    """GRID_PAIRS held-out pairs spread evenly over the held-out set, the same every epoch."""
    return torch.linspace(0, count - 1, min(GRID_PAIRS, count)).round().long()


def prepare(options: Pix2pixOptions) -> Plan:
    """The run of the student's `UNetGenerator`, `PatchDiscriminator` and `train_step` on the chosen
    pairs: per epoch, G's held-out outputs scored against the held-out targets (held_out_l1,
    held_out_psnr beside `gan.epoch_stats`), a grid of fixed pairs, the curves. The baselines'
    scores are the run's `extra["baselines"]` (and metrics.json's)."""
    dataset, pairs = choose_data(options)
    epochs = options.epochs or DEFAULT_EPOCHS[dataset]
    batch_size = options.batch_size or DEFAULT_BATCH[dataset]
    generator, discriminator = pix2pix_data.model_sizes(pairs.size, wide=False)
    baselines = baseline_scores(pairs.train_targets, pairs.held_out_inputs, pairs.held_out_targets)
    total = len(pairs.train_inputs) // batch_size * epochs
    shown = grid_indices(len(pairs.held_out_inputs))

    def judge(run: Run, record: dict[str, Any]) -> dict[str, Any]:
        got = scores(record["samples"], pairs.held_out_targets)
        return {**epoch_stats(run, record, batch_size),
                "held_out_l1": round(got["l1"], 4), "held_out_psnr": round(got["psnr"], 2)}

    def draw(run: Run, record: dict[str, Any], summary: dict[str, Any]) -> None:
        got = scores(record["samples"], pairs.held_out_targets)  # unrounded, as the title shows them
        title = (f"pix2pix after epoch {record['epoch'] + 1} ({record['steps']:,} steps): held-out L1 "
                 f"{got['l1']:.3f}, PSNR {got['psnr']:.1f} dB (blurred input: {baselines['blurred']['l1']:.3f}, "
                 f"{baselines['blurred']['psnr']:.1f} dB)")
        grid = (to_unit(pairs.held_out_inputs[shown]), record["samples"][shown], to_unit(pairs.held_out_targets[shown]))
        translation_grid(*grid, run.folder / f"grid_epoch_{record['epoch'] + 1:03d}.png", title=title)
        translation_grid(*grid, run.folder / "grid.png", title=title)
        translation_curves(run.steps, run.history, run.folder / "curves.png",
                           title=f"pix2pix: {pairs.source.split(' (')[0]}, {pairs.direction}")

    return Plan(
        data=f"{pairs.source}; {pairs.direction}", epochs=epochs, steps=min(total, options.max_steps or total),
        loop=LOOP, judge_note=JUDGE_NOTE, extra={"baselines": baselines},
        arguments=lambda student: [student.UNetGenerator, student.PatchDiscriminator, student.train_step,
                                   pairs.train_inputs, pairs.held_out_inputs],
        settings=dict(train_targets=pairs.train_targets, **loop_settings(generator, discriminator, lr=options.lr),
                      epochs=epochs, max_steps=options.max_steps, batch_size=batch_size, seed=options.seed,
                      device=options.device, send_weights=True),
        judge=judge, draw=draw, checkpoint=both_models)


# What a pix2pix run prints (`grader.training.run_command.drive`).
LINES = RunLines(
    start=lambda run, options, steps: [
        f"data: {run.data_source}", "baselines on the held-out pairs (L1 / PSNR): " + "; ".join(
            f"{name} {b['l1']:.3f} / {b['psnr']:.1f} dB" for name, b in run.extra["baselines"].items()),
        f"device: {options.device}; {run.epochs} epochs, {steps:,} steps; writing to {run.folder}"],
    step=lambda step: f"D {step['loss_d']:.3f} G-GAN {step['loss_g_gan']:.3f} G-L1 {step['loss_g_l1']:.3f}",
    epoch=lambda summary: (f"D {summary['loss_d']:.3f}  G-GAN {summary['loss_g_gan']:.3f}  G-L1 "
                           f"{summary['loss_g_l1']:.3f}  held-out L1 {summary['held_out_l1']:.3f}  PSNR "
                           f"{summary['held_out_psnr']:.1f} dB  ({summary['images_per_second']:.0f} pairs/s)"),
    done=lambda run: (f"held-out L1 {run.history[-1]['held_out_l1']:.3f}, PSNR {run.history[-1]['held_out_psnr']:.1f} "
                      f"dB (blurred input {run.extra['baselines']['blurred']['l1']:.3f}, "
                      f"{run.extra['baselines']['blurred']['psnr']:.1f} dB); grid.png, curves, metrics and "
                      f"checkpoint in {run.folder}"))

TRAINING = Training(
    options=Pix2pixOptions, prepare=prepare, lines=LINES,
    shown_defaults={"epochs": ", ".join(f"{epochs} ({name})" for name, epochs in DEFAULT_EPOCHS.items()),
                    "batch_size": ", ".join(f"{size} ({name})" for name, size in DEFAULT_BATCH.items())},
    choices={"dataset": Choice(tuple(DEFAULT_EPOCHS), "paired (the embedded set) or facades (the default when "
                                                      "present under the data root)"),
             "direction": Choice(("AtoB", "BtoA"), "A (photo) to B (map), or back (default: AtoB for paired, "
                                                   "BtoA for facades)")})
