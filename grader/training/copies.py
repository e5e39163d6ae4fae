"""Copied samples: is a generated image a real image the grader knows, or a repeat of another sample?

A convergence check that asks a trusted classifier "is this a 7?" is fooled by a "generator"
that returns real 7s (it sees the training digits in every train_step). So before samples are
judged, each is compared with every image of every data set the grader knows (train and
held-out), here in the trusted process:

    distance(a, b) = sqrt(mean over pixels of (a - b)^2)        # RMS difference, images in [0, 1]

computed for all pairs at once as ||a||^2 + ||b||^2 - 2 a.b (a batched matmul on flattened
images, chunked so no chunk holds more than about 64 MiB). A sample closer than `threshold` to a
known image is a copy; a sample closer than `duplicate_threshold` to another sample is a repeat
(a stored picture drawn again). More than `max_copied` of either fails the check.

The API, for any practice's convergence test (one line):

    from grader.training.copies import assert_no_copies
    assert_no_copies(samples, [data.train_images, data.test_images], what="your 1,000 samples")

    samples   float (N, C, H, W) in [0, 1] (or uint8 0-255), as the worker returned them;
              images in [-1, 1] (a tanh output) are passed as (x + 1) / 2
    known     a list of image tensors (M, C, H, W), uint8 0-255 or float in [0, 1]; any sizes M
    threshold RMS distance to a known image (default COPY_THRESHOLD, 0.07); duplicate_threshold
              to another sample (default 1e-5); max_copied the share of samples allowed to be
              either (default 1%)

It raises the suites' `GradingFailure` with a message that says how many samples copy, how
close, and the rule. `find_copies(samples, known)` returns the evidence (`Copies`) without
judging. For pix2pix, pass the generated outputs and the translation targets the grader knows
(a translation that is a lookup of the training targets is a copy). The default threshold was
measured on MNIST digits (below); another data set should state its own, measured the same way.

Threshold, measured on the CPU with `benchmarks/copy_threshold.py` (embedded MNIST, 4,000 train +
1,000 held-out digits; a loaded 2-core machine): the reference cGAN trained by the convergence
test's recipe (1,200 steps), 1,000 samples per seed. Nearest known digit, smallest over the
samples: 0.099, 0.118, 0.101, 0.105, 0.087 on seeds 0-4 (medians 0.19-0.20). Real digits, train or
held-out, with Gaussian noise of std 0.05: 0.032-0.042 from their original, all flagged; with
std 0.1: 0.065-0.083, about 11% flagged; shifted by one pixel: 0.05-0.25, about 1-11% flagged
(a shifted or heavily noised digit is, by this measure, a new picture: the check catches copies,
not every disguise). Distinct real digits: 1% of held-out digits lie within 0.061 of a training
digit. The threshold 0.07 sits 0.017 below the reference's closest sample on those seeds.

Repeats among samples: the reference cGAN draws nearly the same picture for a label whatever the
noise (median distance to the nearest other sample 0.009-0.014, the closest pairs under 0.001),
so only a picture returned again (distance under 1e-5, measured in float64) counts as a repeat.
With both thresholds, no sample of seed 2 (the seed with the closest pairs) is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

COPY_THRESHOLD = 0.07  # RMS pixel distance, images in [0, 1]; see the module docstring
DUPLICATE_THRESHOLD = 1e-5  # between samples: only a picture returned again (see the module docstring)
MAX_COPIED = 0.01  # share of samples that may be copies or duplicates (chance coincidences)
_CHUNK_BYTES = 64 * 2**20


def flat(images: torch.Tensor) -> torch.Tensor:
    """(N, ...) images as float32 (N, D) in [0, 1]; uint8 is divided by 255."""
    images = images.detach().cpu()
    scaled = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    return scaled.reshape(len(scaled), -1)


def nearest_distances(samples: torch.Tensor, known: torch.Tensor, *, exclude_self: bool = False) -> torch.Tensor:
    """(N,) RMS distance of each sample (N, D) to its nearest row of `known` (M, D).

    `exclude_self`: `known` is `samples`, and a sample's distance to itself does not count.
    """
    n, dims = samples.shape
    best = torch.full((n,), float("inf"), dtype=samples.dtype)
    if len(known) == 0 or n == 0:
        return best
    sample_norms = (samples * samples).sum(1, keepdim=True)  # (N, 1)
    chunk = max(1, _CHUNK_BYTES // (samples.element_size() * max(dims, n)))
    for start in range(0, len(known), chunk):
        block = known[start:start + chunk]  # (m, D)
        squared = sample_norms + (block * block).sum(1) - 2 * samples @ block.T  # (N, m)
        if exclude_self:
            rows = torch.arange(start, start + len(block))
            squared[rows, rows - start] = float("inf")
        best = torch.minimum(best, squared.clamp_min(0).min(1).values)
    return (best / dims).sqrt()


@dataclass
class Copies:
    """The evidence: each sample's distance to the nearest known image and to the nearest other sample."""

    to_known: torch.Tensor  # (N,)
    to_samples: torch.Tensor  # (N,)
    threshold: float
    duplicate_threshold: float = DUPLICATE_THRESHOLD

    @property
    def copied(self) -> torch.Tensor:
        return self.to_known < self.threshold  # (N,) bool

    @property
    def duplicated(self) -> torch.Tensor:
        return self.to_samples < self.duplicate_threshold  # (N,) bool

    @property
    def share(self) -> float:
        """Share of samples that are copies or near-duplicates."""
        return float((self.copied | self.duplicated).float().mean()) if len(self.to_known) else 0.0


def find_copies(samples: torch.Tensor, known: list[torch.Tensor], *, threshold: float = COPY_THRESHOLD,
                duplicate_threshold: float = DUPLICATE_THRESHOLD) -> Copies:
    """Distances of `samples` (N, C, H, W) to the images of every set in `known` and to each other."""
    flat_samples = flat(samples)
    to_known = torch.full((len(flat_samples),), float("inf"))
    for images in known:
        if tuple(images.shape[1:]) != tuple(samples.shape[1:]):
            raise ValueError(f"known images of shape {tuple(images.shape[1:])} cannot be compared with samples of "
                             f"shape {tuple(samples.shape[1:])}")
        to_known = torch.minimum(to_known, nearest_distances(flat_samples, flat(images)))
    as_double = flat_samples.double()  # float32 rounding alone puts a repeat ~1e-4 from itself
    to_samples = nearest_distances(as_double, as_double, exclude_self=True).float()
    return Copies(to_known, to_samples, threshold, duplicate_threshold)


def assert_no_copies(samples: torch.Tensor, known: list[torch.Tensor], *, what: str = "your samples",
                     threshold: float = COPY_THRESHOLD, duplicate_threshold: float = DUPLICATE_THRESHOLD,
                     max_copied: float = MAX_COPIED,
                     hint: str = "the generator must make its images from the noise and the label, not return or "
                                 "store training images.") -> Copies:
    """Fail the test (GradingFailure, with `hint`) if more than `max_copied` of `samples` copy a known
    image or each other; return the evidence otherwise."""
    from grader.testing import fail

    copies = find_copies(samples, known, threshold=threshold, duplicate_threshold=duplicate_threshold)
    if copies.share > max_copied:
        copied, duplicated = int(copies.copied.sum()), int(copies.duplicated.sum())
        fail(f"{what}: {copied} of {len(copies.to_known)} are copies of real images the grader knows (RMS pixel "
             f"distance under {threshold:g} to the nearest one, the closest at "
             f"{float(copies.to_known.min()):.3f}) and {duplicated} repeat another sample (distance under "
             f"{duplicate_threshold:g}); a "
             f"generator must draw new images, so these samples earn no points (at most {max_copied:.0%} may be "
             f"that close by chance).", hint)
    return copies
