"""Decode once, then load fast: a `.pt` cache of decoded tensors kept next to the data.

A cache stores the tensors together with a key made of each source file's name, size and mtime.
Touching, replacing or truncating a source changes the key, so the next load decodes again and
rewrites the cache. Caches are loaded with `torch.load(..., weights_only=True)`: a cache file holds
tensors, strings and numbers, never arbitrary pickled objects.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

CACHE_FORMAT = 1  # bump when a decoder's output changes, so old caches are rebuilt
CACHE_SUFFIX = ".cache.pt"


def source_key(sources: Sequence[Path], relative_to: Path) -> list[list[str | int]]:
    """`[[relative name, size, mtime_ns], ...]` for each source file, in the order given."""
    key: list[list[str | int]] = []
    for path in sources:
        stat = path.stat()
        key.append(
            [Path(os.path.relpath(path, relative_to)).as_posix(), stat.st_size, stat.st_mtime_ns]
        )
    return key


def _read(cache_path: Path, key: list) -> dict[str, Any] | None:
    """The cached tensors if the cache exists, can be read and matches `key`; else None."""
    if not cache_path.is_file():
        return None
    try:
        stored = torch.load(cache_path, map_location="cpu", weights_only=True)
    except Exception:  # an unreadable cache (ours, perhaps half-written) is simply rebuilt
        return None
    if (
        not isinstance(stored, dict)
        or stored.get("format") != CACHE_FORMAT
        or stored.get("key") != key
    ):
        return None
    return stored["tensors"]


def _write(cache_path: Path, key: list, tensors: dict[str, Any]) -> None:
    """Write the cache atomically (temp file, then rename); a read-only data root is no error."""
    partial = cache_path.with_name(cache_path.name + ".part")
    try:
        torch.save({"format": CACHE_FORMAT, "key": key, "tensors": tensors}, partial)
        os.replace(partial, cache_path)
    except OSError:
        partial.unlink(missing_ok=True)


def cached_decode(
    cache_path: Path,
    sources: Sequence[Path],
    decode: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Return `decode()`'s tensors, from `cache_path` when it is fresh for `sources`.

    Args:
        cache_path: where the cache lives, next to the sources (e.g. `<root>/mnist/mnist.cache.pt`).
        sources: the files `decode` reads; their sizes and mtimes make the cache key.
        decode: reads the sources and returns named tensors (or lists of strings, such as class
            names); its `DataError`s propagate.
    """
    key = source_key(sources, cache_path.parent)
    tensors = _read(cache_path, key)
    if tensors is None:
        tensors = decode()
        _write(cache_path, key, tensors)
    return tensors
