"""The terminal side of `bootcamp train`: a progress bar, a line per epoch, and where the run is."""

from __future__ import annotations

from pathlib import Path

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from grader.data import DataError
from grader.sandbox import SandboxError
from grader.training.classifier import Run, TrainOptions, train_mnist_cnn


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")
    return device


def train_command(practice: str, directory: Path, *, epochs: int, batch_size: int, lr: float, seed: int,
                  device: str, threads: int, data_root: Path | None, out: Path) -> int:
    """Run the training with live output; returns the exit code (0 done, 1 failed, 130 Ctrl-C)."""
    console = Console()
    options = TrainOptions(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=resolve_device(device),
                           threads=threads, data_root=str(data_root) if data_root else None)
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

        try:
            run = train_mnist_cnn(directory, options, out=out, on_start=on_start, on_step=on_step,
                                  on_epoch=on_epoch)
        except (SandboxError, DataError) as error:
            progress.stop()
            console.print(f"[red]training stopped:[/red] {error}")
            return 1
    if run.interrupted:
        console.print(f"stopped by Ctrl-C after {len(run.history)} epoch(s); kept {run.folder}")
        return 130
    last = run.history[-1]
    console.print(f"[green]done:[/green] held-out accuracy {last['accuracy']:.2%}; pictures, metrics and "
                  f"checkpoint in {run.folder}")
    return 0
