"""The terminal side of `bootcamp train`: a progress bar, a line per epoch, and where the run is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from grader.data import DataError
from grader.sandbox import SandboxError
from grader.training.classifier import Run, TrainOptions, train_mnist_cnn

# Per practice: the defaults of the options left out on the command line.
DEFAULTS = {"mnist_cnn": {"epochs": 10, "batch_size": 64, "lr": 2e-3},
            "cgan": {"epochs": None, "batch_size": 64, "lr": 2e-3},  # cgan: epochs for about 2,500 steps
            "dcgan": {"epochs": None, "batch_size": 64, "lr": 2e-3},  # dcgan: epochs for about 2,000 steps
            "pix2pix": {"epochs": None, "batch_size": None, "lr": None}}  # pix2pix: per dataset (pix2pix_run)


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")
    return device


def train_command(practice: str, directory: Path, *, epochs: int | None, batch_size: int | None, lr: float | None,
                  seed: int, device: str, threads: int, data_root: Path | None, out: Path,
                  dataset: str | None = None, direction: str | None = None) -> int:
    """Run the training with live output; returns the exit code (0 done, 1 failed, 130 Ctrl-C).

    `dataset` (dcgan: mnist or cifar10; pix2pix: paired or facades) and `direction` (pix2pix: AtoB
    or BtoA) are for those practices only; None is the practice's default."""
    given = {"epochs": epochs, "batch_size": batch_size, "lr": lr}
    chosen = {key: value if value is not None else DEFAULTS[practice][key] for key, value in given.items()}
    common = dict(seed=seed, device=resolve_device(device), threads=threads,
                  data_root=str(data_root) if data_root else None)
    if practice == "cgan":
        from grader.training.cgan_run import GanOptions, train_cgan

        return _train_gan(directory, GanOptions(**chosen, **common), train_cgan, out=out)
    if practice == "pix2pix":
        from grader.training.pix2pix_run import Pix2pixOptions, train_pix2pix

        options = Pix2pixOptions(**{**chosen, "lr": chosen["lr"] or Pix2pixOptions.lr}, **common, dataset=dataset,
                                 direction=direction)
        return _train_gan(directory, options, train_pix2pix, out=out, lines=PIX2PIX_LINES)
    if practice == "dcgan":
        from grader.training.dcgan_run import DcganOptions, train_dcgan

        return _train_gan(directory, DcganOptions(**chosen, **common, dataset=dataset or "mnist"), train_dcgan,
                          out=out)
    return _train_mnist_cnn(directory, TrainOptions(**chosen, **common), out=out)


def _train_mnist_cnn(directory: Path, options: TrainOptions, *, out: Path) -> int:
    console = Console()
    epochs = options.epochs
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as progress:
        bar = progress.add_task("starting", total=None)

        def on_start(run: Run, steps: int) -> None:
            console.print(f"data: {run.data_source}")
            console.print(f"device: {options.device}; writing to {run.folder}")
            progress.update(bar, total=steps, description="training")

        def on_step(step: dict) -> None:
            progress.update(bar, completed=step["step"],
                            description=f"epoch {step['epoch'] + 1}/{epochs} loss {step['loss']:.4f}")

        def on_epoch(summary: dict) -> None:
            progress.update(bar, completed=(summary["epoch"] + 1) * progress.tasks[bar].total // epochs)
            console.print(f"epoch {summary['epoch'] + 1:>3}/{epochs}  loss {summary['loss']:.4f}  "
                          f"held-out loss {summary['held_out_loss']:.4f}  accuracy {summary['accuracy']:.2%}  "
                          f"({summary['images_per_second']:.0f} images/s)")

        run, code = _run(console, progress, lambda: train_mnist_cnn(
            directory, options, out=out, on_start=on_start, on_step=on_step, on_epoch=on_epoch))
    if code is not None:
        return code
    last = run.history[-1]
    console.print(f"[green]done:[/green] held-out accuracy {last['accuracy']:.2%}; pictures, metrics and "
                  f"checkpoint in {run.folder}")
    return 0


def _judged(summary: dict) -> str:
    """How the epoch's samples were judged, for its line: cgan's recognised share, dcgan's score and distance."""
    if summary.get("judge_accuracy") is not None:
        return f"  recognised {summary['judge_accuracy']:.0%}"
    if summary.get("score") is not None:
        return f"  score {summary['score']:.2f}  distance {summary['distance']:.1f}"
    return ""


@dataclass
class GanLines:
    """What a GAN practice's run prints: lines before training, the bar's text per step, the line per
    epoch and the closing sentence (each from the run, the step or the epoch summary)."""

    start: Callable[[Any], list[str]]
    step: Callable[[dict], str]
    epoch: Callable[[dict], str]
    done: Callable[[Any], str]
    preparing: str | None = None  # printed before anything else, when the run prepares a judge


def _gan_done(run) -> str:
    last = run.history[-1]
    if last.get("judge_accuracy") is not None:
        judged = f"the digit classifier recognised {last['judge_accuracy']:.0%} of the samples as the digit asked for; "
    elif last.get("score") is not None:
        judged = (f"classifier score {last['score']:.2f} (at most 10), Fréchet distance to held-out digits "
                  f"{last['distance']:.1f}; ")
    else:
        judged = ""
    return f"{judged}samples (samples.png), curves, metrics and checkpoint in {run.folder}"


GAN_LINES = GanLines(
    start=lambda run: [f"data: {run.data_source}", f"judge: {run.judge_note}"],
    step=lambda step: f"loss D {step['loss_d']:.3f} G {step['loss_g']:.3f}",
    epoch=lambda summary: (f"loss D {summary['loss_d']:.3f}  G {summary['loss_g']:.3f}  D(x) {summary['d_real']:.2f}  "
                           f"D(G(z)) {summary['d_fake']:.2f}{_judged(summary)}  "
                           f"({summary['images_per_second']:.0f} images/s)"),
    done=_gan_done,
    preparing="preparing the digit classifier that judges the samples (trained once, about 30 s, then cached)")

PIX2PIX_LINES = GanLines(
    start=lambda run: [f"data: {run.data_source}", "baselines on the held-out pairs (L1 / PSNR): " + "; ".join(
        f"{name} {b['l1']:.3f} / {b['psnr']:.1f} dB" for name, b in run.extra["baselines"].items())],
    step=lambda step: f"D {step['loss_d']:.3f} G-GAN {step['loss_g_gan']:.3f} G-L1 {step['loss_g_l1']:.3f}",
    epoch=lambda summary: (f"D {summary['loss_d']:.3f}  G-GAN {summary['loss_g_gan']:.3f}  G-L1 "
                           f"{summary['loss_g_l1']:.3f}  held-out L1 {summary['held_out_l1']:.3f}  PSNR "
                           f"{summary['held_out_psnr']:.1f} dB  ({summary['images_per_second']:.0f} pairs/s)"),
    done=lambda run: (f"held-out L1 {run.history[-1]['held_out_l1']:.3f}, PSNR {run.history[-1]['held_out_psnr']:.1f} "
                      f"dB (blurred input {run.extra['baselines']['blurred']['l1']:.3f}, "
                      f"{run.extra['baselines']['blurred']['psnr']:.1f} dB); grid.png, curves, metrics and "
                      f"checkpoint in {run.folder}"))


def _train_gan(directory: Path, options, train: Callable, *, out: Path, lines: GanLines = GAN_LINES) -> int:
    """A GAN practice's run (`train` is `train_cgan`, `train_dcgan` or `train_pix2pix`) with a bar and
    a line per epoch, worded by `lines`."""
    from grader.training.gan_run import GanRun

    console = Console()
    if lines.preparing:
        console.print(lines.preparing)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as progress:
        bar = progress.add_task("starting", total=None)
        state = {"epochs": 0}

        def on_start(run: GanRun, steps: int) -> None:
            state["epochs"] = run.epochs
            for line in lines.start(run):
                console.print(line)
            console.print(f"device: {options.device}; {run.epochs} epochs, {steps:,} steps; writing to {run.folder}")
            progress.update(bar, total=steps, description="training")

        def on_step(step: dict) -> None:
            progress.update(bar, completed=step["step"],
                            description=f"epoch {step['epoch'] + 1}/{state['epochs']} {lines.step(step)}")

        def on_epoch(summary: dict) -> None:
            progress.update(bar, completed=summary["steps"])
            console.print(f"epoch {summary['epoch'] + 1:>3}/{state['epochs']}  {lines.epoch(summary)}")

        run, code = _run(console, progress, lambda: train(
            directory, options, out=out, on_start=on_start, on_step=on_step, on_epoch=on_epoch))
    if code is not None:
        return code
    console.print(f"[green]done:[/green] {lines.done(run)}")
    return 0


def _run(console: Console, progress: Progress, train: Callable[[], Any]) -> tuple[Any, int | None]:
    """Run `train()`; (its run, None) if it finished, or (run or None, exit code) if it did not:
    1 with one line when the sandbox or the data failed, 130 when Ctrl-C stopped it."""
    try:
        run = train()
    except (SandboxError, DataError) as error:
        progress.stop()
        console.print(f"[red]training stopped:[/red] {error}")
        return None, 1
    if run.interrupted:
        progress.stop()
        console.print(f"stopped by Ctrl-C after {len(run.history)} epoch(s); kept {run.folder}")
        return run, 130
    return run, None
