"""`bootcamp train mnist_cnn`: train a classifier in the sandbox and keep a record of the run.

The student's `MnistCNN` and `train_step` run in a sandbox worker under the grader's loop
(`grader.operations.classifier_loop`); each epoch streams back its losses, the held-out logits and the
weights. Here, in the trusted process, each epoch is scored against the held-out labels and the
run folder is brought up to date, so a run stopped by Ctrl-C keeps everything up to its last
finished epoch:

    runs/mnist_cnn/<timestamp>/
        metrics.json        options, data used, one record per epoch
        curves.png          training loss, held-out loss and accuracy per epoch
        confusion.png       held-out confusion matrix (last epoch)
        misclassified.png   held-out digits the model got wrong (last epoch)
        checkpoint.pt       the model's state_dict (last epoch), for torch.load(weights_only=True)
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch.nn.functional as F

from grader import paths
from grader.data import load_mnist
from grader.atomic import write_atomically
from grader.sandbox import Limits, Submission
from grader.sandbox.ctrl_c import deferred_ctrl_c
from grader.training import pictures
from grader.training.entry import RunLines, Training
from grader.training.runs import new_run_folder, save_checkpoint

LOOP = "grader.operations.classifier_loop:train_classifier"


@dataclass
class TrainOptions:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    device: str = "cpu"
    threads: int = 0
    data_root: str | None = None
    augment: int = 2
    cosine: bool = True


@dataclass
class Run:
    """A training run's folder and what it has recorded so far."""

    folder: Path
    options: TrainOptions
    data_source: str
    submission: str
    history: list[dict] = field(default_factory=list)
    interrupted: bool = False

    @property
    def epochs(self) -> int:
        return self.options.epochs

    def save_metrics(self) -> None:
        record = {"practice": "mnist_cnn", "submission": self.submission, "data": self.data_source,
                  "options": asdict(self.options), "interrupted": self.interrupted, "epochs": self.history}
        write_atomically(self.folder / "metrics.json", json.dumps(record, indent=2) + "\n")


def train_mnist_cnn(directory: Path, options: TrainOptions, *, out: Path = paths.RUNS_DIR,
                    on_start: Callable[[Run, int], None] = lambda run, steps: None,
                    on_step: Callable[[dict], None] = lambda step: None,
                    on_epoch: Callable[[dict], None] = lambda epoch: None) -> Run:
    """Train the `MnistCNN` of `directory` with its `train_step`; returns the finished `Run`.

    `on_start(run, total_steps)` is called once, `on_step` with {"step", "epoch", "loss"} every
    few steps, `on_epoch` with each epoch's record. Ctrl-C (KeyboardInterrupt) ends the run
    cleanly: the returned run has `interrupted` set and keeps every finished epoch.
    """
    data = load_mnist(options.data_root)
    run = Run(new_run_folder(out, "mnist_cnn"), options, data.source, str(directory))
    steps_per_epoch = -(-len(data.train_labels) // options.batch_size)
    on_start(run, steps_per_epoch * options.epochs)
    run.save_metrics()
    started = time.perf_counter()
    limits = Limits(call_timeout=7 * 24 * 3600.0, budget=7 * 24 * 3600.0, threads=options.threads)

    def epoch_done(record: dict[str, Any]) -> None:
        if "logits" not in record:
            on_step(record)
            return
        logits = record["logits"]  # (N_test, 10)
        predicted = logits.argmax(dim=1)
        seconds = time.perf_counter() - started
        summary = {"epoch": record["epoch"], "loss": sum(record["losses"]) / len(record["losses"]),
                   "held_out_loss": F.cross_entropy(logits, data.test_labels).item(),
                   "accuracy": (predicted == data.test_labels).float().mean().item(),
                   "seconds": round(seconds, 2),
                   "images_per_second": round(record["steps"] * options.batch_size / seconds, 1)}
        run.history.append(summary)
        save_checkpoint(record["state_dict"], run.folder / "checkpoint.pt")
        pictures.curves(run.history, run.folder / "curves.png", title=f"mnist_cnn: {data.source.split(':')[0]}",
                        series={"loss": "training loss", "held_out_loss": "held-out loss",
                                "accuracy": "held-out accuracy"})
        pictures.confusion_matrix(predicted, data.test_labels, run.folder / "confusion.png")
        pictures.misclassified(data.test_images, predicted, data.test_labels, run.folder / "misclassified.png")
        run.save_metrics()  # last: an epoch in metrics.json has its checkpoint and pictures
        on_epoch(summary)

    try:
        with (deferred_ctrl_c(), Submission(directory, limits) as submission,
              submission.session("mnist_cnn") as session):
            student = session.module
            session.run(LOOP, student.MnistCNN, student.train_step, data.train_images, data.train_labels,
                        data.test_images, epochs=options.epochs, batch_size=options.batch_size, lr=options.lr,
                        seed=options.seed, device=options.device, augment=options.augment, cosine=options.cosine,
                        send_weights=True, on_progress=epoch_done)
    except KeyboardInterrupt:
        run.interrupted = True
        run.save_metrics()
    return run


# What a run prints (`grader.training.run_command.drive`).
LINES = RunLines(
    start=lambda run, options, steps: [f"data: {run.data_source}",
                                       f"device: {options.device}; writing to {run.folder}"],
    step=lambda step: f"loss {step['loss']:.4f}",
    epoch=lambda summary: (f"loss {summary['loss']:.4f}  held-out loss {summary['held_out_loss']:.4f}  accuracy "
                           f"{summary['accuracy']:.2%}  ({summary['images_per_second']:.0f} images/s)"),
    done=lambda run: (f"held-out accuracy {run.history[-1]['accuracy']:.2%}; pictures, metrics and checkpoint in "
                      f"{run.folder}"))

TRAINING = Training(run=train_mnist_cnn, options=TrainOptions, lines=LINES)
