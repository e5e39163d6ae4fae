"""Where the convergence bars of cgan.8 and dcgan.10 come from, with the grader's own digit judge.

The judge (`grader.judging.digit_judge.DigitJudge`) is trained once (or loaded from the cache); its
held-out accuracy is printed. Then the reference generators that `benchmarks/copy_threshold.py`
trained with each convergence test's CPU plan (seeds 0-4, kept under `--cache`; trained there
first if missing) draw what the tests draw, in the grader's own model, and the judge scores it:

- cgan: the share of the 1,000 samples recognised as the digit asked for, and how many digits
  are recognised in at least half their samples; and the same generator asked for a 0 every
  time but judged against the labels of the test (a generator that ignores the label);
- dcgan: the classifier score and the Fréchet distance to the held-out digits; and the samples
  the bars must reject (`grader.practices.dcgan.judging.impostors`: real digits, noise, one digit,
  one image, the untrained generator).

    .venv/bin/python benchmarks/digit_judge.py [--seeds 0 1 2 3 4] [--cache .cache/copy_threshold]

The numbers are written into the docstrings of the two convergence tests and `benchmarks/README.md`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from copy_threshold import trained_generator
from grader.practices.cgan import test_convergence as cgan_check
from grader.practices.dcgan import judging as dcgan_check
from grader.operations.gan_loop import samples_of
from grader.judging.digit_judge import judge, judge_accuracy, stored_judge


def recognised(verdict: dict) -> str:
    digits = sum(rate >= cgan_check.DIGIT_BAR for rate in verdict["per_digit"])
    worst = min(verdict["per_digit"])
    return (f"{verdict['accuracy']:.1%} recognised, {digits} digits at {cgan_check.DIGIT_BAR:.0%}, "
            f"worst digit {worst:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--cache", type=Path, default=Path(".cache/copy_threshold"))
    args = parser.parse_args()
    path, stored = stored_judge()
    print(f"judge {path.name}: held-out accuracy {stored['held_out_accuracy']:.2%}", flush=True)
    classifier = judge()
    for seed in args.seeds:
        generator = trained_generator("cgan", seed, args.cache)
        labels, noise = cgan_check.sample_inputs(seed)
        asked = recognised(judge_accuracy(classifier, samples_of(generator, noise, labels, "cpu"), labels))
        zeros = samples_of(generator, noise, torch.zeros_like(labels), "cpu")
        ignored = recognised(judge_accuracy(classifier, zeros, labels))
        print(f"cgan seed {seed}: {asked}; label ignored (always 0): {ignored}", flush=True)
    held_out = dcgan_check.held_out_features(classifier)
    for seed in args.seeds:
        generator = trained_generator("dcgan", seed, args.cache)
        verdict = dcgan_check.quality(classifier, dcgan_check.draw(generator, dcgan_check.sample_noise(seed)), held_out)
        print(f"dcgan seed {seed}: score {verdict['score']:.2f}, distance {verdict['distance']:.1f}", flush=True)
    for name, samples in dcgan_check.impostors(classifier).items():
        verdict = dcgan_check.quality(classifier, samples, held_out)
        print(f"dcgan {name}: score {verdict['score']:.2f}, distance {verdict['distance']:.1f}", flush=True)


if __name__ == "__main__":
    main()
