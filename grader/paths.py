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
SUITES_DIR = PACKAGE_DIR / "suites"
DATASETS_DIR = REPO_ROOT / "datasets"
RUNS_DIR = REPO_ROOT / "runs"


def solutions_optional(function):
    """Mark a function that reads `solutions/` only where it exists and has another way without it
    (`grader.training.drawing.trained_model`). The student edition's release
    (`grader.handout.strip.Reach`) then counts code that calls it as runnable without the reference."""
    return function
