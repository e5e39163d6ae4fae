"""What mnist_cnn.6 keeps of the graded run for the student (`grader.attachments`): the training
loss per step, the confusion matrix of the held-out digits, the misclassified held-out digits, and
the judge's number (held-out accuracy) beside the bar and the reference's.

The misclassified digits are shown with the digit the student's model called them, never with
their true label: the held-out labels stay in the grader, as data per image, here as in the
worker (which never sees them). A person reads the true digit off the picture, which is what
the picture is for; the confusion matrix gives counts per (true, predicted) pair only, which say
which digits get confused and tie no label to any image. (Where a column of the matrix has a
single count off the diagonal, a reader may infer what the digits shown under that prediction
are: what reading them tells as well. The embedded held-out digits are public MNIST, shipped with
the installed package, so nothing here is a secret the verdict rests on.) The digits are shown
by the digit the model called them, in a fixed random order within each (`shown_order`), since the
held-out set's own order is by true label.
"""

from __future__ import annotations

import torch

from grader.attachments import Measure, attach_measure, attach_picture, collecting
from grader.training import pictures

# The reference (solutions/mnist_cnn.py) on the CPU plan, per seed, on the embedded set.
REFERENCE = {"cpu": {0: 0.974, 1: 0.969}}  # measured through `bootcamp check --path solutions`
STEP_PANELS = (({"loss": "training loss"}, "cross-entropy"),)


def shown_order(predicted: torch.Tensor) -> torch.Tensor:
    """Indices of the held-out digits by the digit the model called them, in a fixed random order
    within each: the held-out set's own order (the embedded one is sorted by true label) says
    nothing about a shown digit's label."""
    shuffled = torch.randperm(len(predicted), generator=torch.Generator().manual_seed(0))
    return shuffled[torch.argsort(predicted[shuffled], stable=True)]


def attach(record: dict, logits: torch.Tensor, images: torch.Tensor, labels: torch.Tensor, plan: dict,
           device: str, seed: int) -> None:
    """`record`: the training loop's last record; `logits` (N, 10) the grader's model computed for the
    held-out `images` (N, 1, 28, 28) uint8, whose `labels` (N,) never leave this process."""
    if not collecting():
        return
    suffix, tag = ("", "") if seed == 0 else (f" (seed {seed})", f"-seed{seed}")
    predicted = logits.argmax(dim=1)
    losses = [float(x) for x in record.get("step_losses") or record.get("losses") or []]
    attach_picture(f"curves{tag}", f"your train_step's training loss, step by step, over {record.get('steps', 0):,} steps",
                   pictures.gan_curves, {"loss": losses}, [], title=f"mnist_cnn.6{suffix}: your train_step",
                   per_epoch={}, per_step=STEP_PANELS)
    attach_picture(f"confusion{tag}", "held-out digits: how many of each digit (row) your model called each digit (column)",
                   pictures.confusion_matrix, predicted, labels)
    order = shown_order(predicted)
    attach_picture(f"misclassified{tag}", "held-out digits your model got wrong, each with the digit it called it",
                   pictures.misclassified, images[order], predicted[order], labels[order], true_labels=False)
    accuracy = (predicted == labels).float().mean().item()
    reference = REFERENCE.get("cpu" if not device.startswith("cuda") else "cuda", {}).get(seed)
    attach_measure(Measure(f"held-out accuracy{suffix}", accuracy, plan["bar"], True, reference, ".1%"))
