"""Finding submissions and reading their practice files: every kind of bad input is one reason."""

from __future__ import annotations

import os
import stat
import zipfile

import pytest
from gradebook_classes import SOLUTION, write_folder, write_zip

from grader.gradebook.submissions import Found, Rejected, discover, unpack

PRACTICES = ["basics", "conv_shapes"]
KNOWN = ["basics", "conv_shapes", "mnist_cnn"]


def found_in(folder, student):
    found, _ = discover(folder)
    return next(f for f in found if f.student == student)


def reason(folder, student, **options) -> str:
    with pytest.raises(Rejected) as caught:
        unpack(found_in(folder, student), PRACTICES, KNOWN, **options)
    return str(caught.value)


def test_discover_names_students_by_folder_and_zip(tmp_path):
    write_folder(tmp_path / "alice", {"basics.py": "x = 1"})
    write_zip(tmp_path / "bob.zip", {"basics.py": "x = 1"})
    write_zip(tmp_path / "Carol.ZIP", {"basics.py": "x = 1"})
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / ".DS_Store").write_text("")
    found, ignored = discover(tmp_path)
    assert {(f.student, f.kind) for f in found} == {("alice", "folder"), ("bob", "zip"), ("Carol", "zip")}
    assert ignored == ["notes.txt"]


def test_two_submissions_with_one_id_are_both_rejected(tmp_path):
    write_folder(tmp_path / "alice", {"basics.py": "x = 1"})
    write_zip(tmp_path / "alice.zip", {"basics.py": "x = 1"})
    found, _ = discover(tmp_path)
    assert len(found) == 1
    assert "two submissions with this id (alice/, alice.zip)" in reason(tmp_path, "alice")


def test_a_symlinked_submission_is_not_followed(tmp_path):
    write_folder(tmp_path / "real", {"basics.py": "x = 1"})
    (tmp_path / "mallory").symlink_to(tmp_path / "real")
    assert "symbolic link" in reason(tmp_path, "mallory")


def test_a_name_that_is_not_utf8_is_rejected_with_a_printable_id(tmp_path):
    write_folder(tmp_path / os.fsdecode(b"ren\xe9"), {"basics.py": "x = 1"})
    found, _ = discover(tmp_path)
    assert found[0].student == "ren\\xe9"
    assert "not valid UTF-8" in reason(tmp_path, "ren\\xe9")


def test_a_folder_gives_only_its_practice_files(tmp_path):
    write_folder(tmp_path / "alice", {"basics.py": SOLUTION["basics"], "conv_shapes.py": "y = 2\n",
                                      "helper.py": "z = 3\n", "basics.ipynb": "{}", "data.csv": "1,2"})
    unpacked = unpack(found_in(tmp_path, "alice"), PRACTICES, KNOWN)
    assert set(unpacked.files) == {"basics.py", "conv_shapes.py"}
    assert unpacked.files["basics.py"] == SOLUTION["basics"].encode()
    assert any("helper.py" in note and "not a practice" in note for note in unpacked.notes)
    assert any("basics.ipynb" in note for note in unpacked.notes)


def test_only_the_graded_practices_are_taken(tmp_path):
    write_folder(tmp_path / "alice", {"basics.py": "x = 1\n", "conv_shapes.py": "y = 2\n"})
    unpacked = unpack(found_in(tmp_path, "alice"), ["basics"], KNOWN)
    assert set(unpacked.files) == {"basics.py"} and not unpacked.notes


def test_a_zipped_folder_works_like_a_folder(tmp_path):
    write_zip(tmp_path / "bob.zip", {"bob/basics.py": "x = 1\n", "bob/__MACOSX/._basics.py": "junk",
                                     "__MACOSX/bob/._basics.py": "junk", "bob/deep/er/conv_shapes.py": "y = 2\n"})
    unpacked = unpack(found_in(tmp_path, "bob"), PRACTICES, KNOWN)
    assert unpacked.files == {"basics.py": b"x = 1\n", "conv_shapes.py": b"y = 2\n"}


def test_the_same_practice_twice_at_one_depth_is_a_practice_problem(tmp_path):
    write_zip(tmp_path / "bob.zip", {"a/basics.py": "x = 1\n", "b/basics.py": "x = 2\n", "conv_shapes.py": "y = 2\n"})
    unpacked = unpack(found_in(tmp_path, "bob"), PRACTICES, KNOWN)
    assert set(unpacked.files) == {"conv_shapes.py"}
    assert "appears more than once" in unpacked.problems["basics"]


@pytest.mark.parametrize("member, phrase", [
    ("../evil.py", "leads outside the submission"),
    ("a/../../evil.py", "leads outside the submission"),
    ("/etc/evil.py", "is absolute"),
    ("C:/evil.py", "is absolute"),
    ("..\\evil.py", "leads outside the submission"),
])
def test_unsafe_zip_paths_are_rejected(tmp_path, member, phrase):
    write_zip(tmp_path / "mallory.zip", {"basics.py": "x = 1\n", member: "print('escaped')"})
    assert phrase in reason(tmp_path, "mallory")
    assert not (tmp_path.parent / "evil.py").exists()


def test_a_corrupt_zip_is_rejected(tmp_path):
    (tmp_path / "trudy.zip").write_bytes(b"PK\x03\x04garbage")
    assert "not a readable .zip" in reason(tmp_path, "trudy")


def test_a_zip_whose_member_is_corrupt_is_rejected(tmp_path):
    path = write_zip(tmp_path / "trudy.zip", {"basics.py": "x = 1\n" * 1000})
    data = bytearray(path.read_bytes())
    start = data.index(b"basics.py") + len("basics.py")
    data[start + 10:start + 40] = b"\x00" * 30  # damage the compressed stream, keep the headers
    path.write_bytes(bytes(data))
    assert "not a readable .zip" in reason(tmp_path, "trudy")


def test_a_password_protected_zip_is_rejected(tmp_path):
    path = write_zip(tmp_path / "sam.zip", {"basics.py": "x = 1\n"})
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the "encrypted" flag bit
        at = data.index(signature)
        data[at + offset] |= 1
    path.write_bytes(bytes(data))
    assert "password-protected" in reason(tmp_path, "sam")


def test_a_zip_bomb_is_rejected_from_its_headers(tmp_path):
    write_zip(tmp_path / "zoe.zip", {"basics.py": "x = 1\n", "big.bin": bytes(3 * 2**20)})
    assert (tmp_path / "zoe.zip").stat().st_size < 2**20
    assert "more than the 2 MiB allowed" in reason(tmp_path, "zoe", max_bytes=2 * 2**20)


def test_a_zip_header_that_lies_about_the_size_is_caught_while_reading(tmp_path):
    path = tmp_path / "liar.zip"
    write_zip(path, {"basics.py": "x = 1\n" * 100_000})
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size -> 10 bytes
        at = data.index(signature)
        data[at + offset:at + offset + 4] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("basics.py").file_size == 10
    why = reason(tmp_path, "liar")  # zipfile stops at the declared size, then the checksum fails
    assert "more than its zip header says" in why or "Bad CRC-32" in why


def test_a_folder_too_large_is_rejected(tmp_path):
    write_folder(tmp_path / "zoe", {"basics.py": "x = 1\n", "big.bin": bytes(3 * 2**20)})
    assert "MiB allowed" in reason(tmp_path, "zoe", max_bytes=2 * 2**20)


def test_symlinked_practice_files_are_not_followed(tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text("TOKEN = 'do not read'\n")
    walter = write_folder(tmp_path / "subs" / "walter", {"conv_shapes.py": "y = 2\n"})
    (walter / "basics.py").symlink_to(secret)
    unpacked = unpack(found_in(tmp_path / "subs", "walter"), PRACTICES, KNOWN)
    assert set(unpacked.files) == {"conv_shapes.py"}
    assert "symbolic link" in unpacked.problems["basics"]
    assert b"do not read" not in b"".join(unpacked.files.values())


def test_symlinks_in_zips_are_not_extracted(tmp_path):
    path = tmp_path / "walter.zip"
    with zipfile.ZipFile(path, "w") as archive:
        link = zipfile.ZipInfo("basics.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    assert "symbolic link" in reason(tmp_path, "walter")


def test_special_files_are_not_read(tmp_path):
    folder = write_folder(tmp_path / "fifo", {"conv_shapes.py": "y = 2\n"})
    os.mkfifo(folder / "basics.py")  # reading it would block forever
    unpacked = unpack(found_in(tmp_path, "fifo"), PRACTICES, KNOWN)
    assert "not a regular file" in unpacked.problems["basics"]


def test_non_utf8_member_names_are_ignored_with_a_note(tmp_path):
    folder = write_folder(tmp_path / "frank", {"basics.py": "x = 1\n"})
    (folder / os.fsdecode(b"caf\xe9.py")).write_text("y = 2\n")
    unpacked = unpack(found_in(tmp_path, "frank"), PRACTICES, KNOWN)
    assert set(unpacked.files) == {"basics.py"}
    assert any("not valid UTF-8" in note for note in unpacked.notes)


def test_an_empty_folder_is_rejected(tmp_path):
    (tmp_path / "peggy").mkdir()
    assert "no practice file to grade (expected basics.py, conv_shapes.py)" in reason(tmp_path, "peggy")


def test_the_content_hash_follows_the_files_only(tmp_path):
    write_folder(tmp_path / "a", {"basics.py": "x = 1\n", "notes.txt": "one"})
    write_zip(tmp_path / "b.zip", {"b/basics.py": "x = 1\n", "b/notes.txt": "two"})
    first = unpack(found_in(tmp_path, "a"), PRACTICES, KNOWN).content_hash
    assert first == unpack(found_in(tmp_path, "b"), PRACTICES, KNOWN).content_hash
    (tmp_path / "a" / "basics.py").write_text("x = 2\n")
    assert unpack(found_in(tmp_path, "a"), PRACTICES, KNOWN).content_hash != first


def test_a_found_problem_rejects_before_anything_is_read(tmp_path):
    with pytest.raises(Rejected, match="already known"):
        unpack(Found("x", tmp_path / "missing", "entry", "already known"), PRACTICES, KNOWN)
