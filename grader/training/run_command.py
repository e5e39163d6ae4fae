"""The terminal side of `bootcamp train`: a progress bar, a line per epoch, and where the run is."""

from __future__ import annotations

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
            "cgan": {"epochs": None, "batch_size": 64, "lr": 2e-3}}  # cgan: epochs for about 2,500 steps


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")
    return device


def train_command(practice: str, directory: Path, *, epochs: int | None, batch_size: int | None, lr: float | None,
                  seed: int, device: str, threads: int, data_root: Path | None, out: Path,
                  dataset: str | None = None, direction: str | None = None) -> int:
    """Run the training with live output; returns the exit code (0 done, 1 failed, 130 Ctrl-C)."""
    if practice == "pix2pix":
        from grader.training.pix2pix_run import Pix2pixOptions, train_pix2pix_command

        return train_pix2pix_command(directory, Pix2pixOptions(
            epochs=epochs, batch_size=batch_size, lr=lr or Pix2pixOptions.lr, seed=seed,
            device=resolve_device(device), threads=threads, data_root=str(data_root) if data_root else None,
            dataset=dataset, direction=direction), out=out)
    given = {"epochs": epochs, "batch_size": batch_size, "lr": lr}
    chosen = {key: value if value is not None else DEFAULTS[practice][key] for key, value in given.items()}
    common = dict(seed=seed, device=resolve_device(device), threads=threads,
                  data_root=str(data_root) if data_root else None)
    if practice == "cgan":
        from grader.training.cgan_run import GanOptions

        return _train_cgan(directory, GanOptions(**chosen, **common), out=out)
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


def _train_cgan(directory: Path, options, *, out: Path) -> int:
    from grader.training.cgan_run import GanRun, train_cgan

    console = Console()
    console.print("preparing the digit classifier that judges the samples (trained once, about 30 s, then cached)")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as progress:
        bar = progress.add_task("starting", total=None)
        state = {"epochs": 0}

        def on_start(run: GanRun, steps: int) -> None:
            state["epochs"] = run.epochs
            console.print(f"data: {run.data_source}")
            console.print(f"judge: {run.judge_note}")
            console.print(f"device: {options.device}; {run.epochs} epochs, {steps:,} steps; writing to {run.folder}")
            progress.update(bar, total=steps, description="training")

        def on_step(step: dict) -> None:
            progress.update(bar, completed=step["step"],
                            description=f"epoch {step['epoch'] + 1}/{state['epochs']} loss D {step['loss_d']:.3f} "
                                        f"G {step['loss_g']:.3f}")

        def on_epoch(summary: dict) -> None:
            progress.update(bar, completed=summary["steps"])
            recognised = (f"  recognised {summary['judge_accuracy']:.0%}" if summary["judge_accuracy"] is not None
                          else "")
            console.print(f"epoch {summary['epoch'] + 1:>3}/{state['epochs']}  loss D {summary['loss_d']:.3f}  "
                          f"G {summary['loss_g']:.3f}  D(x) {summary['d_real']:.2f}  D(G(z)) {summary['d_fake']:.2f}"
                          f"{recognised}  ({summary['images_per_second']:.0f} images/s)")

        run, code = _run(console, progress, lambda: train_cgan(
            directory, options, out=out, on_start=on_start, on_step=on_step, on_epoch=on_epoch))
    if code is not None:
        return code
    last = run.history[-1]
    recognised = (f"the digit classifier recognised {last['judge_accuracy']:.0%} of the samples as the digit asked "
                  f"for; " if last["judge_accuracy"] is not None else "")
    console.print(f"[green]done:[/green] {recognised}samples (samples.png), curves, metrics and checkpoint in "
                  f"{run.folder}")
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
