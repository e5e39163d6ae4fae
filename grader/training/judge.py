"""The trusted digit classifier that judges generated digits: the reference `mnist_cnn` model.

A conditional GAN is good when its image for digit k looks like a k. The grader asks a classifier
it trusts: the reference solution's `MnistCNN`, trained here, in the trusted process, on the
embedded MNIST subset with the fast `batches` path. Student code never touches it; the samples
the worker generated come back as tensors and are classified here.

Training takes about half a minute on a CPU, so it is done once and cached as a state_dict:

    $BOOTCAMP_CACHE/judge-mnist_cnn-<key>.pt      (default ~/.cache/bootcamp/)

The key is a hash of solutions/mnist_cnn.py, the training data (its source and pixels) and the
recipe below, so changing any of them trains a new judge. The file is written atomically and
loaded with `torch.load(weights_only=True)`.

    classifier = judge()                            # MnistCNN in eval mode, on the CPU
    accuracy = judge_accuracy(classifier, samples, labels)   # samples (N, 1, 28, 28) in [0, 1]
    probabilities, features = judge_features(classifier, samples)   # (N, 10), (N, 128)
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path

import torch

from grader import paths
from grader.data import batches, load_mnist
from grader.torch_threads import one_torch_thread
from grader.training.loop import MNIST_MEAN, MNIST_STD, shift

CACHE_ENV = "BOOTCAMP_CACHE"
RECIPE = {"epochs": 8, "batch_size": 64, "lr": 2e-3, "augment": 2, "cosine": True, "seed": 0, "format": 1}
MIN_HELD_OUT_ACCURACY = 0.95  # a judge below this is a broken judge, never used to grade


class JudgeError(RuntimeError):
    """The judge cannot be built (no reference solution, or it trained badly)."""


def cache_dir() -> Path:
    """`$BOOTCAMP_CACHE`, else `~/.cache/bootcamp`."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "bootcamp")


def _reference_module():
    from grader.testing import reference

    if not (paths.SOLUTIONS_DIR / "mnist_cnn.py").is_file():
        raise JudgeError(f"the digit judge needs the reference classifier {paths.SOLUTIONS_DIR / 'mnist_cnn.py'}, "
                         "which is not there")
    return reference("mnist_cnn")


def cache_key() -> str:
    data = load_mnist(embedded=True)
    digest = hashlib.sha256()
    digest.update((paths.SOLUTIONS_DIR / "mnist_cnn.py").read_bytes())
    digest.update(repr(sorted(RECIPE.items())).encode())
    digest.update(data.source.encode())
    digest.update(data.train_images.numpy().tobytes())
    digest.update(data.train_labels.numpy().tobytes())
    return digest.hexdigest()[:20]


def _train(module) -> tuple[dict[str, torch.Tensor], float]:
    """Train the reference MnistCNN on the embedded train split; its state and held-out accuracy.

    The caller runs it with one torch thread: on a shared CPU, torch's thread pool makes these
    small steps several times slower.
    """
    data = load_mnist(embedded=True)
    torch.manual_seed(RECIPE["seed"])
    model = module.MnistCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"])
    loader = batches(data.train_images, data.train_labels, RECIPE["batch_size"], mean=MNIST_MEAN, std=MNIST_STD,
                     generator=torch.Generator().manual_seed(RECIPE["seed"]))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, RECIPE["epochs"] * len(loader))
    shifts = torch.Generator().manual_seed(RECIPE["seed"] + 1)
    for _ in range(RECIPE["epochs"]):
        for images, labels in loader:
            module.train_step(model, optimizer, shift(images, RECIPE["augment"], shifts), labels)
            schedule.step()
    model.eval()
    held_out = (data.test_images.float() / 255 - MNIST_MEAN[0]) / MNIST_STD[0]
    with torch.no_grad():
        accuracy = (model(held_out).argmax(dim=1) == data.test_labels).float().mean().item()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, accuracy


def _read(path: Path, key: str) -> dict | None:
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # missing, half-written or foreign: train again
        return None
    if not isinstance(stored, dict) or stored.get("key") != key or not isinstance(stored.get("state_dict"), dict):
        return None
    return stored


def _write(path: Path, stored: dict) -> None:
    """Temporary file, then rename; a cache folder that cannot be written is no error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(handle)
        try:
            torch.save(stored, temporary)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        pass


@functools.lru_cache(maxsize=1)
def judge() -> torch.nn.Module:
    """The reference MnistCNN, trained on the embedded MNIST subset (cached), in eval mode on the CPU."""
    module = _reference_module()
    key = cache_key()
    path = cache_dir() / f"judge-mnist_cnn-{key}.pt"
    stored = _read(path, key)
    if stored is None:
        with one_torch_thread():
            state, accuracy = _train(module)
        stored = {"key": key, "state_dict": state, "held_out_accuracy": accuracy}
        _write(path, stored)
    if stored["held_out_accuracy"] < MIN_HELD_OUT_ACCURACY:
        raise JudgeError(f"the digit judge recognises only {stored['held_out_accuracy']:.1%} of held-out digits "
                         f"(at least {MIN_HELD_OUT_ACCURACY:.0%} expected); delete {path} to train it again")
    model = module.MnistCNN()
    model.load_state_dict(stored["state_dict"])
    model.eval()
    return model


def judge_predictions(classifier: torch.nn.Module, samples: torch.Tensor, *, batch_size: int = 1000) -> torch.Tensor:
    """(N,) digits the classifier sees in `samples` (N, 1, 28, 28), float pixels in [0, 1]."""
    predictions = []
    with torch.no_grad():
        for start in range(0, len(samples), batch_size):
            chunk = samples[start:start + batch_size].float().cpu()
            predictions.append(classifier((chunk - MNIST_MEAN[0]) / MNIST_STD[0]).argmax(dim=1))
    return torch.cat(predictions) if predictions else torch.zeros(0, dtype=torch.int64)


def judge_accuracy(classifier: torch.nn.Module, samples: torch.Tensor, labels: torch.Tensor) -> dict:
    """{"accuracy": share of samples recognised as their label, "per_digit": [10 shares],
    "predictions": (N,)}; samples (N, 1, 28, 28) in [0, 1], labels (N,) int64."""
    predicted = judge_predictions(classifier, samples)
    right = (predicted == labels).float()
    per_digit = [right[labels == k].mean().item() if bool((labels == k).any()) else float("nan") for k in range(10)]
    return {"accuracy": right.mean().item(), "per_digit": per_digit, "predictions": predicted}


def judge_features(classifier: torch.nn.Module, samples: torch.Tensor, *, batch_size: int = 1000,
                   normalise: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The classifier's view of `samples` (N, 1, 28, 28), float pixels in [0, 1]: its probabilities
    p(y|x) (N, 10) and its penultimate features (N, F), the input of its last linear layer (for the
    reference MnistCNN, the 128 ReLU units before the output layer), both float64. Pixels are
    normalised with MNIST's mean and std unless `normalise` is False (a classifier of other images
    that takes [0, 1] as it is)."""
    last = [m for m in classifier.modules() if isinstance(m, torch.nn.Linear)][-1]
    seen: list[torch.Tensor] = []
    hook = last.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].detach()))
    probabilities = []
    try:
        with torch.no_grad():
            for start in range(0, len(samples), batch_size):
                chunk = samples[start:start + batch_size].float().cpu()
                chunk = (chunk - MNIST_MEAN[0]) / MNIST_STD[0] if normalise else chunk
                probabilities.append(classifier(chunk).softmax(dim=1).double())
    finally:
        hook.remove()
    if not probabilities:
        return torch.zeros(0, 10, dtype=torch.float64), torch.zeros(0, last.in_features, dtype=torch.float64)
    return torch.cat(probabilities), torch.cat(seen).flatten(1).double()
