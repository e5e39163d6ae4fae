"""One epoch's data path, ours against torchvision's, on the same MNIST images.

Both paths yield shuffled batches of 64, normalised with MNIST's mean and std, on the device:

- ours: `grader.data.batches` over the uint8 tensors in memory (converted to float once);
- torchvision: `torchvision.datasets.MNIST` + `DataLoader` with the usual
  `Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])`, each batch moved to the device.

The images are the embedded MNIST subset (all 5,000), written as real IDX files into a temporary
`MNIST/raw/` so torchvision's class reads them without downloading (it checks for the extracted
`*-ubyte` files, which is what its own download leaves there). Before timing, the script checks
that both paths produce the same normalised tensors for the same images.

    python benchmarks/data_path.py [--device cuda] [--epochs 5] [--workers 0] [--threads 1]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from grader.data import batches, load_mnist
from grader.data.idx import write_idx_gz

BATCH_SIZE = 64
MEAN, STD = (0.1307,), (0.3081,)


def write_torchvision_mnist(root: Path, images: torch.Tensor, labels: torch.Tensor) -> None:
    """Write `(N, 1, 28, 28)` images and `(N,)` labels as MNIST files in `root/MNIST/raw/`."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, array in (
        ("train-images-idx3-ubyte", images[:, 0].numpy()),
        ("train-labels-idx1-ubyte", labels.to(torch.uint8).numpy()),
    ):
        write_idx_gz(raw / f"{name}.gz", array)  # as published
        (raw / name).write_bytes(gzip.decompress((raw / f"{name}.gz").read_bytes()))  # as extracted
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):  # the class wants all four
        (raw / name).write_bytes((raw / name.replace("t10k", "train")).read_bytes())


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_epochs(make_epoch, epochs: int, device: torch.device) -> float:
    """Seconds per epoch, the median of `epochs` epochs; every batch is touched on the device.

    The median, not the mean, so that one epoch slowed by another process does not decide.
    """
    seconds = []
    for _ in range(epochs):
        sync(device)
        start = time.perf_counter()
        for images, _labels in make_epoch():
            images.sum()  # make sure the batch really exists on the device
        sync(device)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader num_workers")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads [default: torch's]"
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)

    mnist = load_mnist(embedded=True)
    images = torch.cat([mnist.train_images, mnist.test_images])  # (5000, 1, 28, 28) uint8
    labels = torch.cat([mnist.train_labels, mnist.test_labels])  # (5000,)
    n = len(labels)

    with tempfile.TemporaryDirectory() as tmp:
        write_torchvision_mnist(Path(tmp), images, labels)
        transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
        theirs_set = datasets.MNIST(tmp, train=True, download=False, transform=transform)
        pin = device.type == "cuda"
        loader = DataLoader(
            theirs_set,
            batch_size=BATCH_SIZE,
            shuffle=True,
            num_workers=args.workers,
            pin_memory=pin,
        )

        def theirs_epoch():
            for x, y in loader:
                yield x.to(device, non_blocking=pin), y.to(device, non_blocking=pin)

        sync(device)
        start = time.perf_counter()
        ours = batches(images, labels, BATCH_SIZE, device=device, mean=MEAN, std=STD)
        sync(device)
        setup_s = time.perf_counter() - start

        # same images, same normalisation: compare the first 64 images, unshuffled
        first_theirs = next(iter(DataLoader(theirs_set, batch_size=BATCH_SIZE)))[0]
        first_ours = next(
            iter(batches(images, labels, BATCH_SIZE, shuffle=False, mean=MEAN, std=STD))
        )[0]
        torch.testing.assert_close(first_ours, first_theirs)

        time_epochs(lambda: ours, 1, device)  # warm-up (CUDA kernels, allocator)
        time_epochs(theirs_epoch, 1, device)
        ours_s = time_epochs(lambda: ours, args.epochs, device)
        theirs_s = time_epochs(theirs_epoch, args.epochs, device)

    print(
        f"device {device}, {torch.get_num_threads()} torch thread(s), {n:,} MNIST images/epoch, "
        f"batches of {BATCH_SIZE}, median of {args.epochs} epochs"
    )
    rows = (
        ("ours: grader.data.batches", ours_s),
        (f"torchvision MNIST + DataLoader(w={args.workers})", theirs_s),
    )
    for name, seconds in rows:
        print(f"{name:<40} {n / seconds:>12,.0f} images/s  ({seconds * 1e3:8.2f} ms/epoch)")
    first_epoch = theirs_s / (ours_s + setup_s)
    print(
        f"ratio {theirs_s / ours_s:,.1f}x per epoch; {first_epoch:,.1f}x for a first epoch "
        f"including our one-time conversion ({setup_s * 1e3:.2f} ms)"
    )


if __name__ == "__main__":
    main()
