"""Where to put the copy threshold of `grader.training.copies`: the reference's samples vs. copies.

For each seed, the reference cGAN is trained in this process by the grader's own loop with the
convergence test's recipe and plan (`grader.suites.cgan.test_convergence`), and its 1,000
samples' RMS distances to the nearest known digit (embedded MNIST, train and held-out) and to the
nearest other sample are summarised. Then "generators" that return real digits (train and
held-out) with Gaussian noise or a one-pixel shift are measured the same way.

    .venv/bin/python benchmarks/copy_threshold.py [seeds...]     # default: 0 1 2 3 4

The numbers are written into the docstring of `grader/training/copies.py`.
"""

from __future__ import annotations

import sys

import torch

from grader.data import load_mnist
from grader.suites.cgan.test_convergence import PLAN, RECIPE, sample_inputs
from grader.testing import reference
from grader.torch_threads import one_torch_thread
from grader.training.copies import find_copies
from grader.training.gan import train_cgan


def summary(name: str, values: torch.Tensor) -> str:
    q = torch.quantile(values, torch.tensor([0.0, 0.01, 0.5]))
    return f"{name}: min {q[0]:.3f}, 1% {q[1]:.3f}, median {q[2]:.3f}"


def main(seeds: list[int]) -> None:
    data = load_mnist(embedded=True)
    known = [data.train_images, data.test_images]
    cgan = reference("cgan")
    for seed in seeds:
        labels, noise = sample_inputs(seed)
        with one_torch_thread():
            record = train_cgan(cgan.Generator, cgan.Discriminator, cgan.train_step, data.train_images,
                                data.train_labels, labels, noise, epochs=10**6, max_steps=PLAN["cpu"]["steps"],
                                seed=seed, every_epoch=False, progress=lambda _: None, **RECIPE)
        copies = find_copies(record["samples"], known)
        print(f"reference seed {seed}: {summary('to known', copies.to_known)}; "
              f"{summary('to other samples', copies.to_samples)}; flagged {copies.share:.1%}", flush=True)
    generator = torch.Generator().manual_seed(0)
    for name, images in (("train", data.train_images[:1000]), ("held-out", data.test_images[:1000])):
        real = images.float() / 255
        noisy = (real + 0.05 * torch.randn(real.shape, generator=generator)).clamp(0, 1)
        shifted = torch.roll(real, 1, dims=3)
        for kind, fake in (("noise 0.05", noisy), ("shift 1 px", shifted)):
            copies = find_copies(fake, known)
            print(f"real {name} digits, {kind}: {summary('to known', copies.to_known)}; flagged {copies.share:.1%}")


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or [0, 1, 2, 3, 4])
