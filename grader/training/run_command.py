"""The terminal side of `bootcamp train`: a progress bar, a line per epoch, and where the run is."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from grader import registry
from grader.data import DataError
from grader.sandbox import SandboxError
from grader.training.driver import train
from grader.training.entry import Training


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")
    return device


def train_command(practice: str, directory: Path, *, epochs: int | None, batch_size: int | None, lr: float | None,
                  seed: int, device: str, threads: int, data_root: Path | None, out: Path,
                  **choices: str | None) -> int:
    """Run the practice's training with live output; returns the exit code (0 done, 1 failed, 130 Ctrl-C).

    `choices` are the options only some practices declare (`--dataset`, `--direction`; see
    `grader.training.entry.Choice`); None, like any option left out, is the practice's default."""
    training = registry.get(practice).training()
    options = training.make_options({"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
                                     "device": resolve_device(device), "threads": threads,
                                     "data_root": str(data_root) if data_root else None, **choices})
    return drive(practice, directory, options, training, out=out)


def drive(practice: str, directory: Path, options: Any, training: Training, *, out: Path) -> int:
    """A practice's run (`grader.training.driver.train`) with a bar and a line per epoch, worded by
    `training.lines`."""
    lines = training.lines
    console = Console()
    if lines.preparing:
        console.print(lines.preparing)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as progress:
        bar = progress.add_task("starting", total=None)
        state = {"epochs": 0}

        def on_start(run: Any, steps: int) -> None:
            state["epochs"] = run.epochs
            for line in lines.start(run, options, steps):
                console.print(line)
            progress.update(bar, total=steps, description="training")

        def on_step(step: dict) -> None:
            progress.update(bar, completed=step["step"],
                            description=f"epoch {step['epoch'] + 1}/{state['epochs']} {lines.step(step)}")

        def on_epoch(summary: dict) -> None:
            total = progress.tasks[bar].total
            progress.update(bar, completed=summary["steps"] if "steps" in summary
                            else (summary["epoch"] + 1) * total // state["epochs"])
            console.print(f"epoch {summary['epoch'] + 1:>3}/{state['epochs']}  {lines.epoch(summary)}")

        run, code = _run(console, progress, lambda: train(
            practice, directory, options, training=training, out=out, on_start=on_start, on_step=on_step,
            on_epoch=on_epoch))
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
