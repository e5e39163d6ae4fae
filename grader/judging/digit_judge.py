"""The trusted digit classifier that judges generated digits: a small CNN of the grader's own.

A conditional GAN is good when its image for digit k looks like a k. The grader asks a classifier
it trusts: `DigitJudge`, an architecture defined here and no practice's answer (5 x 5
convolutions without batch norm, other widths than the classifier students write, dropout before
its last layer), trained in the trusted process on the embedded MNIST subset with the fast
`batches` path. Student code never touches it; the samples the worker generated come back as tensors and
are classified here. Its weights reveal nothing a student is asked to write.

Where its weights come from, first found first:

1. shipped: `grader/judging/digit_judge.pt` with `digit_judge.pt.sha256` beside it, written by
   the edition builders (`bootcamp release --student` / `--gradescope`, see `shipped_files`);
   loaded only when the file's sha256 equals the recorded one and its key equals `cache_key()`,
   so every student and the Gradescope zip judge with the same weights;
2. cached: `$BOOTCAMP_CACHE/judge-digits-<key>.pt` (default ~/.cache/bootcamp/);
3. trained here on first use (about half a minute on a CPU, one thread), then cached.

The key is a hash of `DigitJudge`'s source, the training data (its source and pixels) and the
recipe below, so changing any of them trains a new judge. Files are written atomically and
loaded with `torch.load(weights_only=True)`.

    classifier = judge()                            # DigitJudge in eval mode, on the CPU
    accuracy = judge_accuracy(classifier, samples, labels)   # samples (N, 1, 28, 28) in [0, 1]
    probabilities, features = judge_features(classifier, samples)   # (N, 10), (N, 96)
"""

from __future__ import annotations

import functools
import hashlib
import io
import inspect
import os
import tempfile
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.data import MNIST_MEAN, MNIST_STD, batches, load_mnist, shift
from grader.paths import CACHE_ENV, cache_dir  # noqa: F401 (CACHE_ENV: the tests point it elsewhere)
from grader.torch_threads import one_torch_thread

RECIPE = {"epochs": 8, "batch_size": 64, "lr": 1e-3, "augment": 2, "cosine": True, "seed": 0, "format": 2}
MIN_HELD_OUT_ACCURACY = 0.95  # a judge below this is a broken judge, never used to grade
# What a training run judged by it prints first (`grader.training.entry.RunLines.preparing`).
PREPARING = "preparing the digit classifier that judges the samples (trained once, about 30 s, then cached)"
SHIPPED = Path(__file__).resolve().parent / "digit_judge.pt"  # written into an edition, never committed
SHIPPED_SUM = SHIPPED.with_name(SHIPPED.name + ".sha256")


class JudgeError(RuntimeError):
    """The judge cannot be built (it trained badly, or shipped weights are corrupt)."""


class DigitJudge(nn.Module):
    """The grader's digit classifier: (B, 1, 28, 28) normalised digits -> (B, 10) logits.

    Conv2d(1, 24, 5, padding=2), ReLU, MaxPool2d(2)      # (B, 24, 14, 14)
    Conv2d(24, 48, 5, padding=2), ReLU, MaxPool2d(2)     # (B, 48, 7, 7)
    flatten, Linear(2352, 96), ReLU, Dropout(0.3)        # (B, 96): the features of `judge_features`
    Linear(96, 10)                                       # (B, 10)
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 24, 5, padding=2)
        self.conv2 = nn.Conv2d(24, 48, 5, padding=2)
        self.hidden = nn.Linear(48 * 7 * 7, 96)
        self.dropout = nn.Dropout(0.3)
        self.out = nn.Linear(96, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (B, 24, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (B, 48, 7, 7)
        x = self.dropout(F.relu(self.hidden(x.flatten(1))))  # (B, 96)
        return self.out(x)


def cache_key() -> str:
    data = load_mnist(embedded=True)
    digest = hashlib.sha256()
    digest.update(inspect.getsource(DigitJudge).encode())
    digest.update(repr(sorted(RECIPE.items())).encode())
    digest.update(data.source.encode())
    digest.update(data.train_images.numpy().tobytes())
    digest.update(data.train_labels.numpy().tobytes())
    return digest.hexdigest()[:20]


def _train() -> tuple[dict[str, torch.Tensor], float]:
    """Train a DigitJudge on the embedded train split (cross-entropy, Adam, cosine decay, 2-pixel
    random shifts); its state and held-out accuracy.

    The caller runs it with one torch thread: on a shared CPU, torch's thread pool makes these
    small steps several times slower.
    """
    data = load_mnist(embedded=True)
    torch.manual_seed(RECIPE["seed"])
    model = DigitJudge()
    optimizer = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"])
    loader = batches(data.train_images, data.train_labels, RECIPE["batch_size"], mean=MNIST_MEAN, std=MNIST_STD,
                     generator=torch.Generator().manual_seed(RECIPE["seed"]))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, RECIPE["epochs"] * len(loader))
    shifts = torch.Generator().manual_seed(RECIPE["seed"] + 1)
    model.train()
    for _ in range(RECIPE["epochs"]):
        for images, labels in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(shift(images, RECIPE["augment"], shifts)), labels).backward()
            optimizer.step()
            schedule.step()
    model.eval()
    held_out = (data.test_images.float() / 255 - MNIST_MEAN[0]) / MNIST_STD[0]
    with torch.no_grad():
        accuracy = (model(held_out).argmax(dim=1) == data.test_labels).float().mean().item()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, accuracy


def _read(path: Path | bytes, key: str) -> dict | None:
    """The stored judge in `path` (or those bytes) made for `key`, else None."""
    try:
        source = io.BytesIO(path) if isinstance(path, bytes) else path
        stored = torch.load(source, map_location="cpu", weights_only=True)
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


def _shipped(key: str) -> dict | None:
    """The shipped weights (see the module docstring), None where an edition ships none; JudgeError
    when the file does not match its recorded sha256 or was made for another key."""
    if not SHIPPED.is_file() and not SHIPPED_SUM.is_file():
        return None
    recorded = SHIPPED_SUM.read_text().split()[0] if SHIPPED_SUM.is_file() else ""
    content = SHIPPED.read_bytes() if SHIPPED.is_file() else b""  # read once: the bytes checked are the bytes loaded
    if not content or hashlib.sha256(content).hexdigest() != recorded:
        raise JudgeError(f"the shipped digit judge {SHIPPED} does not match its sha256 in {SHIPPED_SUM.name}: "
                         "reinstall the course, or delete both files to train the judge here")
    stored = _read(content, key)
    if stored is None:
        raise JudgeError(f"the shipped digit judge {SHIPPED} was made for another version of the grader: "
                         "reinstall the course, or delete it and its .sha256 to train the judge here")
    return stored


def stored_judge() -> tuple[Path, dict]:
    """(file, {"key", "state_dict", "held_out_accuracy"}) of the judge: shipped, else cached, else
    trained now and cached."""
    key = cache_key()
    shipped = _shipped(key)
    if shipped is not None:
        return SHIPPED, shipped
    path = cache_dir() / f"judge-digits-{key}.pt"
    stored = _read(path, key)
    if stored is None:
        with one_torch_thread():
            state, accuracy = _train()
        stored = {"key": key, "state_dict": state, "held_out_accuracy": accuracy}
        _write(path, stored)
    return path, stored


@functools.lru_cache(maxsize=1)
def judge() -> torch.nn.Module:
    """The grader's DigitJudge with its trained weights, in eval mode on the CPU."""
    path, stored = stored_judge()
    if stored["held_out_accuracy"] < MIN_HELD_OUT_ACCURACY:
        raise JudgeError(f"the digit judge recognises only {stored['held_out_accuracy']:.1%} of held-out digits "
                         f"(at least {MIN_HELD_OUT_ACCURACY:.0%} expected); delete {path} to train it again")
    model = DigitJudge()
    model.load_state_dict(stored["state_dict"])
    return model.eval()


def shipped_files(prefix: str = "grader/judging") -> dict[str, bytes]:
    """The judge's weights and their sha256, as an edition ships them: {relative path: bytes}. The
    bytes are those of the file `stored_judge` reads (trained and cached first if need be)."""
    path, stored = stored_judge()
    if path.is_file():
        content = path.read_bytes()
    else:  # a cache folder that cannot be written: the weights as torch.save writes them
        buffer = io.BytesIO()
        torch.save(stored, buffer)
        content = buffer.getvalue()
    digest = hashlib.sha256(content).hexdigest()
    return {f"{prefix}/{SHIPPED.name}": content,
            f"{prefix}/{SHIPPED_SUM.name}": f"{digest}  {SHIPPED.name}\n".encode()}


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
    DigitJudge, the 96 ReLU units after dropout), both float64. Pixels are
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


def judge_for_grading() -> nn.Module:
    """The digit judge for a grading test, or the test's failure saying the grader, not the
    student's code, is at fault."""
    from grader.testing import fail

    try:
        return judge()
    except JudgeError as error:
        fail(f"the grader's digit classifier is not available ({error}); this is a problem of the grader, not of "
             "your code.")
