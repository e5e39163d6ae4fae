"""What every `bootcamp train <gan practice>` run shares: its record, its epochs, its sandbox.

A GAN practice's run (`cgan_run`, `dcgan_run`) decides its data, its recipe, how its samples
are judged and drawn; the rest is here:

- `GanRun`: the run folder and what it has recorded (options, data, one summary per epoch, the
  per-step statistics), written to `metrics.json` atomically;
- `epoch_summary`: an epoch record streamed from the worker turned into the summary's common
  part (mean statistics, time, speed), with the per-step statistics kept and both models'
  weights checkpointed;
- `train_in_sandbox`: the grader's loop run in a sandbox worker on the student's objects, each
  streamed record handed to the practice, and Ctrl-C turned into a run marked interrupted that
  keeps every finished epoch.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from grader.atomic import write_atomically
from grader.sandbox import Limits, Submission
from grader.sandbox.ctrl_c import deferred_ctrl_c
from grader.operations.gan_loop import STATS
from grader.training.entry import RunLines
from grader.training.runs import save_checkpoint


@dataclass
class GanRun:
    """A GAN training run's folder and what it has recorded so far."""

    folder: Path
    options: Any  # the practice's options dataclass
    data_source: str
    submission: str
    epochs: int
    judge_note: str = ""
    history: list[dict] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=lambda: {key: [] for key in STATS})
    interrupted: bool = False
    practice: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # the practice's own entries of metrics.json

    def save_metrics(self) -> None:
        record = {"practice": self.practice, "submission": self.submission, "data": self.data_source,
                  "options": {**asdict(self.options), "epochs": self.epochs}, "judge": self.judge_note,
                  **self.extra, "interrupted": self.interrupted, "epochs": self.history}
        write_atomically(self.folder / "metrics.json", json.dumps(record, indent=2) + "\n")


def epoch_summary(run: GanRun, record: dict[str, Any], batch_size: int) -> dict[str, Any]:
    """Keep an epoch's per-step statistics and checkpoint both models; returns the summary's common
    part: {"epoch", "steps", the mean of each statistic (loss_d, loss_g, d_real, d_fake, or those
    the practice's loop streams), "seconds", "images_per_second"}."""
    stats = record["stats"]
    for key in stats:
        run.steps.setdefault(key, []).extend(stats[key])
    save_checkpoint({"generator": record["generator"], "discriminator": record["discriminator"]},
                    run.folder / "checkpoint.pt")
    return {"epoch": record["epoch"], "steps": record["steps"],
            **{key: sum(values) / max(1, len(values)) for key, values in stats.items()},
            "seconds": round(record["seconds"], 2),
            "images_per_second": round(record["steps"] * batch_size / max(record["seconds"], 1e-9), 1)}


def train_in_sandbox(run: GanRun, directory: Path, threads: int, loop: str, arguments: Callable[[Any], list],
                     options: dict[str, Any], on_record: Callable[[dict[str, Any]], None]) -> GanRun:
    """Run the grader's `loop` in a sandbox worker on the student's module of `run.practice`:
    `loop(*arguments(student_module), **options)`, each streamed record to `on_record`. Ctrl-C
    (KeyboardInterrupt) ends it cleanly: the run is marked interrupted and its metrics saved."""
    limits = Limits(call_timeout=7 * 24 * 3600.0, budget=7 * 24 * 3600.0, threads=threads)
    try:
        with (deferred_ctrl_c(), Submission(directory, limits) as submission,
              submission.session(run.practice, warm=True) as session):
            session.run(loop, *arguments(session.module), **options, on_progress=on_record)
    except KeyboardInterrupt:
        run.interrupted = True
        run.save_metrics()
    return run


def _judged(summary: dict) -> str:
    """How the epoch's samples were judged, for its line: the share recognised as the digit asked
    for (a conditional GAN), or the classifier score and distance (an unconditional one)."""
    if summary.get("judge_accuracy") is not None:
        return f"  recognised {summary['judge_accuracy']:.0%}"
    if summary.get("score") is not None:
        return f"  score {summary['score']:.2f}  distance {summary['distance']:.1f}"
    return ""


def _gan_done(run: GanRun) -> str:
    last = run.history[-1]
    if last.get("judge_accuracy") is not None:
        judged = f"the digit classifier recognised {last['judge_accuracy']:.0%} of the samples as the digit asked for; "
    elif last.get("score") is not None:
        judged = (f"classifier score {last['score']:.2f} (at most 10), Fréchet distance to held-out digits "
                  f"{last['distance']:.1f}; ")
    else:
        judged = ""
    return f"{judged}samples (samples.png), curves, metrics and checkpoint in {run.folder}"


# What a GAN run on digits prints (`grader.training.run_command.drive`).
GAN_LINES = RunLines(
    start=lambda run, options, steps: [
        f"data: {run.data_source}", f"judge: {run.judge_note}",
        f"device: {options.device}; {run.epochs} epochs, {steps:,} steps; writing to {run.folder}"],
    step=lambda step: f"loss D {step['loss_d']:.3f} G {step['loss_g']:.3f}",
    epoch=lambda summary: (f"loss D {summary['loss_d']:.3f}  G {summary['loss_g']:.3f}  D(x) {summary['d_real']:.2f}  "
                           f"D(G(z)) {summary['d_fake']:.2f}{_judged(summary)}  "
                           f"({summary['images_per_second']:.0f} images/s)"),
    done=_gan_done,
    preparing="preparing the digit classifier that judges the samples (trained once, about 30 s, then cached)")
