"""Copied samples earn nothing: `grader.judging.copies` flags real digits, shifted, flipped,
faded or noised, and repeats, and lets new images through.

The threshold (0.055 in the distance of `grader.judging.copies`) is set from the reference cGAN's
and DCGAN's samples, whose nearest known digit is at 0.096 or more on seeds 0-4
(benchmarks/copy_threshold.py), and lies below the closest pair of distinct real digits (0.069).
"""

from __future__ import annotations

import pytest
import torch

from grader import paths
from grader.check import run_suites
from grader.data import load_mnist
from grader.testing import GradingFailure
from grader.judging.copies import COPY_THRESHOLD, assert_no_copies, find_copies, nearest_distances


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
    assert copies.share >= 0.99  # a faint, thin digit may sit just above the threshold; the check fails at 1%
    with pytest.raises(GradingFailure, match="copies of real images"):
        assert_no_copies(noised(images, 0.05, seed=1), known(data), what="your samples")


def disguised(images: torch.Tensor, *, std: float, flip: bool, seed: int, fade: float = 1.0) -> torch.Tensor:
    """Real digits (N, 1, 28, 28) each moved by its own shift of up to 2 pixels, perhaps mirrored,
    faded (fade * x + (1 - fade) / 2) and noised: what a forger hands in to pass for new samples."""
    generator = torch.Generator().manual_seed(seed)
    real = images.float() / 255
    moves = torch.randint(-2, 3, (len(real), 2), generator=generator)
    moved = torch.stack([torch.roll(image, (int(dy), int(dx)), dims=(-2, -1)) for image, (dy, dx) in zip(real, moves)])
    moved = moved.flip(-1) if flip else moved
    faded = fade * moved + (1 - fade) / 2
    return (faded + std * torch.randn(moved.shape, generator=generator)).clamp(0, 1)


@pytest.mark.parametrize("flip", [False, True], ids=["shifted", "shifted and flipped"])
@pytest.mark.parametrize("std", [0.0, 0.06, 0.12])
def test_shifted_flipped_and_noised_digits_are_copies(data, flip, std):
    fake = disguised(data.train_images[:300], std=std, flip=flip, seed=2)
    plain = nearest_distances(fake.flatten(1), data.train_images.float().flatten(1) / 255)
    assert float(plain.median()) > COPY_THRESHOLD  # plain RMS would call them new pictures
    copies = find_copies(fake, known(data))
    assert copies.share > {0.0: 0.99, 0.06: 0.5, 0.12: 0.05}[std]  # the check fails above 1%
    with pytest.raises(GradingFailure, match="copies of real images the grader knows, perhaps shifted"):
        assert_no_copies(fake, known(data))


def test_faded_digits_are_copies(data):
    fake = disguised(data.train_images[:300], std=0.0, flip=False, seed=3, fade=0.6)
    assert bool(find_copies(fake, known(data)).copied.all())


def test_real_held_out_digits_are_not_copies_of_training_digits(data):
    """The threshold lies below the closest pair of distinct real digits, so a generator as good as
    the data is not flagged."""
    copies = find_copies(data.test_images, [data.train_images])
    assert not bool(copies.copied.any()) and float(copies.to_known.min()) > COPY_THRESHOLD


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


COPYING_WEIGHTS = '''

def train_step(G, D, opt_g, opt_d, images, labels, z):
    """Learns nothing: writes weights under which G(z, y) is a stored real digit of class y, whatever z."""
    with torch.no_grad():
        for layer in (G.noise, G.label, G.joint, G.out):
            layer.weight.zero_()
            layer.bias.zero_()
        G.label.weight[:CLASSES, :CLASSES] = torch.eye(CLASSES)  # unit k fires for label k
        G.joint.weight[:CLASSES, 200:200 + CLASSES] = torch.eye(CLASSES)
        for digit in range(CLASSES):
            chosen = images[labels == digit]
            if len(chosen):
                G.out.weight[:, digit] = torch.logit(chosen[0].flatten().clamp(0.01, 0.99))
    return {"loss_d": 1.0, "loss_g": 1.0, "d_real": 0.5, "d_fake": 0.5}
'''


def test_weights_that_draw_real_digits_earn_no_convergence_points(tmp_path):
    """The architecture is the declared one, so the grader's model takes the weights; what they draw
    are stored digits, and the copy check stops them."""
    (tmp_path / "cgan.py").write_text((paths.SOLUTIONS_DIR / "cgan.py").read_text() + COPYING_WEIGHTS)
    report = run_suites(tmp_path, ["cgan"], device="cpu", tasks=["cgan.8"])
    (test,) = [t for p in report.practices for task in p.tasks for t in task.tests]
    assert test.status == "failed" and test.earned == 0
    assert "1000 of 1000 are copies of real images" in test.message, test.message


def test_a_lookup_table_jumps_along_a_latent_walk_and_a_learned_map_does_not(data):
    """`grader.judging.latent_walk`: a table of stored digits picked by the nearest stored noise fails
    dcgan.10's bar; a smooth map of the noise (a fixed linear layer and a sigmoid) passes it."""
    from grader.practices.dcgan.judging import WALK_BAR
    from grader.judging.latent_walk import assert_smooth

    generator = torch.Generator().manual_seed(4)
    stored_noise = torch.randn(4000, 100, generator=generator)
    weight = torch.randn(100, 28 * 28, generator=generator) * 0.05

    def lookup(z, _labels):
        return data.train_images[torch.cdist(z, stored_noise).argmin(1)].float() / 255

    def smooth(z, _labels):
        return torch.sigmoid(z @ weight).view(-1, 1, 28, 28)

    with pytest.raises(GradingFailure, match="jump along a straight line"):
        assert_smooth(lookup, 100, 0, conditional=False, pixel_range=(0.0, 1.0), bar=WALK_BAR, what="a lookup",
                      hint="")
    assert assert_smooth(smooth, 100, 0, conditional=False, pixel_range=(0.0, 1.0), bar=WALK_BAR, what="a map",
                         hint="") < WALK_BAR
