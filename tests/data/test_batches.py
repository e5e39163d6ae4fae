"""The fast in-memory batch path: normalisation, one permutation per epoch, reproducibility."""

from __future__ import annotations

import pytest
import torch

from grader.data import batches


def _set(n=10, channels=1):
    images = torch.arange(n * channels * 4, dtype=torch.int64).remainder(256).to(torch.uint8)
    images = images.reshape(n, channels, 2, 2)  # (N, C, 2, 2)
    labels = torch.arange(n)  # label i marks image i
    return images, labels


def test_batches_are_normalised_float32_with_matching_labels():
    images, labels = _set()
    for x, y in batches(images, labels, 4, mean=(0.1307,), std=(0.3081,)):
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert x.shape[1:] == (1, 2, 2)
        expected = (images[y].float() / 255 - 0.1307) / 0.3081
        torch.testing.assert_close(x, expected)


def test_default_normalisation_is_to_unit_interval_like_to_tensor():
    images, labels = _set()
    x, _ = next(iter(batches(images, labels, 10, shuffle=False)))
    torch.testing.assert_close(x, images.float() / 255)


def test_per_channel_mean_and_std():
    images, labels = _set(channels=3)
    mean, std = (0.1, 0.2, 0.3), (1.0, 2.0, 4.0)
    x, _ = next(iter(batches(images, labels, 10, shuffle=False, mean=mean, std=std)))
    expected = (images.float() / 255 - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(
        3, 1, 1
    )
    torch.testing.assert_close(x, expected)


def test_each_epoch_is_a_new_permutation_of_every_image():
    images, labels = _set(n=50)
    loader = batches(images, labels, 8, generator=torch.Generator().manual_seed(0))
    orders = [torch.cat([y for _, y in loader]) for _ in range(2)]
    for order in orders:
        assert sorted(order.tolist()) == list(range(50))
    assert not torch.equal(orders[0], orders[1])
    assert not torch.equal(orders[0], torch.arange(50))


def test_same_seed_same_order():
    images, labels = _set(n=50)
    first = [y for _, y in batches(images, labels, 8, generator=torch.Generator().manual_seed(3))]
    second = [y for _, y in batches(images, labels, 8, generator=torch.Generator().manual_seed(3))]
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


def test_unshuffled_keeps_order_and_sizes():
    images, labels = _set(n=10)
    loader = batches(images, labels, 4, shuffle=False)
    assert len(loader) == 3
    assert [y.tolist() for _, y in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_drop_last():
    images, labels = _set(n=10)
    loader = batches(images, labels, 4, drop_last=True)
    assert len(loader) == 2 and [len(y) for _, y in loader] == [4, 4]


def test_changing_a_batch_in_place_leaves_the_set_intact():
    images, labels = _set(n=4)
    loader = batches(images, labels, 4, shuffle=False)
    x, _ = next(iter(loader))
    x.zero_()
    again, _ = next(iter(loader))
    torch.testing.assert_close(again, images.float() / 255)


def test_batches_live_on_the_requested_device():
    images, labels = _set()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x, y = next(iter(batches(images, labels, 4, device=device)))
    assert x.device.type == device and y.device.type == device


@pytest.mark.parametrize(
    ("images", "labels", "kwargs", "message"),
    [
        (torch.zeros(4, 1, 2, 2), torch.zeros(4), {}, "uint8"),
        (torch.zeros(4, 2, 2, dtype=torch.uint8), torch.zeros(4), {}, "uint8 \\(N, C, H, W\\)"),
        (torch.zeros(4, 1, 2, 2, dtype=torch.uint8), torch.zeros(3), {}, "labels must be"),
        (
            torch.zeros(4, 3, 2, 2, dtype=torch.uint8),
            torch.zeros(4),
            {"mean": (0.1, 0.2)},
            "1 or 3 values",
        ),
    ],
)
def test_rejects_bad_arguments(images, labels, kwargs, message):
    with pytest.raises(ValueError, match=message):
        batches(images, labels, 2, **kwargs)
