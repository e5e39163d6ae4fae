"""The Gradescope autograder zip: `bootcamp release --gradescope autograder.zip [-p PRACTICE]...`.

At the zip's root, as Gradescope expects:

- `setup.sh`: run once when Gradescope builds the autograder's image. Installs Python, the pinned
  CPU wheels of torch and torchvision (the versions this zip was built with), then this grader
  from `/autograder/source` with its dependencies; trains the cgan digit judge once into
  `/autograder/cache` when cgan is graded, so no submission pays for it.
- `run_autograder`: run for each submission; `python -m grader.autograder` (see that module).
- `autograder.json`: the practices to grade and the hidden tests' visibility.
- the grader with every suite, hidden tests included, the recorded values of the reference every
  graded test compares with (`grader/suites/<practice>/expected.pt`,
  `grader.recorded.record(..., hidden=True)`), `pyproject.toml`, the datasets' manifest, and
  `solutions/`.

Why the reference solutions are still in it: the convergence checks need the reference at run
time (the cgan judge is trained from `solutions/mnist_cnn.py`, the grader's model of a trained
student model is the reference's architecture); every other expected value is recorded, and
where `solutions/` exists it is computed live as in the instructor's edition. Students never see this zip
(only the instructor uploads it), and inside Gradescope's container the student's code runs only
in the sandbox's workers, which cannot read `solutions/` or the suites. Gradescope runs the
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
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu {torch}
/autograder/venv/bin/pip install -e /autograder/source
mkdir -p /autograder/cache
{judge}
"""

JUDGE = ('BOOTCAMP_CACHE=/autograder/cache /autograder/venv/bin/python -c '
         '"from grader.training.judge import judge; judge()"  # the cgan digit judge, trained once')

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
    import torchvision

    return " ".join(f"{name}=={module.__version__.split('+')[0]}"
                    for name, module in (("torch", torch), ("torchvision", torchvision)))


def planned(practices: list[str], hidden_visibility: str = "after_due_date") -> dict[str, tuple[bytes, int]]:
    """Every file of the zip: name -> (content, mode)."""
    from grader.check import BadInput, resolve_practices

    try:
        chosen = resolve_practices(practices)
    except BadInput as error:
        raise ReleaseError(str(error)) from None
    files: dict[str, tuple[bytes, int]] = {}
    for path in sorted(paths.PACKAGE_DIR.rglob("*")):
        relative = path.relative_to(paths.PACKAGE_DIR)
        if path.is_file() and "__pycache__" not in relative.parts and relative.parts[0] != "handout":
            files[f"grader/{relative.as_posix()}"] = (path.read_bytes(), 0o644)
    for folder, pattern in ((paths.SOLUTIONS_DIR, "*.py"), (paths.DATASETS_DIR, "*.json"), (paths.DATASETS_DIR, "*.md")):
        for path in sorted(folder.glob(pattern)):
            files[f"{folder.name}/{path.name}"] = (path.read_bytes(), 0o644)
    for name in ("pyproject.toml", "README.md"):
        files[name] = ((paths.REPO_ROOT / name).read_bytes(), 0o644)
    values = recorded.data_files(recorded.record(chosen, hidden=True), {n: c for n, (c, _) in files.items()})
    files.update({name: (content, 0o644) for name, content in values.items()})
    judge = JUDGE if "cgan" in chosen else ""
    files["setup.sh"] = (SETUP.format(torch=pinned_torch(), judge=judge).encode(), 0o755)
    files["run_autograder"] = (RUN.encode(), 0o755)
    config = {"practices": chosen, "hidden_visibility": hidden_visibility, "select": None}
    files[CONFIG] = ((json.dumps(config, indent=2) + "\n").encode(), 0o644)
    return files


def write_autograder(target: Path, practices: list[str], *, hidden_visibility: str = "after_due_date",
                     select: str | None = None) -> None:
    """Write the zip (through a temporary file and a rename). `select`: a pytest -k expression
    stored in the configuration (the tests of this project use it to grade a few tests only)."""
    files = planned(practices, hidden_visibility)
    if select:
        config = json.loads(files[CONFIG][0])
        files[CONFIG] = ((json.dumps({**config, "select": select}, indent=2) + "\n").encode(), 0o644)
    zips.write_zip(target, files)
