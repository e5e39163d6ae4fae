"""Where the dcgan convergence bars come from: the reference trained on several seeds, and the
samples the bars must reject, all judged as `grader/practices/dcgan/judging.py` judges.

    python benchmarks/dcgan_convergence.py                # the CPU plan, seeds 0-4
    python benchmarks/dcgan_convergence.py --seeds 0 1 --steps 600

Each seed trains the reference `Generator` and `Discriminator` with its `train_step` under the
grader's loop (`grader.operations.gan_loop.train_gan`), in this process with one torch thread
(as a sandbox worker runs), then prints the classifier score and the Fréchet distance of its
samples, the time, their nearest distances to the known digits (`grader.judging.copies`, the
check dcgan.10 runs before judging), and the same numbers for held-out real digits, noise, one
digit, one image and the untrained generator. Numbers and the machine's state go into
benchmarks/README.md ("Convergence checks: sizing and bars").
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from grader.practices.dcgan import judging
from grader.judging.digit_judge import judge_for_grading
from grader.testing import reference
from grader.torch_threads import one_torch_thread
from grader.training import pictures
from grader.judging.copies import find_copies
from grader.operations.gan_loop import train_gan
from grader.judging.sample_quality import judge_pixels


def recipe(args: argparse.Namespace) -> dict:
    settings = {**judging.RECIPE, "lr": args.lr, "lr_d": args.lr}
    settings["generator_kwargs"] = {**settings["generator_kwargs"], "ngf": args.width}
    settings["discriminator_kwargs"] = {**settings["discriminator_kwargs"], "ndf": args.width}
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=judging.PLAN["cpu"]["steps"])
    parser.add_argument("--lr", type=float, default=judging.RECIPE["lr"])
    parser.add_argument("--width", type=int, default=judging.RECIPE["generator_kwargs"]["ngf"],
                        help="ngf = ndf")
    parser.add_argument("--grid", help="write each seed's first 100 samples to GRID-<seed>.png")
    args = parser.parse_args()
    dcgan = reference("dcgan")
    judge = judge_for_grading()
    held_out = judging.held_out_features(judge)
    for name, samples in judging.impostors(judge).items():
        quality = judging.quality(judge, samples, held_out)
        print(f"{name:>26}: score {quality['score']:.2f}  distance {quality['distance']:.1f}")
    for seed in args.seeds:
        started = time.perf_counter()
        with one_torch_thread():
            record = train_gan(dcgan.Generator, dcgan.Discriminator, dcgan.train_step,
                               judging.training_images(), judging.sample_noise(seed),
                               max_steps=args.steps, epochs=10**6, seed=seed, every_epoch=False,
                               progress=lambda _: None, **recipe(args))
        quality = judging.quality(judge, record["samples"], held_out)
        print(f"seed {seed}: {record['steps']} steps in {time.perf_counter() - started:.0f} s: "
              f"score {quality['score']:.2f}  distance {quality['distance']:.1f}", flush=True)
        data = judging.mnist()
        copies = find_copies(judge_pixels(record["samples"]), [data.train_images, data.test_images])
        print(f"    nearest train or held-out digit (RMS, [0, 1]): min {copies.to_known.min():.3f}  "
              f"median {copies.to_known.median():.3f}; nearest other sample: min {copies.to_samples.min():.4f}; "
              f"flagged at the default thresholds {copies.share:.1%}", flush=True)
        if args.grid:
            pictures.sample_grid(judge_pixels(record["samples"][:100]), Path(f"{args.grid}-{seed}.png"),
                                 title=f"seed {seed}", ylabel=None)


if __name__ == "__main__":
    main()
