"""`bootcamp train mnist_cnn`: train a classifier in the sandbox and keep a record of the run.

The student's `MnistCNN` and `train_step` run in a sandbox worker under the grader's loop
(`grader.operations.classifier_loop`), driven like every practice's run by
`grader.training.driver`; each epoch streams back its losses, the held-out logits and the
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

import time
from dataclasses import dataclass
from typing import Any

import torch.nn.functional as F

from grader.data import load_mnist
from grader.training import pictures
from grader.training.driver import Plan, Run
from grader.training.entry import RunLines, TrainOptions, Training

LOOP = "grader.operations.classifier_loop:train_classifier"


@dataclass
class MnistCnnOptions(TrainOptions):
    """The recipe: Adam(lr) with a cosine decay to 0 over the run (`cosine`), each training image
    shifted by up to `augment` pixels."""

    epochs: int = 10
    augment: int = 2
    cosine: bool = True


def prepare(options: MnistCnnOptions) -> Plan:
    """The run on MNIST (full under the data root when present, else the embedded subset), scored
    per epoch against the held-out labels, which never enter the worker."""
    data = load_mnist(options.data_root)
    steps_per_epoch = -(-len(data.train_labels) // options.batch_size)

    def judge(run: Run, record: dict[str, Any]) -> dict[str, Any]:
        logits = record["logits"]  # (N_test, 10)
        seconds = time.perf_counter() - run.started
        return {"epoch": record["epoch"], "loss": sum(record["losses"]) / len(record["losses"]),
                "held_out_loss": F.cross_entropy(logits, data.test_labels).item(),
                "accuracy": (logits.argmax(dim=1) == data.test_labels).float().mean().item(),
                "seconds": round(seconds, 2),
                "images_per_second": round(record["steps"] * options.batch_size / seconds, 1)}

    def draw(run: Run, record: dict[str, Any], summary: dict[str, Any]) -> None:
        predicted = record["logits"].argmax(dim=1)
        pictures.curves(run.history, run.folder / "curves.png", title=f"mnist_cnn: {data.source.split(':')[0]}",
                        series={"loss": "training loss", "held_out_loss": "held-out loss",
                                "accuracy": "held-out accuracy"})
        pictures.confusion_matrix(predicted, data.test_labels, run.folder / "confusion.png")
        pictures.misclassified(data.test_images, predicted, data.test_labels, run.folder / "misclassified.png")

    return Plan(
        data=data.source, epochs=options.epochs, steps=steps_per_epoch * options.epochs, loop=LOOP,
        arguments=lambda student: [student.MnistCNN, student.train_step, data.train_images, data.train_labels,
                                   data.test_images],
        settings=dict(epochs=options.epochs, batch_size=options.batch_size, lr=options.lr, seed=options.seed,
                      device=options.device, augment=options.augment, cosine=options.cosine, send_weights=True),
        judge=judge, draw=draw, checkpoint=lambda record: record["state_dict"])


# What a run prints (`grader.training.run_command.drive`).
LINES = RunLines(
    start=lambda run, options, steps: [f"data: {run.data_source}",
                                       f"device: {options.device}; writing to {run.folder}"],
    step=lambda step: f"loss {step['loss']:.4f}",
    epoch=lambda summary: (f"loss {summary['loss']:.4f}  held-out loss {summary['held_out_loss']:.4f}  accuracy "
                           f"{summary['accuracy']:.2%}  ({summary['images_per_second']:.0f} images/s)"),
    done=lambda run: (f"held-out accuracy {run.history[-1]['accuracy']:.2%}; pictures, metrics and checkpoint in "
                      f"{run.folder}"))

TRAINING = Training(options=MnistCnnOptions, prepare=prepare, lines=LINES)
