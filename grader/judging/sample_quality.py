"""How good unconditional samples are, in the eyes of the trusted digit classifier.

An unconditional generator is asked for no particular digit, so "recognised as the digit asked
for" (a conditional one's measure) does not apply. Two standard measures, both computed with the judge
(`grader.judging.digit_judge`) in the trusted process:

- classifier score (the Inception Score of Salimans et al., 2016, with the digit judge as the
  classifier): exp(E_x KL(p(y|x) || p(y))), p(y) the mean of p(y|x) over the samples. It is
  high (at most 10) when each sample is clearly one digit and the digits are evenly spread; 1
  for noise the judge is unsure about, and 1 for a generator that draws only one digit.
- Fréchet distance (the FID of Heusel et al., 2017, in the judge's penultimate features):
  ||mu_s - mu_r||^2 + tr(S_s + S_r - 2 (S_s^1/2 S_r S_s^1/2)^1/2) between Gaussians fitted to
  the features of the samples and of held-out real digits. 0 for the same distribution; it grows
  when samples look unlike digits and when they lack the real digits' variety (one image
  repeated has no spread at all).

The practices train on MNIST padded to 32 x 32 (`pad_digits`); samples are cropped back to
28 x 28 and mapped to [0, 1] before judging (`judge_pixels`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.judging.digit_judge import judge_features

PAD = 2  # 28 + 2 * 2 = 32


def pad_digits(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) -> uint8 (N, 1, 32, 32), a black frame 2 pixels wide."""
    return F.pad(images, (PAD, PAD, PAD, PAD), value=0)


def judge_pixels(samples: torch.Tensor, pixel_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
    """Samples (N, 1, 32, 32) with values in `pixel_range` -> (N, 1, 28, 28) in [0, 1], the centre the
    digits were padded around; 28 x 28 samples are only rescaled."""
    low, high = pixel_range
    images = samples.float()
    if images.shape[-1] == 28 + 2 * PAD:
        images = images[..., PAD:-PAD, PAD:-PAD]
    return ((images - low) / (high - low)).clamp(0, 1)


def classifier_score(probabilities: torch.Tensor) -> float:
    """exp(mean_i KL(p(y|x_i) || p(y))) for probabilities (N, classes); p(y) = their mean."""
    p = probabilities.double().clamp_min(1e-12)
    marginal = p.mean(dim=0, keepdim=True)  # (1, classes)
    return torch.exp((p * (p.log() - marginal.log())).sum(dim=1).mean()).item()


def _sqrtm_psd(matrix: torch.Tensor) -> torch.Tensor:
    """The square root of a symmetric positive semi-definite matrix, by its eigen-decomposition."""
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(features: torch.Tensor, reference: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to features (N, F) and reference features (M, F).

    ||mu_1 - mu_2||^2 + tr(S_1) + tr(S_2) - 2 tr((S_1^1/2 S_2 S_1^1/2)^1/2), in float64; the
    middle root is of a symmetric matrix, so it is exact up to rounding (no scipy.linalg.sqrtm).
    """
    x, y = features.double(), reference.double()
    mean_x, mean_y = x.mean(dim=0), y.mean(dim=0)
    cov_x, cov_y = torch.cov(x.T), torch.cov(y.T)  # (F, F)
    root_x = _sqrtm_psd(cov_x)
    cross = _sqrtm_psd(root_x @ cov_y @ root_x)
    value = (mean_x - mean_y).square().sum() + cov_x.trace() + cov_y.trace() - 2 * cross.trace()
    return max(0.0, value.item())


def sample_quality(classifier: torch.nn.Module, samples: torch.Tensor, reference_features: torch.Tensor, *,
                   pixel_range: tuple[float, float] = (-1.0, 1.0), digits: bool = True) -> dict[str, float]:
    """{"score": classifier score, "distance": Fréchet distance to `reference_features`} of samples
    (N, 1, 32 or 28, ...) with values in `pixel_range`, for the digit judge; with `digits` False, of
    samples (N, C, H, W) for a classifier that takes [0, 1] pixels as they are (the CIFAR-10 judge).
    Non-finite samples get score 1 and distance inf."""
    if not bool(torch.isfinite(samples).all()):
        return {"score": 1.0, "distance": float("inf")}
    if digits:
        probabilities, features = judge_features(classifier, judge_pixels(samples, pixel_range))
    else:
        low, high = pixel_range
        probabilities, features = judge_features(classifier, ((samples.float() - low) / (high - low)).clamp(0, 1),
                                                 normalise=False)
    return {"score": classifier_score(probabilities), "distance": frechet_distance(features, reference_features)}


def reference_features(classifier: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The judge's features (M, F) of real uint8 digits (M, 1, 28, 28)."""
    return judge_features(classifier, images.float() / 255)[1]
