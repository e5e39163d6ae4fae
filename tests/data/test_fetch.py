"""Downloads against a local HTTP server: md5 checks, resume, mirrors, no network, extraction."""

from __future__ import annotations

import io
import os
import tarfile
import time

import pytest
from rich.console import Console
from rich.progress import Progress

from grader.data import DataError, load_pairs
from grader.data.fetch import NetworkUnavailable, fetch_file, fetch_set
from grader.data.manifest import FileSpec

PAYLOAD = os.urandom(300_000)


def test_downloads_verifies_and_renames(tmp_path, formats, file_server):
    file_server.files["/f.gz"] = PAYLOAD
    dest = tmp_path / "set" / "f.gz"
    assert (
        fetch_file(dest, formats.file_spec("set/f.gz", PAYLOAD, [file_server.url + "/f.gz"]))
        is True
    )
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "set" / "f.gz.part").exists()


def test_a_present_matching_file_is_not_downloaded_again(tmp_path, formats, file_server):
    dest = tmp_path / "f.gz"
    dest.write_bytes(PAYLOAD)
    assert (
        fetch_file(dest, formats.file_spec("f.gz", PAYLOAD, [file_server.url + "/f.gz"])) is False
    )
    assert file_server.requests == []


def test_md5_mismatch_leaves_no_file(tmp_path, formats, file_server):
    tampered = bytearray(PAYLOAD)
    tampered[1000] ^= 0xFF
    file_server.files["/f.gz"] = bytes(tampered)
    dest = tmp_path / "f.gz"
    with pytest.raises(DataError, match="md5 is") as error:
        fetch_file(dest, formats.file_spec("f.gz", PAYLOAD, [file_server.url + "/f.gz"]))
    assert "f.gz" in str(error.value)
    assert not dest.exists() and not (tmp_path / "f.gz.part").exists()


def test_resumes_a_part_file_with_a_range_request(tmp_path, formats, file_server):
    file_server.files["/f.gz"] = PAYLOAD
    dest = tmp_path / "f.gz"
    (tmp_path / "f.gz.part").write_bytes(PAYLOAD[:123_456])
    fetch_file(dest, formats.file_spec("f.gz", PAYLOAD, [file_server.url + "/f.gz"]))
    assert file_server.requests == [("/f.gz", "bytes=123456-")]
    assert dest.read_bytes() == PAYLOAD


def test_restarts_cleanly_when_the_server_ignores_range(tmp_path, formats, file_server):
    file_server.files["/f.gz"] = PAYLOAD
    file_server.honour_range = False
    dest = tmp_path / "f.gz"
    (tmp_path / "f.gz.part").write_bytes(PAYLOAD[:1000])
    fetch_file(dest, formats.file_spec("f.gz", PAYLOAD, [file_server.url + "/f.gz"]))
    assert dest.read_bytes() == PAYLOAD  # not the first 1000 bytes twice


def test_restarts_when_the_part_is_already_complete(tmp_path, formats, file_server):
    file_server.files["/f.gz"] = PAYLOAD
    (tmp_path / "f.gz.part").write_bytes(PAYLOAD)
    fetch_file(tmp_path / "f.gz", formats.file_spec("f.gz", PAYLOAD, [file_server.url + "/f.gz"]))
    assert (tmp_path / "f.gz").read_bytes() == PAYLOAD
    assert [r for _, r in file_server.requests] == [
        f"bytes={len(PAYLOAD)}-",
        None,
    ]  # 416, then a fresh start


def test_tries_mirrors_in_order(tmp_path, formats, file_server):
    file_server.files["/second/f.gz"] = PAYLOAD
    urls = [file_server.url + "/first/f.gz", file_server.url + "/second/f.gz"]
    fetch_file(tmp_path / "f.gz", formats.file_spec("f.gz", PAYLOAD, urls))
    assert [path for path, _ in file_server.requests] == ["/first/f.gz", "/second/f.gz"]
    assert (tmp_path / "f.gz").read_bytes() == PAYLOAD


def test_every_mirror_failing_names_each(tmp_path, formats, file_server):
    urls = [file_server.url + "/a/f.gz", file_server.url + "/b/f.gz"]
    with pytest.raises(DataError) as error:
        fetch_file(tmp_path / "f.gz", formats.file_spec("f.gz", PAYLOAD, urls))
    assert "/a/f.gz: HTTP 404" in str(error.value) and "/b/f.gz: HTTP 404" in str(error.value)


def test_a_corrupt_placed_file_is_reported_and_kept(tmp_path, formats, file_server):
    file_server.files["/f.gz"] = PAYLOAD
    dest = tmp_path / "f.gz"
    dest.write_bytes(PAYLOAD[:10])
    with pytest.raises(DataError, match="left in place") as error:
        fetch_file(dest, formats.file_spec("f.gz", PAYLOAD, [file_server.url + "/f.gz"]))
    assert str(dest) in str(error.value)
    assert dest.read_bytes() == PAYLOAD[:10] and file_server.requests == []


def test_no_network_lists_the_files_to_place(tmp_path, formats, closed_port_url):
    spec = formats.set_spec(
        "mnist",
        "mnist",
        [
            formats.file_spec("mnist/a.gz", b"a", [closed_port_url + "/a.gz"]),
            formats.file_spec("mnist/b.gz", b"b", [closed_port_url + "/b.gz"]),
        ],
        {},
    )
    started = time.monotonic()
    with pytest.raises(DataError) as error:
        fetch_set(spec, tmp_path)
    assert time.monotonic() - started < 5
    message = str(error.value)
    assert "no network" in message
    assert (
        str(tmp_path / "mnist" / "a.gz") in message and str(tmp_path / "mnist" / "b.gz") in message
    )
    assert not any((tmp_path / "mnist").glob("*.gz"))


def test_no_network_is_its_own_error_type(tmp_path, formats, closed_port_url):
    with pytest.raises(NetworkUnavailable):
        fetch_file(tmp_path / "f", formats.file_spec("f", b"x", [closed_port_url + "/f"]))


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _jpeg(formats, level: int) -> bytes:
    buffer = io.BytesIO()
    formats.pair_image(8, (level, level, level), (0, 0, 0)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_fetches_and_extracts_a_pix2pix_archive(tmp_path, formats, file_server):
    archive = _tar_gz(
        {
            f"facades/{split}/{i}.jpg": _jpeg(formats, 50 * i)
            for split in ("train", "test")
            for i in (1, 2)
        }
    )
    file_server.files["/facades.tar.gz"] = archive
    file_spec = formats.file_spec(
        "facades/facades.tar.gz", archive, [file_server.url + "/facades.tar.gz"]
    )
    fetch_set(
        formats.set_spec("facades", "paired", [file_spec], {"train": 2, "test": 2}), tmp_path
    )
    assert sorted(p.name for p in (tmp_path / "facades").iterdir()) == [
        "facades.tar.gz",
        "test",
        "train",
    ]
    assert load_pairs("facades", tmp_path, embedded=False).train_a.shape == (2, 3, 8, 8)


def test_refuses_an_archive_member_outside_the_set(tmp_path, formats, file_server):
    archive = _tar_gz({"facades/train/1.jpg": _jpeg(formats, 10), "../escaped.jpg": b"x"})
    file_server.files["/facades.tar.gz"] = archive
    file_spec = formats.file_spec(
        "facades/facades.tar.gz", archive, [file_server.url + "/facades.tar.gz"]
    )
    with pytest.raises(DataError, match=r"unexpected member '\.\./escaped\.jpg'") as error:
        fetch_set(formats.set_spec("facades", "paired", [file_spec], {"train": 1}), tmp_path)
    assert "facades.tar.gz" in str(error.value)
    assert not (tmp_path / "escaped.jpg").exists() and not (tmp_path / "facades" / "train").exists()


def test_progress_counts_every_byte_including_a_resumed_part(tmp_path, formats, file_server):
    file_server.files["/f.gz"] = PAYLOAD
    (tmp_path / "f.gz.part").write_bytes(PAYLOAD[:5000])
    progress = Progress(console=Console(file=io.StringIO()))
    fetch_file(
        tmp_path / "f.gz",
        formats.file_spec("f.gz", PAYLOAD, [file_server.url + "/f.gz"]),
        progress=progress,
    )
    (task,) = progress.tasks
    assert task.description == "f.gz" and task.total == task.completed == len(PAYLOAD)


def test_an_archive_without_md5_must_at_least_be_an_archive(tmp_path, formats, file_server):
    file_server.files["/facades.tar.gz"] = b"<html>Service Unavailable</html>"
    spec = FileSpec("facades/facades.tar.gz", None, None, (file_server.url + "/facades.tar.gz",))
    with pytest.raises(DataError, match="not a tar archive"):
        fetch_file(tmp_path / "facades.tar.gz", spec)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("filters", [True, False], ids=["with extraction filters", "python before 3.11.4"])
def test_a_link_inside_the_set_is_refused_with_or_without_extraction_filters(tmp_path, formats, monkeypatch,
                                                                              filters):
    from grader.data.fetch import extract_splits

    if not filters:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        image = _jpeg(formats, 10)
        info = tarfile.TarInfo("facades/train/1.jpg")
        info.size = len(image)
        tar.addfile(info, io.BytesIO(image))
        link = tarfile.TarInfo("facades/train/2.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    (tmp_path / "facades").mkdir()
    archive = tmp_path / "facades" / "facades.tar.gz"
    archive.write_bytes(buffer.getvalue())
    with pytest.raises(DataError, match="facades.tar.gz"):
        extract_splits(archive, tmp_path / "facades", ["train"])
    assert not (tmp_path / "facades" / "train").exists()


def test_an_archive_extracts_without_extraction_filters(tmp_path, formats, monkeypatch):
    from grader.data.fetch import extract_splits

    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    (tmp_path / "facades").mkdir()
    archive = tmp_path / "facades" / "facades.tar.gz"
    archive.write_bytes(_tar_gz({f"facades/{split}/1.jpg": _jpeg(formats, 40) for split in ("train", "test")}))
    extract_splits(archive, tmp_path / "facades", ["train", "test"])
    assert (tmp_path / "facades" / "train" / "1.jpg").read_bytes() == _jpeg(formats, 40)
