"""What the runs of generative adversarial practices share: per-step statistics, both models'
checkpoint, the terminal's lines.

A GAN practice's plan (`grader.training.driver.Plan`) decides its data, its recipe, how its
samples are judged and drawn; with these parts:

- `epoch_stats`: an epoch record of the grader's GAN loop (`grader.operations.gan_loop`) turned
  into the common part of the epoch's summary (mean statistics, time, speed), its per-step
  statistics kept in the run for the curves;
- `both_models`: what the checkpoint holds, {"generator": state_dict, "discriminator": state_dict};
- `gan_lines`: what a GAN run prints, with the practice's words about how its samples were judged.
"""

from __future__ import annotations

from typing import Any, Callable

from grader.training.driver import Run
from grader.training.entry import RunLines


def epoch_stats(run: Run, record: dict[str, Any], batch_size: int) -> dict[str, Any]:
    """Keep an epoch's per-step statistics in `run.steps`; returns the summary's common part:
    {"epoch", "steps", the mean of each statistic (loss_d, loss_g, d_real, d_fake, or those the
    practice's loop streams), "seconds", "images_per_second"}."""
    stats = record["stats"]
    for key in stats:
        run.steps.setdefault(key, []).extend(stats[key])
    return {"epoch": record["epoch"], "steps": record["steps"],
            **{key: sum(values) / max(1, len(values)) for key, values in stats.items()},
            "seconds": round(record["seconds"], 2),
            "images_per_second": round(record["steps"] * batch_size / max(record["seconds"], 1e-9), 1)}


def both_models(record: dict[str, Any]) -> dict[str, dict]:
    """An epoch record's checkpoint: {"generator": state_dict, "discriminator": state_dict}."""
    return {"generator": record["generator"], "discriminator": record["discriminator"]}


def gan_lines(*, judged: Callable[[dict], str], verdict: Callable[[dict], str],
              preparing: str | None = None) -> RunLines:
    """What a GAN run prints (`grader.training.run_command.drive`): its data, its judge, its size;
    the losses per step; per epoch the losses, D(x), D(G(z)), `judged(summary)` (how the epoch's
    samples were judged, "" where they were not) and the speed; at the end `verdict(last summary)`
    ("" likewise) and where the run is. `preparing` is printed first (a judge being made)."""
    return RunLines(
        start=lambda run, options, steps: [
            f"data: {run.data_source}", f"judge: {run.judge_note}",
            f"device: {options.device}; {run.epochs} epochs, {steps:,} steps; writing to {run.folder}"],
        step=lambda step: f"loss D {step['loss_d']:.3f} G {step['loss_g']:.3f}",
        epoch=lambda summary: (f"loss D {summary['loss_d']:.3f}  G {summary['loss_g']:.3f}  D(x) "
                               f"{summary['d_real']:.2f}  D(G(z)) {summary['d_fake']:.2f}{judged(summary)}  "
                               f"({summary['images_per_second']:.0f} images/s)"),
        done=lambda run: (f"{verdict(run.history[-1])}samples (samples.png), curves, metrics and checkpoint in "
                          f"{run.folder}"),
        preparing=preparing)
