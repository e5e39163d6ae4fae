"""Download a set's published files, verify them, and (paired sets) extract the archive.

Each file is written to `<file>.part` and renamed only once its size and md5 match the manifest,
so a final file is never half-written. An interrupted `.part` is resumed with an HTTP Range
request (or restarted when the server does not honour it); mirrors are tried in order. Without a
network, one error lists the exact files to place by hand and where. A file the user already
placed is never overwritten or deleted: if it is corrupt, fetch says so and stops.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from rich.progress import Progress

from grader.data.manifest import FileSpec, SetSpec, checksum_problem
from grader.data.sets import DataError

TIMEOUT_S = 10.0
CHUNK_BYTES = 1 << 16
USER_AGENT = "dl-bootcamp-data-fetch/1"
STAGING_DIR = ".extract.part"


class NetworkUnavailable(DataError):
    """No mirror could be reached, or every transfer broke off (a `.part` is kept for resuming)."""


class _ServerRefused(Exception):
    """The server answered, but not with the file (HTTP error or wrong checksum)."""


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _resume_offset(response: http.client.HTTPResponse, offset: int) -> int:
    """Where the body starts: `offset` for a matching 206 Partial Content, else 0 (restart)."""
    if offset and response.status == 206:
        match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
        if match and int(match.group(1)) == offset:
            return offset
    return 0


def _download(url: str, part: Path, timeout: float, progress: Progress | None) -> None:
    """Append to (or start) `part` from `url`, resuming from its current size."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout
        )
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the .part is complete or stale: start again
            part.unlink()
            return _download(url, part, timeout, progress)
        raise _ServerRefused(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise NetworkUnavailable(f"{url}: {getattr(exc, 'reason', exc)}") from None
    with response:
        offset = _resume_offset(response, offset)
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        task = (
            progress.add_task(part.name.removesuffix(".part"), total=total, completed=offset)
            if progress
            else None
        )
        try:
            with open(part, "ab" if offset else "wb") as out:
                while True:
                    try:
                        chunk = response.read(CHUNK_BYTES)
                    except (OSError, http.client.HTTPException) as exc:
                        raise NetworkUnavailable(f"{url}: transfer interrupted ({exc})") from None
                    if not chunk:
                        break
                    out.write(chunk)
                    if progress:
                        progress.advance(task, len(chunk))
        except OSError as exc:
            raise DataError(f"{part}: cannot write ({exc.strerror or exc})") from None


def _unchecked_archive_problem(part: Path, spec: FileSpec) -> str | None:
    """With no md5 to check, at least refuse a download that is not an archive (an error page)."""
    if (
        spec.md5 is None
        and spec.path.endswith((".tar.gz", ".tgz"))
        and not tarfile.is_tarfile(part)
    ):
        return f"{part}: not a tar archive"
    return None


def fetch_file(
    dest: Path, spec: FileSpec, *, timeout: float = TIMEOUT_S, progress: Progress | None = None
) -> bool:
    """Make `dest` hold the file `spec` describes, downloading it if absent.

    Returns:
        True if it was downloaded, False if a matching file was already there.

    Raises:
        NetworkUnavailable: no mirror could be reached (a partial `.part` is kept for resuming).
        DataError: `dest` exists but does not match (it is left in place), or every mirror that
            answered refused the file or sent one that does not match its md5.
    """
    if dest.is_file():
        if problem := checksum_problem(dest, spec):
            raise DataError(f"{problem}; it was left in place: move it away and fetch again")
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part_path(dest)
    network_failures, refusals = [], []
    for url in spec.urls:
        try:
            _download(url, part, timeout, progress)
        except NetworkUnavailable as exc:
            network_failures.append(str(exc))
            continue
        except _ServerRefused as exc:
            refusals.append(str(exc))
            continue
        if problem := checksum_problem(part, spec) or _unchecked_archive_problem(part, spec):
            part.unlink()  # our own temp file: a bad download is not kept
            refusals.append(f"{url}: {problem}")
            continue
        os.replace(part, dest)
        return True
    if refusals:
        raise DataError(f"could not download {dest.name}: {'; '.join(refusals + network_failures)}")
    raise NetworkUnavailable("; ".join(network_failures))


def extract_splits(archive: Path, directory: Path, splits: list[str]) -> None:
    """Extract the split folders of `archive` (members `<name>/<split>/...`) into `directory`.

    Extraction goes to a staging folder first; only split folders not already present are moved
    into place, so nothing the user placed is overwritten.
    """
    if all((directory / split).is_dir() for split in splits):
        return
    staging = directory / STAGING_DIR
    shutil.rmtree(staging, ignore_errors=True)
    prefix = f"{directory.name}/"
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            if stray := [m.name for m in members if not (m.name + "/").startswith(prefix)]:
                raise DataError(
                    f"{archive}: unexpected member {stray[0]!r}, expected all under {prefix}"
                )
            if hasattr(tarfile, "data_filter"):
                tar.extractall(staging, filter="data")
            else:  # Python 3.11.0-3.11.3 has no extraction filters: the "data" filter's refusals by hand
                if unsafe := [m.name for m in members if not (m.isfile() or m.isdir())
                              or m.name.startswith("/") or ".." in Path(m.name).parts]:
                    raise DataError(f"{archive}: unsafe member {unsafe[0]!r} (a link, a device, or outside {prefix})")
                tar.extractall(staging, members)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise DataError(
            f"{archive}: truncated or corrupt archive ({exc or type(exc).__name__})"
        ) from None
    for split in splits:
        if (staging / directory.name / split).is_dir() and not (directory / split).exists():
            os.replace(staging / directory.name / split, directory / split)
    shutil.rmtree(staging, ignore_errors=True)


def _place_by_hand(spec: SetSpec, root: Path) -> str:
    """The lines telling the user which files to place where, and where to get them."""
    lines = []
    for f in spec.files:
        if not (root / f.path).is_file():
            checksum = f"md5 {f.md5}" if f.md5 else "no published md5"
            lines.append(f"  {root / f.path}  ({checksum}; from {f.urls[0]})")
    return "\n".join(lines)


def fetch_set(
    spec: SetSpec, root: Path, *, timeout: float = TIMEOUT_S, progress: Progress | None = None
) -> list[Path]:
    """Download and verify every file of a set under `root`; extract a paired set's archive.

    Returns:
        The files that were downloaded (empty if all were already present).

    Raises:
        DataError: no network (one message listing the files to place by hand), a download that
            failed or did not match its md5, or a present file that is corrupt.
    """
    downloaded = []
    for file_spec in spec.files:
        dest = root / file_spec.path
        try:
            if fetch_file(dest, file_spec, timeout=timeout, progress=progress):
                downloaded.append(dest)
        except NetworkUnavailable as exc:
            raise DataError(
                f"cannot download {spec.name}: no network ({exc}). "
                f"Place these files by hand, then run `bootcamp data verify {spec.name}`:\n"
                + _place_by_hand(spec, root)
            ) from None
    if spec.kind == "paired":
        extract_splits(root / spec.files[0].path, root / spec.name, list(spec.splits))
    return downloaded
