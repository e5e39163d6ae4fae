"""The Gradescope autograder zip: `bootcamp release --gradescope autograder.zip [-p PRACTICE]...`.

At the zip's root, as Gradescope expects:

- `setup.sh`: run once when Gradescope builds the autograder's image. Installs Python (3.11 or
  newer: the image's `python3` where it is, else `python3.11`), the pinned CPU wheel of torch
  (the version this zip was built with, from PyTorch's CPU index: no CUDA libraries), then this
  grader from `/autograder/source` with the dependencies a student's
  install has (no nbgrader, dask or torchvision: grading needs none of them).
- `run_autograder`: run for each submission; `python -m grader.autograder` (see that module).
- `autograder.json`: the practices to grade and the hidden tests' visibility.
- the grader with every suite, hidden tests included, the recorded values of the reference every
  graded test compares with (`grader/practices/<practice>/expected.pt`,
  `grader.recorded.record(..., hidden=True)`), `pyproject.toml` and the datasets' manifest;
- what the convergence checks need (`convergence_data`): the digit judge's weights and their
  sha256, the declared layers of the models they draw with, and the grader's trusted models as
  `torch.export` programs of the reference architectures, into which the student's trained
  weights are loaded (`grader.judging.drawing`).

No `solutions/`: nothing in the zip needs the reference solutions at run time (where
`solutions/` exists, as in the instructor's repository, the same values are computed live and
the reference itself draws). Students never see this zip
(only the instructor uploads it), and inside Gradescope's container the student's code runs only
in the sandbox's workers, which cannot read the suites or their recorded values. Gradescope runs the
autograder as root in a container with Docker's defaults, which refuses namespaces, so the
sandbox works without them (`grader.sandbox.by_user`): before grading, `run_autograder` closes
everything under `/autograder` to other users but the grader package the workers import
(`grader.autograder.prepare_container`), the grader closes its secret folders again and copies
the upload where only the check's user may read it, and every worker runs as that user, with no
capability, inside a Landlock allowlist where the kernel has Landlock.
"""

from __future__ import annotations

import json
from pathlib import Path

from grader import paths, recorded
from grader.autograder import CONFIG
from grader.handout import zips
from grader.release import ReleaseError

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip
PYTHON=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  # the grader needs Python 3.11 or newer; Ubuntu 22.04, Gradescope's default image, has 3.10
  apt-get install -y --no-install-recommends python3.11 python3.11-venv
  PYTHON=python3.11
fi
"$PYTHON" -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu {torch}
/autograder/venv/bin/pip install -e /autograder/source
mkdir -p /autograder/cache
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission, as root: closes /autograder to other users (but the
# grader package), grades /autograder/submission in the sandbox and writes
# /autograder/results/results.json. BOOTCAMP_AUTOGRADER_ROOT replaces /autograder (for tests).
set -uo pipefail
ROOT="${BOOTCAMP_AUTOGRADER_ROOT:-/autograder}"
export BOOTCAMP_CACHE="${BOOTCAMP_CACHE:-$ROOT/cache}"
cd "$ROOT/source"
exec "$ROOT/venv/bin/python" -m grader.autograder
"""


def pinned_torch() -> str:
    import torch

    return f"torch=={torch.__version__.split('+')[0]}"


def planned(practices: list[str], hidden_visibility: str = "after_due_date") -> dict[str, tuple[bytes, int]]:
    """Every file of the zip: name -> (content, mode)."""
    from grader.check import BadInput, resolve_practices

    try:
        chosen = resolve_practices(practices)
    except BadInput as error:
        raise ReleaseError(str(error)) from None
    files: dict[str, tuple[bytes, int]] = {}
    data = convergence_data(chosen)
    for path in sorted(paths.PACKAGE_DIR.rglob("*")):
        relative = path.relative_to(paths.PACKAGE_DIR)
        if path.is_file() and "__pycache__" not in relative.parts and relative.parts[0] != "handout" \
                and not _generated(relative):
            files[f"grader/{relative.as_posix()}"] = (path.read_bytes(), 0o644)
    files.update({name: (content, 0o644) for name, content in data.items()})
    for pattern in ("*.json", "*.md"):
        for path in sorted(paths.DATASETS_DIR.glob(pattern)):
            files[f"{paths.DATASETS_DIR.name}/{path.name}"] = (path.read_bytes(), 0o644)
    for name in ("pyproject.toml", "README.md"):
        files[name] = ((paths.REPO_ROOT / name).read_bytes(), 0o644)
    values = recorded.data_files(recorded.record(chosen, hidden=True), {n: c for n, (c, _) in files.items()})
    files.update({name: (content, 0o644) for name, content in values.items()})
    files["setup.sh"] = (SETUP.format(torch=pinned_torch()).encode(), 0o755)
    files["run_autograder"] = (RUN.encode(), 0o755)
    config = {"practices": chosen, "hidden_visibility": hidden_visibility, "select": None}
    files[CONFIG] = ((json.dumps(config, indent=2) + "\n").encode(), 0o644)
    return files


def convergence_data(practices: list[str]) -> dict[str, bytes]:
    """The convergence checks' data, so they need no `solutions/` here: the student edition's (the
    digit judge's weights with their sha256, the declared layers) and the grader's trusted models
    as `torch.export` programs of the reference architectures (`grader.judging.drawing`)."""
    from grader.handout.student import edition_data
    from grader.judging.drawing import drawn_models, exported_files

    return {**edition_data(practices), **exported_files(drawn_models(practices))}


def _generated(relative: Path) -> bool:
    """Files an edition builder writes into the package (never taken from the instructor's copy)."""
    from grader.judging import declared, digit_judge as judge
    from grader.judging.drawing import EXPORTED_DIR

    path = paths.PACKAGE_DIR / relative
    return path in (judge.SHIPPED, judge.SHIPPED_SUM, declared.RECORDED) or EXPORTED_DIR in path.parents


def write_autograder(target: Path, practices: list[str], *, hidden_visibility: str = "after_due_date",
                     select: str | None = None) -> None:
    """Write the zip (through a temporary file and a rename). `select`: a pytest -k expression
    stored in the configuration (the tests of this project use it to grade a few tests only)."""
    files = planned(practices, hidden_visibility)
    if select:
        config = json.loads(files[CONFIG][0])
        files[CONFIG] = ((json.dumps({**config, "select": select}, indent=2) + "\n").encode(), 0o644)
    zips.write_zip(target, files)
