"""`bootcamp train linreg`: fit the student's linear model in the sandbox and keep a record of the run.

The data set is synthetic (`synthetic.linear_data`, drawn from --seed); --batch-size is the number
of training examples, every one of which each full-batch step uses. The student's `fit` starts
from zero on each call, so epoch k is one call of `fit` with k * STEPS_PER_EPOCH steps, in a
sandbox worker that gets the training split only; here, in the trusted process, its (w, b) is
scored on the held-out split and the run folder brought up to date:

    runs/linreg/<timestamp>/
        metrics.json        options, data used, one record per epoch
        checkpoint.pt       {"w": (D,), "b": 0-dim} of the last epoch, for torch.load(weights_only=True)

The data is made on the CPU and so small that --device and --data-root change nothing; they are
kept in the record.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from grader import paths
from grader.atomic import write_atomically
from grader.practices.linreg.synthetic import NOISE, linear_data, mean_squared_error
from grader.sandbox import Limits, SandboxError, Submission
from grader.sandbox.ctrl_c import deferred_ctrl_c
from grader.training.entry import RunLines, Training
from grader.training.runs import new_run_folder, save_checkpoint

STEPS_PER_EPOCH = 20


@dataclass
class LinregOptions:
    epochs: int = 5
    batch_size: int = 200  # training examples, all of them in every step
    lr: float = 0.1
    seed: int = 0
    device: str = "cpu"
    threads: int = 0
    data_root: str | None = None


@dataclass
class Run:
    """A training run's folder and what it has recorded so far."""

    folder: Path
    options: LinregOptions
    data_source: str
    submission: str
    history: list[dict] = field(default_factory=list)
    interrupted: bool = False

    @property
    def epochs(self) -> int:
        return self.options.epochs

    def save_metrics(self) -> None:
        record = {"practice": "linreg", "submission": self.submission, "data": self.data_source,
                  "options": asdict(self.options), "interrupted": self.interrupted, "epochs": self.history}
        write_atomically(self.folder / "metrics.json", json.dumps(record, indent=2) + "\n")


def _pair(result: object, call: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(w, b) from what the student's fit returned, or a SandboxError that says what it was."""
    if (isinstance(result, (tuple, list)) and len(result) == 2 and all(isinstance(t, torch.Tensor) for t in result)
            and result[1].numel() == 1):
        return result[0], result[1].reshape(())
    raise SandboxError(call, f"should return a tuple (w, b) of tensors, b with one element, not {result!r:.80}")


def train_linreg(directory: Path, options: LinregOptions, *, out: Path = paths.RUNS_DIR,
                 on_start: Callable[[Run, int], None] = lambda run, steps: None,
                 on_step: Callable[[dict], None] = lambda step: None,
                 on_epoch: Callable[[dict], None] = lambda epoch: None) -> Run:
    """Fit the `fit` of `directory` for `options.epochs` epochs; returns the finished `Run`.

    `on_start(run, total_steps)` is called once and `on_epoch` with each epoch's record
    {"epoch", "steps", "loss" (training MSE), "held_out_mse", "seconds"}; `on_step` is not called
    (one epoch is one call of `fit`). Ctrl-C (KeyboardInterrupt) ends the run cleanly: the returned
    run has `interrupted` set and keeps every finished epoch.
    """
    data = linear_data(options.seed, train=options.batch_size)
    run = Run(new_run_folder(out, "linreg"), options, data.description, str(directory))
    on_start(run, STEPS_PER_EPOCH * options.epochs)
    run.save_metrics()
    started = time.perf_counter()
    limits = Limits(call_timeout=7 * 24 * 3600.0, budget=7 * 24 * 3600.0, threads=options.threads)
    try:
        with (deferred_ctrl_c(), Submission(directory, limits) as submission,
              submission.session("linreg") as session):
            for epoch in range(options.epochs):
                steps = STEPS_PER_EPOCH * (epoch + 1)
                call = f"fit(x, y, steps={steps}, lr={options.lr:g})"
                w, b = _pair(session.module.fit(data.train_x, data.train_y, steps, options.lr), call)
                summary = {"epoch": epoch, "steps": steps,
                           "loss": mean_squared_error(data.train_x, data.train_y, w, b),
                           "held_out_mse": mean_squared_error(data.test_x, data.test_y, w, b),
                           "seconds": round(time.perf_counter() - started, 2)}
                run.history.append(summary)
                save_checkpoint({"w": w, "b": b}, run.folder / "checkpoint.pt")
                run.save_metrics()  # last: an epoch in metrics.json has its checkpoint
                on_epoch(summary)
    except KeyboardInterrupt:
        run.interrupted = True
        run.save_metrics()
    return run


# What a run prints (`grader.training.run_command.drive`).
LINES = RunLines(
    start=lambda run, options, steps: [f"data: {run.data_source}", f"writing to {run.folder}"],
    step=lambda step: "",
    epoch=lambda summary: (f"{summary['steps']} steps: training MSE {summary['loss']:.4g}  "
                           f"held-out MSE {summary['held_out_mse']:.4g}"),
    done=lambda run: (f"held-out MSE {run.history[-1]['held_out_mse']:.4g} (the noise alone: {NOISE ** 2:g}); "
                      f"metrics and checkpoint in {run.folder}"))

TRAINING = Training(run=train_linreg, options=LinregOptions, lines=LINES)
