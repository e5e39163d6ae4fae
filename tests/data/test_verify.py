"""The manifest, the data root, and what `list` (quick) and `verify` (thorough) report."""

from __future__ import annotations

import io
import tarfile

import pytest
from torchvision.datasets import CIFAR10, MNIST

from grader.data import data_root
from grader.data.manifest import MANIFEST_PATH, FileSpec, load_manifest
from grader.data.verify import (
    CORRUPT,
    MISSING,
    NO_CHECKSUM,
    PRESENT,
    VERIFIED,
    inspect_embedded,
    inspect_set,
)
from grader.paths import DATASETS_DIR


def test_shipped_manifest_has_the_published_checksums():
    manifest = load_manifest()
    assert list(manifest) == ["mnist", "cifar10", "facades"]
    mnist_md5 = {f.path.removeprefix("mnist/"): f.md5 for f in manifest["mnist"].files}
    assert mnist_md5 == dict(MNIST.resources)
    assert [f.urls[0].rsplit("/", 1)[0] + "/" for f in manifest["mnist"].files] == [
        MNIST.mirrors[0]
    ] * 4
    assert manifest["cifar10"].files[0].md5 == CIFAR10.tgz_md5 == "c58f30108f718f92721af3b95e74349a"
    assert manifest["cifar10"].files[0].urls == (CIFAR10.url,)
    assert manifest["facades"].files[0].md5 is None
    assert manifest["facades"].splits == {"train": 400, "val": 100, "test": 106}
    assert all(spec.licence and spec.description for spec in manifest.values())


def test_manifest_file_outside_its_set_folder_is_an_error(tmp_path):
    bad = MANIFEST_PATH.read_text().replace(
        '"path": "mnist/train-images', '"path": "elsewhere/train-images'
    )
    (tmp_path / "manifest.json").write_text(bad)
    with pytest.raises(Exception, match="must lie in its folder mnist/"):
        load_manifest(tmp_path / "manifest.json")


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("BOOTCAMP_DATA", raising=False)
    assert data_root() == DATASETS_DIR
    monkeypatch.setenv("BOOTCAMP_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "flag") == tmp_path / "flag"


def _mnist_spec(formats, root, splits):
    names = [name for pair in formats.mnist_names.values() for name in pair]
    files = [
        formats.file_spec(f"mnist/{n}", (root / "mnist" / n).read_bytes(), ["http://x/" + n])
        for n in names
    ]
    return formats.set_spec("mnist", "mnist", files, splits)


def test_verified_mnist(tmp_path, formats):
    formats.write_mnist(tmp_path / "mnist", n_train=6, n_test=4)
    spec = _mnist_spec(formats, tmp_path, {"train": 6, "test": 4})
    assert inspect_set(spec, tmp_path, thorough=False).state == PRESENT
    status = inspect_set(spec, tmp_path, thorough=True)
    assert status.state == VERIFIED and status.problems == [] and status.size > 0


def test_missing_files_are_listed(tmp_path, formats):
    formats.write_mnist(tmp_path / "mnist")
    spec = _mnist_spec(formats, tmp_path, {})
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    status = inspect_set(spec, tmp_path, thorough=True)
    assert status.state == MISSING and status.problems == ["missing t10k-labels-idx1-ubyte.gz"]


def test_md5_mismatch_is_corrupt_and_the_file_kept(tmp_path, formats):
    formats.write_mnist(tmp_path / "mnist")
    spec = _mnist_spec(formats, tmp_path, {})
    path = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    data = bytearray(path.read_bytes())
    data[-9] ^= 0xFF  # same size, different bytes
    path.write_bytes(bytes(data))
    assert inspect_set(spec, tmp_path, thorough=False).state == PRESENT  # list does not hash
    status = inspect_set(spec, tmp_path, thorough=True)
    assert status.state == CORRUPT
    assert (
        len(status.problems) == 1
        and str(path) in status.problems[0]
        and "md5 is" in status.problems[0]
    )
    assert path.read_bytes() == bytes(data)


def test_wrong_size_is_corrupt_even_for_list(tmp_path, formats):
    formats.write_mnist(tmp_path / "mnist")
    spec = _mnist_spec(formats, tmp_path, {})
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100])
    status = inspect_set(spec, tmp_path, thorough=False)
    assert (
        status.state == CORRUPT
        and str(path) in status.problems[0]
        and "truncated" in status.problems[0]
    )


def test_split_sizes_are_checked_against_the_manifest(tmp_path, formats):
    formats.write_mnist(tmp_path / "mnist", n_train=6, n_test=4)
    status = inspect_set(
        _mnist_spec(formats, tmp_path, {"train": 60000, "test": 4}), tmp_path, thorough=True
    )
    assert status.state == CORRUPT
    assert status.problems == [
        f"{tmp_path / 'mnist' / 'train-images-idx3-ubyte.gz'}: 6 images, expected 60,000"
    ]


def test_verified_cifar(tmp_path, formats):
    archive = tmp_path / "cifar10" / "cifar-10-python.tar.gz"
    formats.write_cifar(archive, per_batch=2)
    file_spec = formats.file_spec(
        "cifar10/cifar-10-python.tar.gz", archive.read_bytes(), ["http://x"]
    )
    spec = formats.set_spec("cifar10", "cifar10", [file_spec], {"train": 10, "test": 2})
    assert inspect_set(spec, tmp_path, thorough=True).state == VERIFIED


def _facades_spec(formats, splits):
    return formats.set_spec(
        "facades",
        "paired",
        [FileSpec("facades/facades.tar.gz", None, None, ("http://x",))],
        splits,
    )


def test_extracted_pix2pix_without_checksum_is_structure_checked(tmp_path, formats):
    formats.write_pairs(tmp_path / "facades", {"train": 3, "test": 2})
    status = inspect_set(_facades_spec(formats, {"train": 3, "test": 2}), tmp_path, thorough=True)
    assert status.state == VERIFIED and status.notes == [NO_CHECKSUM]


def test_pix2pix_counts_and_bad_images_are_corrupt(tmp_path, formats):
    formats.write_pairs(tmp_path / "facades", {"train": 3, "test": 2})
    spec = _facades_spec(formats, {"train": 4, "test": 2})
    status = inspect_set(spec, tmp_path, thorough=False)
    assert status.state == CORRUPT and status.problems == [
        f"{tmp_path / 'facades' / 'train'}: 3 images, expected 4"
    ]
    formats.pair_image(8, (0, 0, 0), (0, 0, 0), width=8).save(
        tmp_path / "facades" / "train" / "4.jpg"
    )
    status = inspect_set(spec, tmp_path, thorough=True)
    assert status.state == CORRUPT and "4.jpg: 8x8 pixels" in status.problems[0]


def test_pix2pix_archive_not_yet_extracted(tmp_path, formats):
    archive = tmp_path / "facades" / "facades.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("facades/train/1.jpg")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"jpg"))
    spec = _facades_spec(formats, {"train": 1, "test": 1})
    quick = inspect_set(spec, tmp_path, thorough=False)
    assert quick.state == PRESENT and "not extracted" in quick.notes[0]
    thorough = inspect_set(spec, tmp_path, thorough=True)
    assert thorough.state == CORRUPT and thorough.problems == [
        f"{archive} facades/test/: 0 images, expected 1"
    ]


def test_missing_pix2pix(tmp_path, formats):
    status = inspect_set(_facades_spec(formats, {"train": 1}), tmp_path, thorough=True)
    assert status.state == MISSING and "facades.tar.gz" in status.problems[0]


def test_embedded_sets_are_present_and_verify():
    assert [s.state for s in inspect_embedded(thorough=False)] == [PRESENT, PRESENT]
    statuses = inspect_embedded(thorough=True)
    assert [s.state for s in statuses] == [VERIFIED, VERIFIED]
    assert statuses[0].notes[0].startswith("embedded MNIST subset") and statuses[0].size > 1_000_000
