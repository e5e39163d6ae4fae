"""`bootcamp train pix2pix`: train the U-Net and PatchGAN in the sandbox and keep a record of the run.

The student's `UNetGenerator`, `PatchDiscriminator` and `train_step` run in a sandbox worker under
the grader's loop (`grader.training.pix2pix:train_pix2pix`); each epoch streams back the step
losses, G's eval-mode outputs for every held-out input and both models' weights. Here, in the
trusted process, the outputs are scored against the held-out targets (which never enter the
worker) and the run folder is brought up to date, so a run stopped by Ctrl-C keeps everything up
to its last finished epoch:

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

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from grader import paths
from grader.release import write_atomically
from grader.sandbox import Limits, Submission
from grader.sandbox.ctrl_c import deferred_ctrl_c
from grader.training import pix2pix_data
from grader.training.classifier import new_run_folder, save_checkpoint
from grader.training.pix2pix import STATS
from grader.training.pix2pix_metrics import baseline_scores, scores, to_unit
from grader.training.pix2pix_pictures import translation_curves, translation_grid

LOOP = "grader.training.pix2pix:train_pix2pix"
GRID_PAIRS = 8
DEFAULT_EPOCHS = {"paired": 10, "facades": 200}  # paired: 900 steps of 4 pairs, a few minutes on a CPU
DEFAULT_BATCH = {"paired": 4, "facades": 1}  # facades: the paper's batches of one


@dataclass
class Pix2pixOptions:
    """The training recipe: Adam(lr, beta1 0.5) for both models (see the convergence test's sizing).

    dataset None: facades when present under the data root, else the embedded paired set.
    direction None: AtoB (photo -> edge map) for the paired set, BtoA (label map -> photo) for
    facades. epochs and batch_size None: the dataset's defaults above.
    """

    epochs: int | None = None
    batch_size: int | None = None
    lr: float = 5e-4
    seed: int = 0
    device: str = "cpu"
    threads: int = 0
    data_root: str | None = None
    dataset: str | None = None
    direction: str | None = None
    max_steps: int | None = None  # stop early (tests)


@dataclass
class Pix2pixRun:
    """A pix2pix training run's folder and what it has recorded so far."""

    folder: Path
    options: Pix2pixOptions
    data_source: str
    submission: str
    epochs: int
    baselines: dict[str, dict[str, float]]
    history: list[dict] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=lambda: {key: [] for key in STATS})
    interrupted: bool = False

    def save_metrics(self) -> None:
        record = {"practice": "pix2pix", "submission": self.submission, "data": self.data_source,
                  "options": {**asdict(self.options), "epochs": self.epochs}, "baselines": self.baselines,
                  "interrupted": self.interrupted, "epochs": self.history}
        write_atomically(self.folder / "metrics.json", json.dumps(record, indent=2) + "\n")


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


def train_pix2pix(directory: Path, options: Pix2pixOptions, *, out: Path = paths.RUNS_DIR,
                  on_start: Callable[[Pix2pixRun, int], None] = lambda run, steps: None,
                  on_step: Callable[[dict], None] = lambda step: None,
                  on_epoch: Callable[[dict], None] = lambda epoch: None) -> Pix2pixRun:
    """Train the `UNetGenerator` and `PatchDiscriminator` of `directory` with its `train_step`.

    `on_start(run, total_steps)` is called once, `on_step` with {"step", "epoch", losses} every few
    steps, `on_epoch` with each epoch's summary. Ctrl-C (KeyboardInterrupt) ends the run cleanly:
    the returned run has `interrupted` set and keeps every finished epoch.
    """
    dataset, pairs = choose_data(options)
    epochs = options.epochs or DEFAULT_EPOCHS[dataset]
    batch_size = options.batch_size or DEFAULT_BATCH[dataset]
    generator, discriminator = pix2pix_data.model_sizes(pairs.size, wide=False)
    baselines = baseline_scores(pairs.train_targets, pairs.held_out_inputs, pairs.held_out_targets)
    run = Pix2pixRun(new_run_folder(out, "pix2pix"), options, f"{pairs.source}; {pairs.direction}", str(directory),
                     epochs, baselines)
    total = len(pairs.train_inputs) // batch_size * epochs
    on_start(run, min(total, options.max_steps or total))
    run.save_metrics()
    shown = grid_indices(len(pairs.held_out_inputs))
    limits = Limits(call_timeout=7 * 24 * 3600.0, budget=7 * 24 * 3600.0, threads=options.threads)

    def epoch_done(record: dict[str, Any]) -> None:
        if "outputs" not in record:
            on_step(record)
            return
        for key in STATS:
            run.steps[key].extend(record["stats"][key])
        got = scores(record["outputs"], pairs.held_out_targets)
        summary = {"epoch": record["epoch"], "steps": record["steps"],
                   **{key: sum(v) / max(1, len(v)) for key, v in record["stats"].items()},
                   "held_out_l1": round(got["l1"], 4), "held_out_psnr": round(got["psnr"], 2),
                   "seconds": round(record["seconds"], 2),
                   "pairs_per_second": round(record["steps"] * batch_size / max(record["seconds"], 1e-9), 1)}
        run.history.append(summary)
        save_checkpoint({"generator": record["generator"], "discriminator": record["discriminator"]},
                        run.folder / "checkpoint.pt")
        title = (f"pix2pix after epoch {record['epoch'] + 1} ({record['steps']:,} steps): held-out L1 "
                 f"{got['l1']:.3f}, PSNR {got['psnr']:.1f} dB (blurred input: {baselines['blurred']['l1']:.3f}, "
                 f"{baselines['blurred']['psnr']:.1f} dB)")
        grid = (to_unit(pairs.held_out_inputs[shown]), record["outputs"][shown], to_unit(pairs.held_out_targets[shown]))
        translation_grid(*grid, run.folder / f"grid_epoch_{record['epoch'] + 1:03d}.png", title=title)
        translation_grid(*grid, run.folder / "grid.png", title=title)
        translation_curves(run.steps, run.history, run.folder / "curves.png",
                           title=f"pix2pix: {pairs.source.split(' (')[0]}, {pairs.direction}")
        run.save_metrics()  # last: an epoch in metrics.json has its checkpoint and pictures
        on_epoch(summary)

    try:
        with (deferred_ctrl_c(), Submission(directory, limits) as submission,
              submission.session("pix2pix", warm=True) as session):
            student = session.module
            session.run(LOOP, student.UNetGenerator, student.PatchDiscriminator, student.train_step,
                        pairs.train_inputs, pairs.train_targets, pairs.held_out_inputs, generator=generator,
                        discriminator=discriminator, epochs=epochs, max_steps=options.max_steps,
                        batch_size=batch_size, lr=options.lr,
                        beta1=0.5, seed=options.seed, device=options.device, send_weights=True,
                        on_progress=epoch_done)
    except KeyboardInterrupt:
        run.interrupted = True
        run.save_metrics()
    return run


def train_pix2pix_command(directory: Path, options: Pix2pixOptions, *, out: Path) -> int:
    """The terminal side: a progress bar, a line per epoch; returns the exit code (0, 1, 130)."""
    from grader.training.run_command import _run

    console = Console()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as progress:
        bar = progress.add_task("starting", total=None)
        state = {"epochs": 0}

        def on_start(run: Pix2pixRun, steps: int) -> None:
            state["epochs"] = run.epochs
            console.print(f"data: {run.data_source}")
            console.print("baselines on the held-out pairs (L1 / PSNR): " + "; ".join(
                f"{name} {b['l1']:.3f} / {b['psnr']:.1f} dB" for name, b in run.baselines.items()))
            console.print(f"device: {run.options.device}; {run.epochs} epochs, {steps:,} steps; "
                          f"writing to {run.folder}")
            progress.update(bar, total=steps, description="training")

        def on_step(step: dict) -> None:
            progress.update(bar, completed=step["step"],
                            description=f"epoch {step['epoch'] + 1}/{state['epochs']} D {step['loss_d']:.3f} "
                                        f"G-GAN {step['loss_g_gan']:.3f} G-L1 {step['loss_g_l1']:.3f}")

        def on_epoch(summary: dict) -> None:
            progress.update(bar, completed=summary["steps"])
            console.print(f"epoch {summary['epoch'] + 1:>3}/{state['epochs']}  D {summary['loss_d']:.3f}  "
                          f"G-GAN {summary['loss_g_gan']:.3f}  G-L1 {summary['loss_g_l1']:.3f}  held-out L1 "
                          f"{summary['held_out_l1']:.3f}  PSNR {summary['held_out_psnr']:.1f} dB  "
                          f"({summary['pairs_per_second']:.0f} pairs/s)")

        run, code = _run(console, progress, lambda: train_pix2pix(
            directory, options, out=out, on_start=on_start, on_step=on_step, on_epoch=on_epoch))
    if code is not None:
        return code
    last = run.history[-1]
    console.print(f"[green]done:[/green] held-out L1 {last['held_out_l1']:.3f}, PSNR {last['held_out_psnr']:.1f} dB "
                  f"(blurred input {run.baselines['blurred']['l1']:.3f}, {run.baselines['blurred']['psnr']:.1f} dB); "
                  f"grid.png, curves, metrics and checkpoint in {run.folder}")
    return 0
