"""Where the copy thresholds and the latent-walk bars come from: the reference's samples against
copies in disguise and a lookup table.

For each practice (cgan, dcgan, pix2pix) and seed, the reference is trained in this process,
with one torch thread as in a worker, by the grader's own loop with the convergence test's
recipe and CPU plan; its trained generator is kept under `--cache` (so measuring again costs no
training). Then, as the convergence tests do it, in the grader's own model:

- the distance d of `grader.judging.copies` from each sample to the nearest known image
  (embedded MNIST train and held-out; for pix2pix the training edge maps): min, 1% and median;
- for cgan and dcgan, the largest step of `grader.judging.latent_walk`.

Then the forgeries: real digits shifted by up to 2 pixels, flipped, and noised (Gaussian noise of
std 0.06, 0.12 and 0.2 in [0, 1], clamped), with the share of them the copy check flags; and a
lookup-table generator (the nearest of 4,000 stored noise vectors picks a training digit) walked
the same way.

    .venv/bin/python benchmarks/copy_threshold.py [--seeds 0 1 2 3 4] [--practices cgan dcgan pix2pix]

The numbers are written into the docstrings of `grader/judging/copies.py`, of the three
convergence tests and into `benchmarks/README.md`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from grader.data import load_mnist
from grader.practices.cgan import test_convergence as cgan_check
from grader.practices.dcgan import judging as dcgan_check
from grader.practices.pix2pix import test_convergence as pix2pix_check
from grader.practices.pix2pix.loop import loop_settings
from grader.testing import reference
from grader.torch_threads import one_torch_thread
from grader.judging import latent_walk
from grader.judging.copies import COPY_THRESHOLD, disguised_distances, find_copies
from grader.operations.gan_loop import samples_of, train_gan
from grader.judging.sample_quality import judge_pixels


def quiet(_):
    return None


def trained_generator(practice: str, seed: int, cache: Path) -> torch.nn.Module:
    """The reference generator after the CPU plan of `practice`'s convergence test, trained once."""
    module = reference(practice)
    path = cache / f"{practice}-{seed}.pt"
    if practice == "cgan":
        make = module.Generator
    elif practice == "dcgan":
        make = lambda: module.Generator(**dcgan_check.RECIPE["generator_kwargs"])  # noqa: E731
    else:
        make = lambda: module.UNetGenerator(**pix2pix_check.plan_for("cpu")[2])  # noqa: E731
    if not path.exists():
        started = time.perf_counter()
        with one_torch_thread():
            if practice == "cgan":
                data = cgan_check.mnist()
                labels, noise = cgan_check.sample_inputs(seed)
                record = train_gan(module.Generator, module.Discriminator, module.train_step, data.train_images,
                                   noise, train_labels=data.train_labels, sample_labels=labels, nz=100,
                                   epochs=10**6, max_steps=cgan_check.PLAN["cpu"]["steps"], seed=seed,
                                   every_epoch=False, send_weights=True, send_samples=False, progress=quiet,
                                   **cgan_check.RECIPE)
            elif practice == "dcgan":
                record = train_gan(module.Generator, module.Discriminator, module.train_step,
                                   dcgan_check.training_images(), dcgan_check.sample_noise(seed), epochs=10**6,
                                   max_steps=dcgan_check.PLAN["cpu"]["steps"], seed=seed, every_epoch=False,
                                   send_weights=True, send_samples=False, progress=quiet, **dcgan_check.RECIPE)
            else:
                recipe, pairs, generator, discriminator = pix2pix_check.plan_for("cpu")
                record = train_gan(module.UNetGenerator, module.PatchDiscriminator, module.train_step,
                                   pairs.train_inputs, pairs.held_out_inputs, train_targets=pairs.train_targets,
                                   **loop_settings(generator, discriminator, lr=recipe["lr"], beta1=recipe["beta1"]),
                                   epochs=10**6, max_steps=recipe["steps"], batch_size=recipe["batch_size"],
                                   seed=seed, every_epoch=False, send_weights=True, send_samples=False,
                                   progress=quiet)
        cache.mkdir(parents=True, exist_ok=True)
        torch.save(record["generator"], path)
        print(f"  trained {practice} seed {seed} in {time.perf_counter() - started:.0f} s", flush=True)
    generator = make()
    generator.load_state_dict(torch.load(path, weights_only=True))
    return generator.eval()


def spread(values: torch.Tensor) -> str:
    q = torch.quantile(values.float(), torch.tensor([0.0, 0.01, 0.5]))
    return f"min {q[0]:.3f}, 1% {q[1]:.3f}, median {q[2]:.3f}"


def measure(practice: str, seed: int, cache: Path) -> None:
    generator = trained_generator(practice, seed, cache)
    data = load_mnist(embedded=True)
    if practice == "pix2pix":
        pairs = pix2pix_check.embedded_pairs()
        inputs = pairs.held_out_inputs.float() / 127.5 - 1
        outputs = (samples_of(generator, inputs, None, "cpu", 16) + 1) / 2
        copies = find_copies(outputs, [pairs.train_targets])
        print(f"pix2pix seed {seed}: to training targets {spread(copies.to_known)}", flush=True)
        return
    if practice == "cgan":
        labels, noise = cgan_check.sample_inputs(seed)
        samples = samples_of(generator, noise, labels, "cpu")
        pixel_range = (0.0, 1.0)
    else:
        labels, samples = None, judge_pixels(samples_of(generator, dcgan_check.sample_noise(seed), None, "cpu"))
        pixel_range = (-1.0, 1.0)
    copies = find_copies(samples, [data.train_images, data.test_images])
    step = latent_walk.largest_step(lambda z, y: samples_of(generator, z, y, "cpu"), 100, seed,
                                    conditional=practice == "cgan", pixel_range=pixel_range)
    print(f"{practice} seed {seed}: to known {spread(copies.to_known)}; flagged {copies.share:.1%}; "
          f"largest latent step {step:.3f}", flush=True)


def forgeries() -> None:
    data = load_mnist(embedded=True)
    generator = torch.Generator().manual_seed(0)
    real = data.train_images[:1000].float() / 255  # (1000, 1, 28, 28)
    moves = torch.randint(-2, 3, (len(real), 2), generator=generator)
    shifted = torch.stack([torch.roll(image, (int(dy), int(dx)), dims=(-2, -1)) for image, (dy, dx) in zip(real, moves)])
    for name, fake in (("shifted", shifted), ("shifted, flipped", shifted.flip(-1))):
        for std in (0.0, 0.06, 0.12, 0.2):
            noised = (fake + std * torch.randn(fake.shape, generator=generator)).clamp(0, 1)
            distances = disguised_distances(noised, torch.cat([data.train_images, data.test_images]))
            print(f"real digits {name}, noise {std:g}: {spread(distances)}; flagged at {COPY_THRESHOLD:g}: "
                  f"{(distances < COPY_THRESHOLD).float().mean():.1%}", flush=True)
    distinct = disguised_distances(data.test_images, data.train_images)
    print(f"held-out digits to the nearest training digit (no copies): {spread(distinct)}")
    stored_noise = torch.randn(4000, 100, generator=generator)

    def lookup(z: torch.Tensor, _labels) -> torch.Tensor:
        return data.train_images[torch.cdist(z, stored_noise).argmin(1)].float() / 255

    step = latent_walk.largest_step(lookup, 100, 0, conditional=False, pixel_range=(0.0, 1.0))
    print(f"lookup table of 4,000 training digits: largest latent step {step:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--practices", nargs="+", default=["cgan", "dcgan", "pix2pix"])
    parser.add_argument("--cache", type=Path, default=Path(".cache/copy_threshold"),
                        help="where trained generators are kept between runs")
    parser.add_argument("--no-forgeries", action="store_true")
    args = parser.parse_args()
    if not args.no_forgeries:
        forgeries()
    for practice in args.practices:
        for seed in args.seeds:
            measure(practice, seed, args.cache)


if __name__ == "__main__":
    main()
