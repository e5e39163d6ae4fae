"""Training throughput of the reference MnistCNN: our loop against a pytorch/examples-style loop.

Same model (the reference `MnistCNN`), same step (the reference `train_step`: zero_grad, forward,
cross-entropy, backward, Adam step), same images (the 5,000 embedded MNIST digits), same batch
size (64), same threads. Three loops, one epoch each, timed after a warm-up epoch:

- examples: `torchvision.datasets.MNIST` + `DataLoader(shuffle=True)` with
  `Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])`, as pytorch/examples/mnist does;
- ours, in-process: `grader.data.batches` over the uint8 tensors (converted once) + train_step;
- ours, sandboxed: the same loop as `bootcamp train` runs it, the `train_classifier` operation in
  a sandbox worker, with its per-epoch evaluation of the held-out digits included.

    python benchmarks/training_throughput.py [--epochs 3] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from data_path import write_torchvision_mnist  # benchmarks/ is the script's folder
from grader import paths
from grader.data import batches, load_mnist
from grader.sandbox import Limits, Submission
from grader.testing import reference

MEAN, STD = (0.1307,), (0.3081,)


def images_per_second(epoch, count: int, repeats: int, device: torch.device) -> list[float]:
    epoch()  # warm-up
    rates = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        epoch()
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(count / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per loop (after one warm-up)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    solution = reference("mnist_cnn")
    mnist = load_mnist(embedded=True)
    images = torch.cat([mnist.train_images, mnist.test_images])  # (5000, 1, 28, 28) uint8
    labels = torch.cat([mnist.train_labels, mnist.test_labels])  # (5000,)
    torch.manual_seed(0)
    model = solution.MnistCNN().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    rates: dict[str, list[float]] = {}

    with tempfile.TemporaryDirectory() as tmp:
        write_torchvision_mnist(Path(tmp), images, labels)
        transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
        loader = DataLoader(datasets.MNIST(tmp, train=True, transform=transform), batch_size=64, shuffle=True,
                            pin_memory=device.type == "cuda")

        def examples_epoch() -> None:
            for x, y in loader:
                solution.train_step(model, optimizer, x.to(device), y.to(device))

        rates["examples (torchvision + DataLoader)"] = images_per_second(examples_epoch, len(labels), args.epochs,
                                                                         device)

    ours = batches(images, labels, 64, device=device, mean=MEAN, std=STD)

    def ours_epoch() -> None:
        for x, y in ours:
            solution.train_step(model, optimizer, x, y)

    rates["ours, in-process (grader.data.batches)"] = images_per_second(ours_epoch, len(labels), args.epochs, device)

    limits = Limits(call_timeout=3600, budget=3600, threads=args.threads)
    with Submission(paths.SOLUTIONS_DIR, limits) as submission, submission.session("mnist_cnn", warm=True) as session:
        seen: list[float] = []

        def on_progress(record: dict) -> None:
            if "logits" in record:
                seen.append(time.perf_counter())

        session.run("grader.operations.classifier_loop:train_classifier", session.module.MnistCNN, session.module.train_step,
                    images, labels, mnist.test_images, epochs=args.epochs + 1, device=str(device),
                    report_every=10**9, on_progress=on_progress)
        epochs = [b - a for a, b in zip(seen, seen[1:])]  # the first epoch is the warm-up
        rates["ours, sandboxed (bootcamp train's loop)"] = [len(labels) / s for s in epochs]

    base = statistics.median(rates["examples (torchvision + DataLoader)"])
    print(f"device {device}, threads {args.threads}, 5,000 images, batch 64, median of {args.epochs} epochs")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:<42} {median:>8.0f} images/s   x{median / base:.2f}")


if __name__ == "__main__":
    main()
