"""What is on disk: each set's state (present, verified, missing, corrupt), size and place.

`inspect_set` backs both `bootcamp data list` (cheap: presence, sizes, image counts) and
`bootcamp data verify` (thorough: md5, then decoding every file as the loaders do). Nothing found
is changed or deleted: a corrupt file is reported, with what is wrong, and left in place.
"""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.data.cache import CACHE_SUFFIX
from grader.data.cifar import decode_cifar_archive
from grader.data.embedded import (
    MNIST_PACKAGE,
    MNIST_RESOURCE,
    PHOTOS,
    PHOTOS_PACKAGE,
    embedded_mnist,
    embedded_pairs,
    package_file,
)
from grader.data.manifest import SetSpec, checksum_problem, size_problem
from grader.data.mnist import MNIST_FILES, read_mnist_split
from grader.data.pairs import read_split, split_files
from grader.data.sets import DataError

PRESENT, VERIFIED, MISSING, CORRUPT = "present", "verified", "missing", "corrupt"
NO_CHECKSUM = "no checksum published, structure checked"


@dataclass
class SetStatus:
    """One set's state. `problems` says what is wrong (corrupt) or what to place (missing)."""

    name: str
    state: str  # PRESENT, VERIFIED, MISSING or CORRUPT
    location: Path
    size: int  # bytes of data on disk, caches and partial downloads excluded
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def settle(self, thorough: bool) -> SetStatus:
        """Corrupt if any problem was found, else verified after a thorough check."""
        if self.problems:
            self.state = CORRUPT
        elif thorough:
            self.state = VERIFIED
        return self


def data_size(path: Path) -> int:
    """Bytes of the data files under a folder (not caches or `.part` downloads)."""
    if not path.is_dir():
        return 0
    skip = (CACHE_SUFFIX, ".part")
    return sum(
        f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.name.endswith(skip)
    )


def _count_problems(what: str, found: int, expected: int | None) -> list[str]:
    return [] if expected in (None, found) else [f"{what}: {found:,} images, expected {expected:,}"]


def _decoded_counts(spec: SetSpec, root: Path) -> dict[str, tuple[str, int]]:
    """Decode the set as the loaders do: `{split: (where, image count)}`. Raises DataError."""
    directory = root / spec.name
    if spec.kind == "mnist":
        counts = {}
        for split in ("train", "test"):
            images_path = directory / MNIST_FILES[f"{split}_images"]
            labels_path = directory / MNIST_FILES[f"{split}_labels"]
            counts[split] = (str(images_path), len(read_mnist_split(images_path, labels_path)[0]))
        return counts
    if spec.kind == "cifar10":
        archive = root / spec.files[0].path
        decoded = decode_cifar_archive(archive)
        return {
            split: (f"{archive} {split}", len(decoded[f"{split}_labels"]))
            for split in ("train", "test")
        }
    return {
        split: (str(directory / split), len(read_split(directory / split)[0]))
        for split in spec.splits
    }


def _structure_problems(spec: SetSpec, root: Path) -> list[str]:
    """Decode the set and compare each split's size with the manifest's."""
    try:
        counts = _decoded_counts(spec, root)
    except DataError as exc:
        return [str(exc)]
    return [
        p
        for split, (where, n) in counts.items()
        for p in _count_problems(where, n, spec.splits.get(split))
    ]


def _archive_problems(archive: Path, spec: SetSpec) -> list[str]:
    """Count each split's images inside an A|B pairs archive, without extracting it."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            names = [member.name for member in tar if member.isfile()]
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        return [f"{archive}: truncated or corrupt archive ({exc or type(exc).__name__})"]
    problems = []
    for split, expected in spec.splits.items():
        found = sum(name.startswith(f"{spec.name}/{split}/") for name in names)
        problems += _count_problems(f"{archive} {spec.name}/{split}/", found, expected)
    return problems


def _inspect_paired(spec: SetSpec, root: Path, thorough: bool) -> SetStatus:
    """A set of A|B pairs is usable extracted (split folders), its archive being optional."""
    directory, archive_spec = root / spec.name, spec.files[0]
    archive = root / archive_spec.path
    status = SetStatus(spec.name, PRESENT, directory, data_size(directory))
    extracted = any((directory / split).is_dir() for split in spec.splits)
    if not extracted and not archive.is_file():
        status.state = MISSING
        folders = ", ".join(f"{split}/" for split in spec.splits)
        status.problems.append(
            f"missing {archive.name} (or the folders {folders} extracted from it)"
        )
        return status
    if archive.is_file():
        if problem := (checksum_problem if thorough else size_problem)(archive, archive_spec):
            status.problems.append(problem)
        elif not extracted:
            status.notes.append(
                f"archive not extracted: `bootcamp data fetch {spec.name}` extracts it"
            )
            if thorough:
                status.problems += _archive_problems(archive, spec)
    if extracted:
        for split, expected in spec.splits.items():
            if not (directory / split).is_dir():
                status.problems.append(f"{directory / split}: folder missing")
            elif not thorough:
                found = len(split_files(directory / split))
                status.problems += _count_problems(str(directory / split), found, expected)
        if thorough and not status.problems:
            status.problems += _structure_problems(spec, root)
    if thorough and archive_spec.md5 is None and not status.problems:
        status.notes.append(NO_CHECKSUM)
    return status.settle(thorough)


def inspect_set(spec: SetSpec, root: Path, *, thorough: bool) -> SetStatus:
    """The state of one manifest set under the data root `root`.

    Args:
        thorough: False checks presence, sizes and (paired sets) image counts, fast, for `list`;
            True also checks md5s and decodes every file, for `verify`.
    """
    if spec.kind == "paired":
        return _inspect_paired(spec, root, thorough)
    status = SetStatus(spec.name, PRESENT, root / spec.name, data_size(root / spec.name))
    if absent := [root / f.path for f in spec.files if not (root / f.path).is_file()]:
        status.state = MISSING
        status.problems += [
            f"missing {path.relative_to(root / spec.name).as_posix()}" for path in absent
        ]
        return status
    check = checksum_problem if thorough else size_problem
    status.problems += [problem for f in spec.files if (problem := check(root / f.path, f))]
    if thorough and not status.problems:
        status.problems += _structure_problems(spec, root)
    return status.settle(thorough)


def _embedded_status(
    name: str, resources: Callable[[], list], load: Callable, thorough: bool
) -> SetStatus:
    try:
        paths = [Path(str(resource)) for resource in resources()]
    except DataError as exc:
        return SetStatus(name, MISSING, Path("-"), 0, problems=[str(exc)])
    location = paths[0] if len(paths) == 1 else paths[0].parent
    status = SetStatus(name, PRESENT, location, sum(path.stat().st_size for path in paths))
    if thorough:
        try:
            status.notes.append(load().source)
        except DataError as exc:
            status.problems.append(str(exc))
    return status.settle(thorough)


def inspect_embedded(*, thorough: bool) -> list[SetStatus]:
    """The embedded sets: present when their package files are; `thorough` also loads them."""
    return [
        _embedded_status(
            "mnist (embedded)",
            lambda: [package_file(MNIST_PACKAGE, *MNIST_RESOURCE)],
            embedded_mnist,
            thorough,
        ),
        _embedded_status(
            "facades (embedded)",
            lambda: [package_file(PHOTOS_PACKAGE, "data", photo) for photo in PHOTOS],
            embedded_pairs,
            thorough,
        ),
    ]
