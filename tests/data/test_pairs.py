"""pix2pix A|B pairs: split folders, halves, order, caching and bad images."""

from __future__ import annotations

import pytest
import torch

from grader.data import DataError, load_pairs


def test_loads_halves_per_split_in_natural_order(tmp_path, formats):
    formats.write_pairs(tmp_path / "facades", {"train": 11, "val": 2, "test": 3})
    pairs = load_pairs("facades", tmp_path, embedded=False)
    assert pairs.train_a.shape == (11, 3, 16, 16) and pairs.train_b.shape == (11, 3, 16, 16)
    assert pairs.train_a.dtype == torch.uint8
    assert pairs.test_a.shape == (3, 3, 16, 16)  # test/, not val/
    gray_levels = pairs.train_a.float().mean(dim=(1, 2, 3))
    assert torch.allclose(
        gray_levels, 10 * torch.arange(1, 12).float(), atol=3
    )  # 1, 2, ..., 10, 11
    blue = pairs.train_b.float().mean(dim=(0, 2, 3))
    assert blue[2] > 180 and blue[0] < 20  # B is the right half
    assert "11 train / 3 test pairs" in pairs.source


def test_val_serves_as_test_split_when_there_is_no_test_folder(tmp_path, formats):
    formats.write_pairs(tmp_path / "maps", {"train": 2, "val": 4})
    pairs = load_pairs("maps", tmp_path, embedded=False)
    assert len(pairs.test_a) == 4 and "4 val pairs" in pairs.source


def test_cache_follows_a_new_image(tmp_path, formats):
    formats.write_pairs(tmp_path / "facades", {"train": 2, "test": 1})
    assert len(load_pairs("facades", tmp_path, embedded=False).train_a) == 2
    assert (tmp_path / "facades" / "facades.cache.pt").is_file()
    formats.pair_image(16, (0, 0, 0), (0, 0, 0)).save(tmp_path / "facades" / "train" / "3.jpg")
    assert len(load_pairs("facades", tmp_path, embedded=False).train_a) == 3


def test_missing_set_falls_back_to_embedded_or_errors(tmp_path):
    pairs = load_pairs("facades", tmp_path)
    assert pairs.source.startswith("embedded paired set") and "not found" in pairs.source
    with pytest.raises(DataError, match="fetch facades"):
        load_pairs("facades", tmp_path, embedded=False)


def _load_error(tmp_path, bad) -> str:
    with pytest.raises(DataError) as error:
        load_pairs("facades", tmp_path, embedded=False)
    assert str(bad) in str(error.value)
    assert bad.exists()  # reported, never deleted
    return str(error.value)


def test_image_not_twice_as_wide_as_high(tmp_path, formats):
    formats.write_pairs(tmp_path / "facades", {"train": 2, "test": 1})
    bad = tmp_path / "facades" / "train" / "2.jpg"
    formats.pair_image(16, (0, 0, 0), (9, 9, 9), width=24).save(bad)
    assert "24x16 pixels" in _load_error(tmp_path, bad) and "twice as wide" in _load_error(
        tmp_path, bad
    )


def test_truncated_jpeg(tmp_path, formats):
    formats.write_pairs(tmp_path / "facades", {"train": 2, "test": 2})
    bad = tmp_path / "facades" / "test" / "2.jpg"
    bad.write_bytes(bad.read_bytes()[:200])
    assert "unreadable image" in _load_error(tmp_path, bad)


def test_pairs_of_different_sizes_in_one_split(tmp_path, formats):
    formats.write_pairs(tmp_path / "facades", {"train": 2, "test": 1})
    bad = tmp_path / "facades" / "train" / "2.jpg"
    formats.pair_image(8, (0, 0, 0), (0, 0, 0)).save(bad)
    assert "one size" in _load_error(tmp_path, bad)


def test_auto_names_the_bad_image_in_its_fallback_source(tmp_path, formats):
    formats.write_pairs(tmp_path / "facades", {"train": 2, "test": 1})
    bad = tmp_path / "facades" / "train" / "1.jpg"
    bad.write_bytes(b"not an image")
    pairs = load_pairs("facades", tmp_path)
    assert pairs.source.startswith("embedded") and str(bad) in pairs.source
