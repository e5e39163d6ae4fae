"""CIFAR-10 read from the python-version tar.gz with the restricted unpickler."""

from __future__ import annotations

import io
import os
import pickle
import tarfile

import numpy as np
import pytest
import torch

from grader.data import DataError, load_cifar10


def _archive(tmp_path):
    return tmp_path / "cifar10" / "cifar-10-python.tar.gz"


def test_loads_train_and_test_in_channel_planes(tmp_path, formats):
    batches = formats.write_cifar(_archive(tmp_path), per_batch=3)
    cifar = load_cifar10(tmp_path)
    assert cifar.train_images.shape == (15, 3, 32, 32) and cifar.train_images.dtype == torch.uint8
    assert cifar.test_images.shape == (3, 3, 32, 32)
    assert cifar.train_labels.dtype == torch.int64
    written = [label for i in range(1, 6) for label in batches[f"data_batch_{i}"][b"labels"]]
    assert cifar.train_labels.tolist() == written
    row = batches["data_batch_1"][b"data"][0]  # 1024 red, 1024 green, 1024 blue values
    assert torch.equal(cifar.train_images[0, 1], torch.from_numpy(row[1024:2048].reshape(32, 32)))
    assert cifar.classes == tuple(formats.cifar_classes)
    assert "3 test" in cifar.source and str(_archive(tmp_path)) in cifar.source


def test_py2_pickles_match_what_pickle_itself_reads(formats):
    batch = formats.cifar_batch(2, seed=0)
    decoded = pickle.loads(formats.py2_pickle(batch), encoding="bytes")
    assert decoded[b"labels"] == batch[b"labels"] and decoded[b"filenames"] == batch[b"filenames"]
    assert np.array_equal(decoded[b"data"], batch[b"data"])


def test_batches_pickled_by_python3_load_too(tmp_path, formats):
    py3 = {"data_batch_3": pickle.dumps(formats.cifar_batch(4, seed=3), protocol=2)}
    formats.write_cifar(_archive(tmp_path), per_batch=2, members=py3)
    assert len(load_cifar10(tmp_path).train_images) == 12


def test_cache_follows_a_replaced_archive(tmp_path, formats):
    formats.write_cifar(_archive(tmp_path), per_batch=3)
    assert len(load_cifar10(tmp_path).train_images) == 15
    formats.write_cifar(_archive(tmp_path), per_batch=2)
    assert len(load_cifar10(tmp_path).train_images) == 10


def test_missing_archive_says_where_to_place_it(tmp_path):
    with pytest.raises(DataError, match="fetch cifar10") as error:
        load_cifar10(tmp_path)
    assert str(_archive(tmp_path)) in str(error.value)


def _load_error(tmp_path) -> str:
    with pytest.raises(DataError) as error:
        load_cifar10(tmp_path)
    assert str(_archive(tmp_path)) in str(error.value)
    return str(error.value)


def test_truncated_archive(tmp_path, formats):
    archive = _archive(tmp_path)
    formats.write_cifar(archive)
    whole = archive.read_bytes()
    archive.write_bytes(whole[: len(whole) // 2])
    assert "truncated or corrupt archive" in _load_error(tmp_path)
    assert archive.stat().st_size == len(whole) // 2  # reported, not deleted


def test_refuses_a_pickle_that_calls_a_function(tmp_path, formats):
    target = tmp_path / "created-by-pickle"

    class Exploit:
        def __reduce__(self):
            return (os.mkdir, (str(target),))

    formats.write_cifar(
        _archive(tmp_path), members={"data_batch_2": pickle.dumps(Exploit(), protocol=2)}
    )
    message = _load_error(tmp_path)
    assert "data_batch_2" in message and "refused to load" in message and "mkdir" in message
    assert not target.exists()


def test_truncated_pickle(tmp_path, formats):
    whole = formats.py2_pickle(formats.cifar_batch(3, seed=0))
    formats.write_cifar(_archive(tmp_path), members={"test_batch": whole[:-200]})
    message = _load_error(tmp_path)
    assert "test_batch" in message and "truncated or corrupt pickle" in message


def test_label_and_image_counts_disagree(tmp_path, formats):
    batch = formats.cifar_batch(3, seed=0)
    batch[b"labels"] = batch[b"labels"][:2]
    formats.write_cifar(_archive(tmp_path), members={"data_batch_4": formats.py2_pickle(batch)})
    message = _load_error(tmp_path)
    assert "data_batch_4" in message and "2 labels but 3 images" in message


def test_wrong_pixel_array_shape(tmp_path, formats):
    batch = formats.cifar_batch(3, seed=0)
    batch[b"data"] = np.zeros((3, 1024), np.uint8)
    formats.write_cifar(_archive(tmp_path), members={"data_batch_1": formats.py2_pickle(batch)})
    assert "uint8 (N, 3072)" in _load_error(tmp_path)


def test_missing_member(tmp_path, formats):
    archive = _archive(tmp_path)
    formats.write_cifar(archive)
    with tarfile.open(archive) as tar:
        kept = [(m, tar.extractfile(m).read()) for m in tar if not m.name.endswith("test_batch")]
    with tarfile.open(archive, "w:gz") as tar:
        for member, data in kept:
            tar.addfile(member, io.BytesIO(data))
    assert "missing cifar-10-batches-py/test_batch" in _load_error(tmp_path)
