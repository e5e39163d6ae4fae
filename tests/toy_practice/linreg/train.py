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

from dataclasses import dataclass
from typing import Any, Callable

import torch

from grader.practices.linreg.synthetic import NOISE, linear_data, mean_squared_error
from grader.sandbox import SandboxError
from grader.training.driver import Plan, Run
from grader.training.entry import RunLines, Training, TrainOptions

STEPS_PER_EPOCH = 20


@dataclass
class LinregOptions(TrainOptions):
    epochs: int = 5
    batch_size: int = 200  # training examples, all of them in every step
    lr: float = 0.1


def _pair(result: object, call: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(w, b) from what the student's fit returned, or a SandboxError that says what it was."""
    if (isinstance(result, (tuple, list)) and len(result) == 2 and all(isinstance(t, torch.Tensor) for t in result)
            and result[1].numel() == 1):
        return result[0], result[1].reshape(())
    raise SandboxError(call, f"should return a tuple (w, b) of tensors, b with one element, not {result!r:.80}")


def prepare(options: LinregOptions) -> Plan:
    """Epoch k: one call of the student's `fit` with k * STEPS_PER_EPOCH steps on the training split;
    its (w, b) scored here on the held-out split. Each epoch's record: {"epoch", "steps", "loss"
    (training MSE), "held_out_mse"}."""
    data = linear_data(options.seed, train=options.batch_size)

    def fit_epochs(session: Any, on_record: Callable[[dict], None]) -> None:
        for epoch in range(options.epochs):
            steps = STEPS_PER_EPOCH * (epoch + 1)
            call = f"fit(x, y, steps={steps}, lr={options.lr:g})"
            w, b = _pair(session.module.fit(data.train_x, data.train_y, steps, options.lr), call)
            on_record({"epoch": epoch, "steps": steps, "w": w, "b": b})

    def judge(run: Run, record: dict) -> dict:
        w, b = record["w"], record["b"]
        return {"epoch": record["epoch"], "steps": record["steps"],
                "loss": mean_squared_error(data.train_x, data.train_y, w, b),
                "held_out_mse": mean_squared_error(data.test_x, data.test_y, w, b)}

    return Plan(data=data.description, epochs=options.epochs, steps=STEPS_PER_EPOCH * options.epochs,
                loop=fit_epochs, arguments=lambda module: [], settings={}, judge=judge,
                draw=lambda run, record, summary: None,
                checkpoint=lambda record: {"w": record["w"], "b": record["b"]})


# What a run prints (`grader.training.run_command.drive`).
LINES = RunLines(
    start=lambda run, options, steps: [f"data: {run.data_source}", f"writing to {run.folder}"],
    step=lambda step: "",
    epoch=lambda summary: (f"{summary['steps']} steps: training MSE {summary['loss']:.4g}  "
                           f"held-out MSE {summary['held_out_mse']:.4g}"),
    done=lambda run: (f"held-out MSE {run.history[-1]['held_out_mse']:.4g} (the noise alone: {NOISE ** 2:g}); "
                      f"metrics and checkpoint in {run.folder}"))

TRAINING = Training(options=LinregOptions, prepare=prepare, lines=LINES)
