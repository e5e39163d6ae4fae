"""One `bootcamp train` run, whatever the practice: its record, and the driver that trains it.

A practice's `train.py` plans its run (`Plan`, from its entry's `prepare(options)`): the data, the
epochs, the grader's loop operation and its arguments, and its epoch hooks (judge an epoch, draw
its pictures). The rest is here, the same for every practice:

- `Run`: the run folder and what it has recorded so far (options, data, one summary per finished
  epoch, the per-step statistics), written to `metrics.json` whole (temporary file, then rename);
- `train`: the plan's loop run in a sandbox worker on the student's module. Each record it streams
  is a step record ({"step", "epoch", ...}, every few steps), handed to `on_step`, or an epoch
  record, which the plan judges (its summary), the run keeps (history, `checkpoint.pt`, the plan's
  pictures, then `metrics.json`: an epoch there has its checkpoint and pictures) before `on_epoch`
  gets the summary. Ctrl-C (KeyboardInterrupt) ends the run cleanly: it is marked interrupted, its
  metrics saved, every finished epoch kept.

    runs/<practice>/<timestamp>/
        metrics.json     {"practice", "submission", "data", "options", "judge" (where the plan
                         says how epochs are judged), the plan's own entries, "interrupted",
                         "epochs": [one summary per finished epoch]}
        checkpoint.pt    the plan's state_dicts of the last finished epoch, for
                         torch.load(weights_only=True)
        ...              the plan's pictures
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from grader import paths, registry
from grader.atomic import write_atomically
from grader.sandbox import Limits, Submission
from grader.sandbox.ctrl_c import deferred_ctrl_c
from grader.training.entry import TrainOptions, Training
from grader.training.runs import new_run_folder, save_checkpoint

A_WEEK = 7 * 24 * 3600.0  # a run's call timeout and budget: it ends when it is done or stopped


@dataclass
class Run:
    """A training run's folder and what it has recorded so far."""

    folder: Path
    practice: str
    options: TrainOptions  # the practice's options dataclass
    data_source: str
    submission: str
    epochs: int
    judge_note: str | None = None  # how its epochs are judged, in words; None: no "judge" in metrics.json
    extra: dict[str, Any] = field(default_factory=dict)  # the practice's own entries of metrics.json
    history: list[dict] = field(default_factory=list)  # one summary per finished epoch
    steps: dict[str, list[float]] = field(default_factory=dict)  # per-step statistics a plan keeps, for curves
    interrupted: bool = False
    started: float = 0.0  # time.perf_counter() when the sandbox was asked for

    def save_metrics(self) -> None:
        """metrics.json, written whole (see the module docstring for its keys)."""
        judge = {} if self.judge_note is None else {"judge": self.judge_note}
        record = {"practice": self.practice, "submission": self.submission, "data": self.data_source,
                  "options": {**asdict(self.options), "epochs": self.epochs}, **judge, **self.extra,
                  "interrupted": self.interrupted, "epochs": self.history}
        write_atomically(self.folder / "metrics.json", json.dumps(record, indent=2) + "\n")


@dataclass
class Plan:
    """A practice's run, planned from its options (its entry's `prepare`): what it trains on, the
    grader's loop that trains it, and its epoch hooks."""

    data: str  # the data used, in words (metrics.json's "data")
    epochs: int
    steps: int  # the steps of the whole run (the progress bar's total)
    # The loop: the name of a grader operation ("module:function") the worker runs on the student's
    # objects, called as loop(*arguments(module), **settings, on_progress=...); or, for a practice
    # whose training is one call of the student's own code, a function (session, on_record) run
    # here that calls the student through the session (the student's code still runs in the worker).
    loop: str | Callable[[Any, Callable[[dict], None]], None]
    arguments: Callable[[Any], list]  # the student's module -> the loop's positional arguments
    settings: dict[str, Any]  # the loop's keyword arguments (the driver adds on_progress)
    judge: Callable[[Run, dict], dict]  # (run, epoch record) -> the epoch's summary, its scores
    draw: Callable[[Run, dict, dict], None]  # (run, epoch record, summary): the epoch's pictures in run.folder
    checkpoint: Callable[[dict], dict]  # epoch record -> what checkpoint.pt holds (a state_dict, or a dict of them)
    judge_note: str | None = None  # how epochs are judged, in words (metrics.json's "judge")
    extra: dict[str, Any] = field(default_factory=dict)  # the practice's own entries of metrics.json


def train(practice: str, directory: Path, options: TrainOptions, *, training: Training | None = None,
          out: Path = paths.RUNS_DIR, on_start: Callable[[Run, int], None] = lambda run, steps: None,
          on_step: Callable[[dict], None] = lambda step: None,
          on_epoch: Callable[[dict], None] = lambda summary: None) -> Run:
    """Train the student's `<practice>.py` in `directory` as `training` (default: the practice's
    `TRAINING`) plans it, into `out/<practice>/<timestamp>/`; returns the run.

    `on_start(run, total_steps)` is called once, before training; `on_step` with each step record,
    `on_epoch` with each epoch's summary once the run folder has it. Ctrl-C (KeyboardInterrupt)
    ends the run cleanly: the returned run has `interrupted` set and keeps every finished epoch.
    A problem of the data (DataError) or the student's code (SandboxError) propagates.
    """
    plan = (training or registry.get(practice).training()).prepare(options)
    run = Run(new_run_folder(out, practice), practice, options, plan.data, str(directory), plan.epochs,
              plan.judge_note, dict(plan.extra))
    on_start(run, plan.steps)
    run.save_metrics()

    def on_record(record: dict[str, Any]) -> None:
        if "step" in record:
            on_step(record)
            return
        summary = plan.judge(run, record)
        run.history.append(summary)
        save_checkpoint(plan.checkpoint(record), run.folder / "checkpoint.pt")
        plan.draw(run, record, summary)
        run.save_metrics()  # last: an epoch in metrics.json has its checkpoint and pictures
        on_epoch(summary)

    run.started = time.perf_counter()
    limits = Limits(call_timeout=A_WEEK, budget=A_WEEK, threads=options.threads)
    try:
        with (deferred_ctrl_c(), Submission(directory, limits) as submission,
              submission.session(practice, warm=registry.warm_up(practice)) as session):
            if callable(plan.loop):
                plan.loop(session, on_record)
            else:
                session.run(plan.loop, *plan.arguments(session.module), **plan.settings, on_progress=on_record)
    except KeyboardInterrupt:
        run.interrupted = True
        run.save_metrics()
    return run
