"""Full MNIST from the published IDX .gz files: decoding, caching, fallbacks and bad input."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
import torch
from torchvision.datasets.mnist import read_sn3_pascalvincent_tensor

from grader.data import DataError, load_mnist
from grader.data.idx import write_idx_gz


def test_full_mnist_decodes_the_published_format(tmp_path, formats):
    written = formats.write_mnist(tmp_path / "mnist", n_train=6, n_test=4)
    mnist = load_mnist(tmp_path)
    assert mnist.train_images.shape == (6, 1, 28, 28) and mnist.train_images.dtype == torch.uint8
    assert mnist.test_images.shape == (4, 1, 28, 28)
    assert mnist.train_labels.dtype == torch.int64
    assert torch.equal(mnist.train_images[:, 0], torch.from_numpy(written["train_images"]))
    assert torch.equal(mnist.test_labels, torch.from_numpy(written["test_labels"]).long())
    assert mnist.source.startswith("full MNIST") and "6 train / 4 test" in mnist.source


def test_cache_is_written_then_rebuilt_when_a_source_changes(tmp_path, formats):
    formats.write_mnist(tmp_path / "mnist", seed=0)
    first = load_mnist(tmp_path, embedded=False)
    assert (tmp_path / "mnist" / "mnist.cache.pt").is_file()
    labels_path = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    new_labels = (first.train_labels.numpy() + 1) % 10
    labels_path.write_bytes(gzip.compress(formats.idx_bytes(2049, new_labels)))
    stat = labels_path.stat()
    os.utime(
        labels_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9)
    )  # a certainly newer mtime
    second = load_mnist(tmp_path, embedded=False)
    assert torch.equal(second.train_labels, torch.from_numpy(new_labels).long())


def test_cache_is_what_a_fresh_load_reads(tmp_path, formats):
    formats.write_mnist(tmp_path / "mnist")
    load_mnist(tmp_path)
    cache = torch.load(tmp_path / "mnist" / "mnist.cache.pt", weights_only=True)
    cache["tensors"]["train_labels"].fill_(7)
    torch.save(cache, tmp_path / "mnist" / "mnist.cache.pt")
    assert set(load_mnist(tmp_path).train_labels.tolist()) == {
        7
    }  # the cache, not the files, was read


def test_embedded_false_lists_every_missing_file(tmp_path):
    with pytest.raises(DataError) as error:
        load_mnist(tmp_path, embedded=False)
    message = str(error.value)
    for name in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        assert str(tmp_path / "mnist" / name) in message


def test_auto_falls_back_to_embedded_and_says_so(tmp_path):
    mnist = load_mnist(tmp_path)
    assert mnist.source.startswith("embedded MNIST subset")
    assert "not found" in mnist.source and len(mnist.train_images) == 4000


def test_auto_falls_back_on_a_corrupt_file_and_names_it(tmp_path, formats):
    formats.write_mnist(tmp_path / "mnist")
    bad = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(b"not gzip at all")
    mnist = load_mnist(tmp_path)
    assert mnist.source.startswith("embedded") and str(bad) in mnist.source
    assert bad.read_bytes() == b"not gzip at all"  # reported, never deleted


def test_embedded_true_ignores_full_mnist(tmp_path, formats):
    formats.write_mnist(tmp_path / "mnist")
    assert load_mnist(tmp_path, embedded=True).source.startswith("embedded")


def test_data_root_from_environment(tmp_path, formats, monkeypatch):
    formats.write_mnist(tmp_path / "mnist", n_train=3)
    monkeypatch.setenv("BOOTCAMP_DATA", str(tmp_path))
    assert len(load_mnist(embedded=False).train_images) == 3


def _corrupt_load(tmp_path, formats, name, data):
    formats.write_mnist(tmp_path / "mnist")
    path = tmp_path / "mnist" / name
    path.write_bytes(data)
    with pytest.raises(DataError) as error:
        load_mnist(tmp_path, embedded=False)
    assert str(path) in str(error.value)
    assert path.read_bytes() == data  # nothing the user placed is deleted
    return str(error.value)


def test_truncated_gzip(tmp_path, formats):
    whole = gzip.compress(formats.idx_bytes(2051, np.zeros((6, 28, 28), np.uint8)))
    message = _corrupt_load(
        tmp_path, formats, "train-images-idx3-ubyte.gz", whole[: len(whole) // 2]
    )
    assert "truncated" in message


def test_not_a_gzip_file(tmp_path, formats):
    message = _corrupt_load(tmp_path, formats, "train-labels-idx1-ubyte.gz", b"<html>404</html>")
    assert "not a valid gzip file" in message


def test_wrong_magic_number(tmp_path, formats):
    labels_as_images = gzip.compress(formats.idx_bytes(2049, np.zeros(6, np.uint8)))
    message = _corrupt_load(tmp_path, formats, "train-images-idx3-ubyte.gz", labels_as_images)
    assert "magic number 2049, expected 2051" in message


def test_short_read_of_idx_payload(tmp_path, formats):
    short = formats.idx_bytes(2051, np.zeros((6, 28, 28), np.uint8))[:-100]
    message = _corrupt_load(tmp_path, formats, "train-images-idx3-ubyte.gz", gzip.compress(short))
    assert "truncated" in message and "6 x 28 x 28" in message


def test_image_and_label_counts_disagree(tmp_path, formats):
    five_labels = gzip.compress(formats.idx_bytes(2049, np.zeros(5, np.uint8)))
    message = _corrupt_load(tmp_path, formats, "train-labels-idx1-ubyte.gz", five_labels)
    assert "5 labels" in message and "6 images" in message


def test_wrong_image_size(tmp_path, formats):
    small = gzip.compress(formats.idx_bytes(2051, np.zeros((6, 20, 20), np.uint8)))
    assert "20x20, expected 28x28" in _corrupt_load(
        tmp_path, formats, "train-images-idx3-ubyte.gz", small
    )


def test_labels_out_of_range(tmp_path, formats):
    bad = gzip.compress(formats.idx_bytes(2049, np.full(6, 12, np.uint8)))
    assert "outside 0-9" in _corrupt_load(tmp_path, formats, "train-labels-idx1-ubyte.gz", bad)


def test_write_idx_gz_is_read_by_torchvision(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    write_idx_gz(tmp_path / "x.gz", images)
    raw = tmp_path / "x"
    raw.write_bytes(gzip.decompress((tmp_path / "x.gz").read_bytes()))
    assert torch.equal(read_sn3_pascalvincent_tensor(str(raw)), torch.from_numpy(images))


def test_invalid_embedded_value(tmp_path):
    with pytest.raises(ValueError, match="embedded must be"):
        load_mnist(tmp_path, embedded="yes")
