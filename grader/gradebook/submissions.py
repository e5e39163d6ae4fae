"""Find the submissions in a folder, and copy their practice files out without trusting them.

A submission is a folder or a `.zip` named by the student id. Only regular files named
`<practice>.py` are taken, as bytes, never extracted to disk here: nothing else of a submission is
read, written or followed. What is wrong with one submission becomes a one-line reason for that
student (`Rejected`), or a note, never an error of the batch:

- a corrupt or password-protected zip, a zip with `../` or absolute member paths;
- more than `max_bytes` of files (from the zip headers, from `lstat`, and again while reading:
  a header may lie), or more than `MAX_ENTRIES` entries;
- symbolic links (never followed; a linked practice file is not graded, with the reason);
- names that are not UTF-8, two submissions with the same id, no practice file at all;
- files for practices the course does not have (ignored, with a note).

A `<practice>.ipynb` stands for `<practice>.py` when there is no `.py` of that practice: its code
cells become the module (`grader.notebook_source`; magics dropped with a note, a cell that does not
parse is the practice's reason, by cell number), and its outputs are never read.

The practice files are taken at the shallowest depth where they appear, so `alice.zip` holding
`alice/<practice>.py` (a zipped folder) works like a folder `alice/` holding `<practice>.py`. An
upload renamed by an LMS (`<practice> (1).py`, `<practice>-1.py`, Canvas's `alice_123_456_<practice>.py`) stands for
its practice when no file has the practice's own name, with a note; a Moodle folder
`Alice Smith_123_assignsubmission_file_` is the student `Alice Smith_123`. Any other `.py` file is
not graded, but one that defines most of a missing practice's functions and classes is named in a
note (`grader.gradebook.renamed`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.gradebook import renamed

MAX_BYTES = 50 * 2**20
MAX_ENTRIES = 10_000
MAX_DEPTH = 8
LOOKALIKE_FILES = 5  # files under other names read to see whether they look like a missing practice
_CHUNK = 1 << 16


class Rejected(Exception):
    """A submission that cannot be graded; the message is the reason, one line."""


@dataclass
class Found:
    """One submission in the folder, before anything of it is read."""

    student: str
    path: Path
    kind: str  # "folder", "zip", or "entry" for what is rejected before unpacking
    problem: str = ""
    note: str = ""  # how the id was read from the entry's name (a Moodle folder)


@dataclass
class Unpacked:
    """The practice files of a submission, as bytes, and what was noticed on the way."""

    files: dict[str, bytes] = field(default_factory=dict)  # "<practice>.py" -> source
    problems: dict[str, str] = field(default_factory=dict)  # practice -> why its file was not taken
    notes: list[str] = field(default_factory=list)
    submitted_at: float | None = None  # mtime of the zip, or of the newest practice file
    # practice -> {"name": the notebook's path in the submission, "cells": NotebookModule.cells}: the
    # practices whose module was made from a notebook, so that places name its cells
    notebooks: dict[str, dict] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(f"{name}\0{len(self.files[name])}\0".encode() + self.files[name])
        for practice in sorted(self.problems):
            digest.update(f"problem\0{practice}\0{self.problems[practice]}\0".encode())
        if self.notebooks:  # the places a report shows depend on it
            digest.update(b"notebooks\0" + json.dumps(self.notebooks, sort_keys=True).encode())
        return digest.hexdigest()


def printable(name: str) -> str:
    """A file name as text that can be stored and shown: undecodable bytes as \\xNN escapes."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _name_problem(name: str) -> str:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not valid UTF-8"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "its name holds control characters"
    return ""


def discover(folder: Path) -> tuple[list[Found], list[str]]:
    """The submissions in `folder`, by student id; and the entries ignored (loose files)."""
    by_student: dict[str, list[tuple[Path, str]]] = {}
    ignored: list[str] = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        name = entry.name
        if name.startswith("."):
            continue
        if entry.is_symlink():
            kind, student = "entry", name.removesuffix(".zip")
        elif entry.is_dir(follow_symlinks=False):
            kind, student = "folder", name
            moodle = renamed.moodle_student(name)
            if moodle and moodle[1] != "file":  # Moodle's online text beside the files: nothing to grade
                ignored.append(printable(name))
                continue
            student = moodle[0] if moodle else name
        elif entry.is_file(follow_symlinks=False) and name.lower().endswith(".zip") and len(name) > 4:
            kind, student = "zip", name[:-4]
        else:
            ignored.append(printable(name))
            continue
        by_student.setdefault(student, []).append((Path(entry.path), kind))
    found = []
    for student, entries in by_student.items():
        path, kind = entries[0]
        problem = _name_problem(student)
        if len(entries) > 1:
            names = ", ".join(printable(p.name) + ("/" if k == "folder" else "") for p, k in entries)
            problem = f"two submissions with this id ({names}): keep one"
        elif kind == "entry":
            problem = f"{printable(path.name)} is a symbolic link; submit a folder or a .zip"
        note = f"the folder {printable(path.name)} (Moodle's) is the student {printable(student)}" \
            if kind == "folder" and path.name != student else ""
        found.append(Found(printable(student), path, "entry" if problem else kind, problem, note))
    return found, ignored


def unpack(found: Found, practices: list[str], known: list[str], max_bytes: int = MAX_BYTES) -> Unpacked:
    """Read the practice files of `found` (only those of `practices`); raise `Rejected` if unusable.

    `known` are all the course's practices: a `.py` file for none of them gets a note.
    """
    if found.problem:
        raise Rejected(found.problem)
    members = _zip_members(found.path, max_bytes) if found.kind == "zip" else _folder_members(found.path, max_bytes)
    result = Unpacked(notes=[found.note] * bool(found.note) + list(members.notes))
    chosen = _choose(members.entries, practices, known, result)
    total = 0
    try:
        for practice, entry in chosen.items():
            data = members.read(entry, max_bytes - total)
            total += len(data)
            if entry.parts[-1].endswith(".ipynb"):
                data = _notebook_module(data, "/".join(entry.parts), practice, result)
                if data is None:
                    continue
            result.files[f"{practice}.py"] = data
        _note_strangers(members, known, [p for p in practices if p not in chosen], max_bytes - total, result)
    finally:
        members.close()
    if found.kind == "zip":
        result.submitted_at = found.path.lstat().st_mtime
    else:
        times = [e.mtime for e in chosen.values()]
        result.submitted_at = max(times) if times else found.path.lstat().st_mtime
    if not result.files:
        expected = ", ".join(f"{p}.py" for p in practices)
        reasons = "; ".join([*result.problems.values(), *(n for n in result.notes if " looks like " in n)])
        raise Rejected(f"no practice file to grade ({reasons})" if reasons
                       else f"no practice file to grade (expected {expected})")
    return result


@dataclass
class _Entry:
    parts: tuple[str, ...]  # the path inside the submission, as components
    kind: str  # "file", "link", "other"
    size: int = 0
    mtime: float = 0.0
    ref: object = None  # a ZipInfo, or a Path


@dataclass
class _Members:
    entries: list[_Entry]
    notes: list[str]
    read: object  # (entry, limit) -> bytes
    close: object = lambda: None


def _notebook_module(data: bytes, shown: str, practice: str, result: Unpacked) -> bytes | None:
    """A submitted `<practice>.ipynb` as the module it stands for; None (and a problem) if it cannot be."""
    from grader.notebook_source import NotebookError, notebook_module

    try:
        module = notebook_module(data, shown)
    except NotebookError as error:
        result.problems[practice] = str(error)
        return None
    result.notes += module.notes
    result.notebooks[practice] = {"name": shown, "cells": [list(cell) for cell in module.cells]}
    return module.text.encode()


def _choose(entries: list[_Entry], practices: list[str], known: list[str], result: Unpacked) -> dict[str, _Entry]:
    """Each practice's file at the shallowest depth: `<practice>.py`, `.ipynb`, else an LMS's renaming."""
    chosen: dict[str, _Entry] = {}
    names = {id(e): renamed.lms_name(e.parts[-1], known) for e in entries}
    for practice in practices:
        matches = [e for e in entries if e.parts[-1] == f"{practice}.py"] or \
            [e for e in entries if e.parts[-1] == f"{practice}.ipynb"]
        lms = [e for e in entries if names[id(e)] and names[id(e)].practice == practice]
        if not matches and lms:
            matches = [e for e in lms if names[id(e)].suffix == ".py"] or lms
            depth = min(len(e.parts) for e in matches)
            latest = max((e for e in matches if len(e.parts) == depth), key=lambda e: names[id(e)].copy)
            result.notes.append(names[id(latest)].note("/".join(latest.parts)))
            matches = [latest]
        elif matches and lms:
            shown = ", ".join("/".join(e.parts) for e in lms[:3])
            result.notes.append(f"ignored {shown}: {matches[0].parts[-1]} is graded")
        if not matches:
            continue
        depth = min(len(e.parts) for e in matches)
        shallowest = [e for e in matches if len(e.parts) == depth]
        if len(shallowest) > 1:
            where = ", ".join("/".join(e.parts) for e in shallowest[:3])
            result.problems[practice] = f"{shallowest[0].parts[-1]} appears more than once ({where}): keep one"
        elif shallowest[0].kind == "link":
            result.problems[practice] = f"{'/'.join(shallowest[0].parts)} is a symbolic link: submit the file itself"
        elif shallowest[0].kind != "file":
            result.problems[practice] = f"{'/'.join(shallowest[0].parts)} is not a regular file"
        else:
            chosen[practice] = shallowest[0]
    return chosen


def _note_strangers(members: _Members, known: list[str], missing: list[str], limit: int, result: Unpacked) -> None:
    """Notes on the `.py` files that stand for no practice; one that looks like a missing practice is named."""
    entries = members.entries
    others = [e for e in entries if e.parts[-1].endswith(".py") and e.parts[-1][:-3] not in known
              and not renamed.lms_name(e.parts[-1], known)]
    named = set()
    for entry in others[:LOOKALIKE_FILES]:
        if not missing or entry.kind != "file" or entry.size > limit:
            continue
        try:
            found = renamed.lookalike(members.read(entry, limit), missing)
        except Rejected:  # it changed while it was read: it was not going to be graded anyway
            continue
        if found:
            practice, names = found
            shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
            result.notes.append(f"{'/'.join(entry.parts)} looks like {practice}.py (it defines {shown}) but was "
                                f"not graded: only a file named {practice}.py is; rename it")
            missing, named = [p for p in missing if p != practice], named | {id(entry)}
    strangers = sorted({"/".join(e.parts) for e in others if id(e) not in named})
    if strangers:
        shown = ", ".join(strangers[:5]) + (f" and {len(strangers) - 5} more" if len(strangers) > 5 else "")
        result.notes.append(f"ignored {shown}: not a practice of this course "
                            f"(practice files are {', '.join(p + '.py' for p in known)})")
    has_module = {e.parts[-1][:-3] for e in entries if e.parts[-1].endswith(".py")}
    notebooks = sorted("/".join(e.parts) for e in entries
                       if e.parts[-1].endswith(".ipynb") and e.parts[-1][:-6] in has_module & set(known))
    if notebooks:
        result.notes.append(f"ignored {', '.join(notebooks[:5])}: the .py file of the same practice is graded")


def _skipped(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" or p == "__pycache__" for p in parts)


def _too_big(total: int, max_bytes: int) -> Rejected:
    return Rejected(f"holds {total / 2**20:.1f} MiB of files, more than the {max_bytes / 2**20:g} MiB allowed")


# ---- folders ------------------------------------------------------------------------------------

def _folder_members(root: Path, max_bytes: int) -> _Members:
    entries: list[_Entry] = []
    notes: list[str] = []
    total = 0

    def walk(folder: Path, parts: tuple[str, ...]) -> None:
        nonlocal total
        try:
            listing = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            raise Rejected(f"cannot list {'/'.join(parts) or 'the folder'}: {error.strerror}") from None
        for entry in listing:
            if len(entries) >= MAX_ENTRIES:
                raise Rejected(f"holds more than {MAX_ENTRIES} files")
            if _name_problem(entry.name):
                notes.append(f"ignored {printable('/'.join(parts + (entry.name,)))}: the name is not valid UTF-8")
                continue
            here = parts + (entry.name,)
            if _skipped(here):
                continue
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                entries.append(_Entry(here, "link"))
            elif stat.S_ISDIR(info.st_mode):
                if len(here) < MAX_DEPTH:
                    walk(Path(entry.path), here)
            elif stat.S_ISREG(info.st_mode):
                total += info.st_size
                if total > max_bytes:
                    raise _too_big(total, max_bytes)
                entries.append(_Entry(here, "file", info.st_size, info.st_mtime, Path(entry.path)))
            else:
                entries.append(_Entry(here, "other"))

    walk(root, ())
    return _Members(entries, notes, _read_file)


def _read_file(entry: _Entry, limit: int) -> bytes:
    """Read a regular file without following a link or blocking on a FIFO swapped in meanwhile."""
    try:
        handle = os.open(entry.ref, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise Rejected(f"cannot read {'/'.join(entry.parts)}: {error.strerror}") from None
    with os.fdopen(handle, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise Rejected(f"{'/'.join(entry.parts)} changed while it was read")
        data = file.read(limit + 1)
    if len(data) > limit:
        raise Rejected(f"{'/'.join(entry.parts)} grew past the size limit while it was read")
    return data


# ---- zips ---------------------------------------------------------------------------------------

_DRIVE = re.compile(r"^[A-Za-z]:")


def _zip_members(path: Path, max_bytes: int) -> _Members:
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
        raise Rejected(f"not a readable .zip file ({error})") from None
    if len(infos) > MAX_ENTRIES:
        raise Rejected(f"holds more than {MAX_ENTRIES} files")
    try:
        return _scan_zip(archive, infos, max_bytes)
    except BaseException:
        archive.close()
        raise


def _scan_zip(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], max_bytes: int) -> _Members:
    entries: list[_Entry] = []
    notes: list[str] = []
    declared = 0
    for info in infos:
        name = _member_name(info)
        if name is None:
            notes.append(f"ignored a member whose name is not valid UTF-8 ({printable(info.filename)!s})")
            continue
        if name.startswith(("/", "\\")) or _DRIVE.match(name):
            raise Rejected(f"unsafe path in the zip: {name!r} is absolute")
        parts = tuple(p for p in re.split(r"[/\\]", name) if p not in ("", "."))
        if ".." in parts:
            raise Rejected(f"unsafe path in the zip: {name!r} leads outside the submission")
        if info.flag_bits & 0x1:
            raise Rejected("the zip is password-protected")
        declared += info.file_size
        if declared > max_bytes:
            raise _too_big(declared, max_bytes)
        if not parts or info.is_dir() or _skipped(parts):
            continue
        mode = (info.external_attr >> 16) & 0o170000
        kind = "link" if mode == stat.S_IFLNK else "file" if mode in (0, stat.S_IFREG) else "other"
        entries.append(_Entry(parts, kind, info.file_size, 0.0, info))

    def read(entry: _Entry, limit: int) -> bytes:
        info: zipfile.ZipInfo = entry.ref
        chunks, size = [], 0
        try:
            with archive.open(info) as member:
                while chunk := member.read(_CHUNK):
                    size += len(chunk)
                    if size > info.file_size or size > limit:
                        raise Rejected(f"{'/'.join(entry.parts)} unpacks to more than its zip header says "
                                       f"or past the {max_bytes / 2**20:g} MiB limit")
                    chunks.append(chunk)
        except Rejected:
            raise
        except Exception as error:  # noqa: BLE001  zlib, CRC, truncation: all mean a corrupt zip
            raise Rejected(f"not a readable .zip file ({'/'.join(entry.parts)}: {error})") from None
        return b"".join(chunks)

    return _Members(entries, notes, read, archive.close)


def _member_name(info: zipfile.ZipInfo) -> str | None:
    """The member's name as UTF-8 text, or None when it is not UTF-8."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437")  # zipfile decoded the raw bytes as cp437
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
