"""Copied samples earn nothing: `grader.training.copies` flags real digits (lightly noised) and
repeats, and lets new images through.

The threshold (RMS 0.07 on [0, 1] pixels) is set from the reference cGAN's samples, whose nearest
known digit is at 0.087 or more on seeds 0-4 (benchmarks/copy_threshold.py), against
real digits with noise of std 0.05 (at most 0.042 from their original).
"""

from __future__ import annotations

import pytest
import torch

from grader import paths
from grader.check import run_suites
from grader.data import load_mnist
from grader.testing import GradingFailure
from grader.training.copies import COPY_THRESHOLD, assert_no_copies, find_copies, nearest_distances


@pytest.fixture(scope="module")
def data():
    return load_mnist(embedded=True)


def known(data):
    return [data.train_images, data.test_images]


def noised(images: torch.Tensor, std: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    real = images.float() / 255  # (N, 1, 28, 28)
    return (real + std * torch.randn(real.shape, generator=generator)).clamp(0, 1)


def test_nearest_distances_match_a_direct_computation():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.rand(7, 12, generator=generator), torch.rand(30, 12, generator=generator)
    direct = ((a[:, None] - b[None]) ** 2).mean(-1).min(1).values.sqrt()
    assert torch.allclose(nearest_distances(a, b), direct, atol=1e-5)
    self_direct = ((a[:, None] - a[None]) ** 2).mean(-1) + torch.eye(7) * 1e9
    assert torch.allclose(nearest_distances(a, a, exclude_self=True), self_direct.min(1).values.sqrt(), atol=1e-5)


@pytest.mark.parametrize("split", ["train", "held-out"])
def test_real_digits_with_slight_noise_are_copies(data, split):
    images = (data.train_images if split == "train" else data.test_images)[:200]
    copies = find_copies(noised(images, 0.05, seed=1), known(data))
    assert bool(copies.copied.all())
    with pytest.raises(GradingFailure, match="copies of real images"):
        assert_no_copies(noised(images, 0.05, seed=1), known(data), what="your samples")


def test_a_stored_picture_drawn_again_is_a_duplicate(data):
    new = 0.5 * (data.train_images[:50].float() + data.train_images[50:100].float()) / 255  # blends: new pictures
    repeated = torch.cat([new, new[:10]])
    copies = find_copies(repeated, known(data))
    assert int(copies.duplicated.sum()) == 20 and not bool(copies.copied.any())


def test_new_pictures_are_not_copies(data):
    """Blends of two different digits of the same class are digit-like but not any known digit."""
    labels = data.train_labels
    firsts, seconds = [], []
    for digit in range(10):
        index = torch.nonzero(labels == digit).flatten()
        firsts.append(index[:20])
        seconds.append(index[20:40])
    first, second = torch.cat(firsts), torch.cat(seconds)
    blends = (data.train_images[first].float() + data.train_images[second].float()) / 2 / 255
    copies = find_copies(blends, known(data))
    assert copies.share <= 0.01 and float(copies.to_known.median()) > COPY_THRESHOLD
    assert_no_copies(blends, known(data))


def test_the_grader_refuses_images_of_another_shape(data):
    with pytest.raises(ValueError, match="cannot be compared"):
        find_copies(torch.rand(3, 3, 32, 32), known(data))


COPYING_GENERATOR = '''

class Generator(nn.Module):
    """Draws the last real digit of each class that train_step saw: a copy, not a generator."""

    def __init__(self, nz: int = NZ):
        super().__init__()
        self.unused = nn.Linear(1, 1)
        self.register_buffer("bank", torch.zeros(CLASSES, 1, 28, 28))

    def forward(self, z, labels):
        return self.bank[labels] + 0 * self.unused.weight.sum()


def train_step(G, D, opt_g, opt_d, images, labels, z):
    with torch.no_grad():
        G.bank[labels] = images
    return {"loss_d": 1.0, "loss_g": 1.0, "d_real": 0.5, "d_fake": 0.5}
'''


def test_a_generator_that_returns_real_digits_earns_no_convergence_points(tmp_path):
    (tmp_path / "cgan.py").write_text((paths.SOLUTIONS_DIR / "cgan.py").read_text() + COPYING_GENERATOR)
    report = run_suites(tmp_path, ["cgan"], device="cpu", tasks=["cgan.8"])
    (test,) = [t for p in report.practices for task in p.tasks for t in task.tests]
    assert test.status == "failed" and test.earned == 0
    assert "1000 of 1000 are copies of real images" in test.message
