"""The trusted CIFAR-10 classifier that judges colour samples (a convergence check on a GPU run).

The digit judge (`grader.judging.digit_judge`) knows MNIST only. For samples of a generator trained on
CIFAR-10 the grader trains, in the trusted process and on the run's device, a small classifier
of its own (`CifarJudge`: three CONV-BN-ReLU-pool stages, a 256-unit hidden layer, 10 logits) on
the CIFAR-10 training set, and caches it like the digit judge:

    $BOOTCAMP_CACHE/judge-cifar10-<key>.pt      key: hash of the recipe and the training pixels

Its penultimate features (the 256 hidden units) give the Fréchet distance and its probabilities
the classifier score, as for digits (`grader.judging.sample_quality`). A judge that recognises
under 60% of the test set is refused.
"""

from __future__ import annotations

import functools
import hashlib

import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.data import batches, load_cifar10
from grader.judging.digit_judge import JudgeError, _read, _write, cache_dir

RECIPE = {"epochs": 6, "batch_size": 128, "lr": 2e-3, "seed": 0, "format": 1}
MIN_TEST_ACCURACY = 0.60


class CifarJudge(nn.Module):
    """(B, 3, 32, 32) in [0, 1] -> (B, 10) logits; the input of `out` is its feature vector."""

    def __init__(self) -> None:
        super().__init__()
        stages = []
        for cin, cout in ((3, 64), (64, 128), (128, 256)):
            stages += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                       nn.MaxPool2d(2)]
        self.stages = nn.Sequential(*stages)  # (B, 256, 4, 4)
        self.hidden = nn.Linear(256 * 16, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.hidden(self.stages(x * 2 - 1).flatten(1))))


def _key(images: torch.Tensor) -> str:
    digest = hashlib.sha256(repr(sorted(RECIPE.items())).encode())
    digest.update(images.numpy().tobytes())
    return digest.hexdigest()[:20]


@functools.lru_cache(maxsize=1)
def cifar_judge(root: str | None = None, device: str = "cuda") -> nn.Module:
    """The CIFAR-10 judge in eval mode on the CPU, trained on `device` (cached). DataError when
    CIFAR-10 is missing; JudgeError when the trained judge is too weak."""
    data = load_cifar10(root)
    key = _key(data.train_images)
    path = cache_dir() / f"judge-cifar10-{key}.pt"
    stored = _read(path, key)
    if stored is None:
        torch.manual_seed(RECIPE["seed"])
        model = CifarJudge().to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"])
        loader = batches(data.train_images, data.train_labels, RECIPE["batch_size"], device=device,
                         generator=torch.Generator().manual_seed(RECIPE["seed"]))
        for _ in range(RECIPE["epochs"]):
            for images, labels in loader:
                flip = torch.rand(len(images), 1, 1, 1, device=device) < 0.5
                images = torch.where(flip, images.flip(3), images)
                optimizer.zero_grad()
                F.cross_entropy(model(images), labels).backward()
                optimizer.step()
        model.eval()
        with torch.no_grad():
            test = data.test_images.to(device).float() / 255
            accuracy = (model(test).argmax(1).cpu() == data.test_labels).float().mean().item()
        stored = {"key": key, "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
                  "held_out_accuracy": accuracy}
        _write(path, stored)
    if stored["held_out_accuracy"] < MIN_TEST_ACCURACY:
        raise JudgeError(f"the CIFAR-10 judge recognises only {stored['held_out_accuracy']:.1%} of the test set; "
                         f"delete {path} to train it again")
    model = CifarJudge()
    model.load_state_dict(stored["state_dict"])
    return model.eval()
