"""Where the data lives and what it must be: the data root and `datasets/manifest.json`.

The data root is, in order: an explicit override (`--data-root`), the `BOOTCAMP_DATA` environment
variable, or `datasets/` in the repository. Inside it each set has its own folder:

    <root>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
    <root>/cifar10/cifar-10-python.tar.gz
    <root>/facades/facades.tar.gz and, extracted from it, <root>/facades/{train,val,test}/*.jpg

The manifest, which ships with the repository (not with the data), lists for each set its files
with md5, size in bytes and download URLs (mirrors in order), its licence and a description.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from grader.data.sets import DataError
from grader.paths import DATASETS_DIR

MANIFEST_PATH = DATASETS_DIR / "manifest.json"


@dataclass(frozen=True)
class FileSpec:
    """One published file: its place under the data root and how to get and check it."""

    path: str  # relative to the data root, '/'-separated
    md5: str | None  # None where no checksum is published
    size: int | None  # bytes; None where unknown
    urls: tuple[str, ...]  # mirrors, tried in order


@dataclass(frozen=True)
class SetSpec:
    """A data set as the manifest describes it.

    `kind` says how the files are read ("mnist", "cifar10", or "paired": A|B image pairs in split
    folders extracted from an archive); `splits` maps each split to its expected image count (for
    "paired", each split folder extracted from the archive).
    """

    name: str
    kind: str
    description: str
    licence: str
    homepage: str
    files: tuple[FileSpec, ...]
    splits: dict[str, int]


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, SetSpec]:
    """Read the manifest into `{name: SetSpec}`; a malformed manifest is a `DataError`."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        sets = {
            name: SetSpec(
                name=name,
                kind=entry["kind"],
                description=entry["description"],
                licence=entry["licence"],
                homepage=entry["homepage"],
                files=tuple(
                    FileSpec(f["path"], f["md5"], f["size"], tuple(f["urls"]))
                    for f in entry["files"]
                ),
                splits=dict(entry["splits"]),
            )
            for name, entry in raw["sets"].items()
        }
    except FileNotFoundError:
        raise DataError(f"{path}: the data manifest is missing") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: malformed data manifest ({type(exc).__name__}: {exc})") from None
    for spec in sets.values():
        if stray := [f.path for f in spec.files if not f.path.startswith(f"{spec.name}/")]:
            raise DataError(
                f"{path}: {spec.name}'s file {stray[0]} must lie in its folder {spec.name}/"
            )
    return sets


def file_md5(path: Path, chunk_size: int = 1 << 20) -> str:
    """The hex md5 of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def size_problem(path: Path, spec: FileSpec) -> str | None:
    """Why `path` cannot be `spec` judging by its size alone, or None (a cheap check for `list`)."""
    actual = path.stat().st_size
    if spec.size is not None and actual != spec.size:
        kind = "truncated" if actual < spec.size else "too large"
        return f"{path}: {actual:,} bytes, expected {spec.size:,} ({kind}: an interrupted copy?)"
    return None


def checksum_problem(path: Path, spec: FileSpec) -> str | None:
    """Why `path` is not `spec` judging by size then md5, or None when it matches."""
    if problem := size_problem(path, spec):
        return problem
    if spec.md5 is not None and (actual := file_md5(path)) != spec.md5:
        return f"{path}: md5 is {actual}, expected {spec.md5} (corrupt or a different file)"
    return None
