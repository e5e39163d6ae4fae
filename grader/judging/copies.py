"""Copied samples: is a generated image a real image the grader knows, disguised or not, or a
repeat of another sample?

A convergence check that asks a trusted classifier "is this a 7?" is fooled by samples that are
real 7s (student code sees the training digits in every train_step). The convergence checks draw
their samples from the trained weights in the grader's own model (`grader.judging.transplant`),
so stored images cannot simply be returned; this check is the second line: before samples are
judged, each is compared with every image of every data set the grader knows (train and
held-out), here in the trusted process, by a distance that sees through simple disguises:

    smooth(x)      = x blurred by a Gaussian of sigma 1 pixel (noise a forger adds is averaged away),
                     then stretched onto [0, 1] by its own darkest and brightest value
    standard(w)    = (w - mean(w)) / (std(w) + 0.1)    (brightness and contrast do not matter)
    d(a, b)        = min over b' in {b, b flipped left-right}, over shifts (dy, dx) in [-2, 2]^2, of
                     RMS(standard(inner(smooth(a))) - standard(inner_dy,dx(smooth(b'))))

where inner(.) is the image without a 5-pixel border (the shift and the blur's reach) and
inner_dy,dx(.) the same window moved by (dy, dx). The known images closest to each sample are
found first in a coarse space (each image moved so the centroid of its bright part is at the
centre, blurred by sigma 1.5, at most 32 x 32, standardised): the 2 x `CANDIDATES` nearest among
the known images and their mirror images are then measured exactly. A sample with d under
`threshold` is a copy; a sample closer than `duplicate_threshold` (plain RMS, float64) to another
sample is a repeat (a stored picture drawn again). More than `MAX_COPIED` of either fails.

The API, for any practice's convergence test (one line):

    from grader.judging.copies import assert_no_copies
    assert_no_copies(samples, [data.train_images, data.test_images], what="your 1,000 samples")

    samples   float (N, C, H, W) in [0, 1] (or uint8 0-255); images in [-1, 1] (a tanh output) are
              passed as (x + 1) / 2
    known     a list of image tensors (M, C, H, W), uint8 0-255 or float in [0, 1]; any sizes M
    threshold the distance d to a known image (default COPY_THRESHOLD, measured on MNIST digits);
              duplicate_threshold to another sample (default 1e-5); the share of samples
              allowed to be either is MAX_COPIED (1%)

`find_copies(samples, known)` returns the evidence (`Copies`) without judging. For a translation
model, pass the generated outputs and the translation targets the grader knows. Another data set states its
own threshold, measured the same way (`benchmarks/copy_threshold.py`).

Threshold (MNIST digits), measured with `benchmarks/copy_threshold.py` (the numbers:
benchmarks/README.md, "Copies and latent walks"): 0.055 sits below the closest pair of distinct
real digits (so a generator as good as the data is not flagged) and a factor of 1.7 below the
reference cGAN's and DCGAN's closest sample over seeds 0-4; more than 1% flagged fails, so every
shifted or flipped forgery with Gaussian noise up to std 0.12 fails (a heavier disguise is a
new, worse picture, left to the judge). The contrast floor (0.1) keeps noise on a thin digit
from being magnified by the division. Edge maps have their own threshold, stated by the
convergence check of the practice that draws them.

Repeats among samples: the reference cGAN draws nearly the same picture for a label whatever the
noise, so only a picture returned again (distance under 1e-5, measured in float64) counts as a
repeat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

COPY_THRESHOLD = 0.055  # the distance d of the module docstring, MNIST digits; measured: benchmarks/README.md
DUPLICATE_THRESHOLD = 1e-5  # between samples: only a picture returned again (see the module docstring)
MAX_COPIED = 0.01  # share of samples that may be copies or duplicates (chance coincidences)
_CHUNK_BYTES = 64 * 2**20
SHIFT = 2  # pixels a copy may be moved by, in each direction
CANDIDATES = 8  # twice as many nearest known images (originals and mirror images) are measured exactly
CONTRAST_FLOOR = 0.1  # added to an image's standard deviation before dividing by it
BLUR_RADIUS = 3  # pixels the blur of sigma 1 reaches (`blur` uses ceil(2.5 sigma))


def flat(images: torch.Tensor) -> torch.Tensor:
    """(N, ...) images as float32 (N, D) in [0, 1]; uint8 is divided by 255."""
    return as_unit(images).reshape(len(images), -1)


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


def as_unit(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) images as float32 in [0, 1] on the CPU; uint8 is divided by 255."""
    images = images.detach().cpu()
    return images.float() / 255.0 if images.dtype == torch.uint8 else images.float()


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """(N, C, H, W) blurred channel by channel by a Gaussian of `sigma` pixels (edges repeated)."""
    radius = max(1, math.ceil(2.5 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()  # (2r + 1,)
    channels = images.shape[1]
    rows = kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)  # (C, 1, 2r + 1, 1)
    padded = F.pad(images, (radius,) * 4, mode="replicate")
    return F.conv2d(F.conv2d(padded, rows, groups=channels), rows.transpose(2, 3), groups=channels)


def standardised(rows: torch.Tensor, floor: float = 1e-3) -> torch.Tensor:
    """Each row (..., D) minus its mean, divided by its standard deviation plus `floor` (a blank image
    stays 0; a larger floor keeps the noise on a faint image from being magnified)."""
    centred = rows - rows.mean(-1, keepdim=True)
    return centred / (centred.pow(2).mean(-1, keepdim=True).sqrt() + floor)


def stretched(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) each mapped linearly onto [0, 1] by its own darkest and brightest value (a faded
    or brightened copy is its original again; after smoothing, noise barely moves either end)."""
    low = images.flatten(1).amin(1).view(-1, 1, 1, 1)
    high = images.flatten(1).amax(1).view(-1, 1, 1, 1)
    return (images - low) / (high - low + 1e-3)


def centred(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) each moved, by a sub-pixel shift (bilinear), so that the centroid of its bright
    part is at the centre.

    The bright part is what lies above 30% of the way from the image's darkest to its brightest
    value, so a faint noisy background does not pull the centroid."""
    flat_images = images.mean(1).flatten(1)  # (N, H * W)
    low, high = flat_images.min(1, keepdim=True).values, flat_images.max(1, keepdim=True).values
    weights = (flat_images - (low + 0.3 * (high - low))).clamp_min(0).view(len(images), *images.shape[-2:])
    mass = weights.sum((1, 2)).clamp_min(1e-6)  # (N,)
    height, width = images.shape[-2:]
    rows = (weights.sum(2) * torch.arange(height)).sum(1) / mass  # (N,)
    columns = (weights.sum(1) * torch.arange(width)).sum(1) / mass
    theta = torch.zeros(len(images), 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2] = (columns - (width - 1) / 2) * 2 / width  # grid units: the image spans [-1, 1]
    theta[:, 1, 2] = (rows - (height - 1) / 2) * 2 / height
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def coarse(images: torch.Tensor) -> torch.Tensor:
    """(N, D') the search space for candidates: centred, blurred (sigma 1.5), shrunk to at most
    32 x 32, standardised with the contrast floor (so noise on a faint image stays small)."""
    factor = max(1, images.shape[-1] // 32)
    return standardised(F.avg_pool2d(blur(centred(images), 1.5), factor).flatten(1), CONTRAST_FLOOR)


def nearest_indices(samples: torch.Tensor, known: torch.Tensor, k: int, chunk: int = 256) -> torch.Tensor:
    """(N, k) indices of the k rows of `known` (M, D) nearest each row of `samples` (N, D)."""
    k = min(k, len(known))
    known_norms = (known * known).sum(1)  # (M,)
    found = [(known_norms - 2 * samples[start:start + chunk] @ known.T).topk(k, dim=1, largest=False).indices
             for start in range(0, len(samples), chunk)]
    return torch.cat(found)


def disguised_distances(samples: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """(N,) the distance d of the module docstring from each sample (N, C, H, W) to its nearest image of
    `known` (M, C, H, W), over shifts of up to SHIFT pixels and left-right flips."""
    smooth_samples, smooth_known = stretched(blur(as_unit(samples), 1.0)), stretched(blur(as_unit(known), 1.0))
    bank = torch.cat([smooth_known, smooth_known.flip(-1)])  # (2M, C, H, W): the flips too
    chosen = nearest_indices(coarse(smooth_samples), coarse(bank), 2 * CANDIDATES)  # (N, K)
    height, width = samples.shape[-2:]
    margin = SHIFT + BLUR_RADIUS  # the sample's border, where blurring saw beyond its edge, is left out
    inner = standardised(smooth_samples[..., margin:height - margin, margin:width - margin].flatten(1),
                         CONTRAST_FLOOR)  # (N, D)
    best = torch.full((len(samples),), float("inf"))
    for start in range(0, len(samples), 128):
        candidates = bank[chosen[start:start + 128]]  # (n, K, C, H, W)
        mine = inner[start:start + 128].unsqueeze(1)  # (n, 1, D)
        for dy in range(-SHIFT, SHIFT + 1):
            for dx in range(-SHIFT, SHIFT + 1):
                window = candidates[..., margin + dy:height - margin + dy, margin + dx:width - margin + dx]
                distance = (mine - standardised(window.flatten(2), CONTRAST_FLOOR)).pow(2).mean(-1).sqrt()  # (n, K)
                best[start:start + 128] = torch.minimum(best[start:start + 128], distance.min(1).values)
    return best


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
    """Distances of `samples` (N, C, H, W) to the images of every set in `known` (d, disguises seen
    through) and to each other (plain RMS)."""
    flat_samples = flat(samples)
    for images in known:
        if tuple(images.shape[1:]) != tuple(samples.shape[1:]):
            raise ValueError(f"known images of shape {tuple(images.shape[1:])} cannot be compared with samples of "
                             f"shape {tuple(samples.shape[1:])}")
    to_known = disguised_distances(samples, torch.cat([as_unit(images) for images in known])) if known else \
        torch.full((len(flat_samples),), float("inf"))
    as_double = flat_samples.double()  # float32 rounding alone puts a repeat ~1e-4 from itself
    to_samples = nearest_distances(as_double, as_double, exclude_self=True).float()
    return Copies(to_known, to_samples, threshold, duplicate_threshold)


def assert_no_copies(samples: torch.Tensor, known: list[torch.Tensor], *, what: str = "your samples",
                     threshold: float = COPY_THRESHOLD, duplicate_threshold: float = DUPLICATE_THRESHOLD,
                     hint: str = "the generator must make its images from the noise and the label, not return or "
                                 "store training images.") -> Copies:
    """Fail the test (GradingFailure, with `hint`) if more than `MAX_COPIED` of `samples` copy a known
    image or each other; return the evidence otherwise."""
    from grader.testing import fail

    copies = find_copies(samples, known, threshold=threshold, duplicate_threshold=duplicate_threshold)
    if copies.share > MAX_COPIED:
        copied, duplicated = int(copies.copied.sum()), int(copies.duplicated.sum())
        fail(f"{what}: {copied} of {len(copies.to_known)} are copies of real images the grader knows, perhaps "
             f"shifted, flipped, brightened or noised (distance under {threshold:g} to the nearest one, the closest at "
             f"{float(copies.to_known.min()):.3f}) and {duplicated} repeat another sample (distance under "
             f"{duplicate_threshold:g}); a "
             f"generator must draw new images, so these samples earn no points (at most {MAX_COPIED:.0%} may be "
             f"that close by chance).", hint)
    return copies
