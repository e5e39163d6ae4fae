"""Gradescope's `run_autograder`: grade `/autograder/submission`, write `/autograder/results/results.json`.

Runs inside the autograder zip that `bootcamp release --gradescope` builds (see
`grader.handout.gradescope`), installed in Gradescope's container. The submission is whatever the
student uploaded: practice files at any folder depth, or one `.zip` of them. It is graded exactly
as a batch grades one student (`grader.gradebook.grade`: the same rejections, notes and sandbox),
and the gradebook's Gradescope export (`grader.gradebook.exports.gradescope`) becomes the
results, with the hidden tests' visibility set as the zip was built (`after_due_date` by default)
and the run's `execution_time`. A failure of the grader itself still writes a results.json that
says so, with a score of 0, so that Gradescope shows a reason rather than a blank.

`BOOTCAMP_AUTOGRADER_ROOT` replaces `/autograder` (the tests run a simulated tree).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from grader import paths
from grader.atomic import write_atomically

CONFIG = "autograder.json"  # beside grader/ in the zip: {"practices", "hidden_visibility", "select"}
ROOT_ENV = "BOOTCAMP_AUTOGRADER_ROOT"


def load_config() -> dict:
    path = paths.REPO_ROOT / CONFIG
    return json.loads(path.read_text()) if path.is_file() else {}


def grade_upload(submission: Path, config: dict) -> dict:
    """The results.json for the files under `submission`."""
    from grader.gradebook import view
    from grader.gradebook.exports.gradescope import results
    from grader.gradebook.grade import Options, grade

    with tempfile.TemporaryDirectory(prefix="bootcamp-autograder-") as work:
        work_dir = Path(work)
        entries = sorted(submission.iterdir()) if submission.is_dir() else []
        (work_dir / "submissions").mkdir()
        if len(entries) == 1 and entries[0].suffix == ".zip" and entries[0].is_file() and not entries[0].is_symlink():
            shutil.copyfile(entries[0], work_dir / "submissions" / "submission.zip")
        else:
            shutil.copytree(submission, work_dir / "submissions" / "submission", symlinks=True)
        options = Options(practices=list(config.get("practices") or []), workers=1, select=config.get("select"))
        grade(work_dir / "submissions", work_dir / "out", options)
        grades = view.load(work_dir / "out" / "gradebook.sqlite")
        found = results(grades.students[0], grades)
    hidden = config.get("hidden_visibility", "after_due_date")
    for test in found["tests"]:
        if test["visibility"] != "visible":
            test["visibility"] = hidden
    found["extra_data"].pop("student", None)
    return found


def failed_run(error: BaseException) -> dict:
    return {"score": 0.0, "output": f"The autograder itself failed ({type(error).__name__}: {error}); your "
                                    "submission was not graded. Please tell your instructor.",
            "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


def prepare_container(root: Path) -> None:
    """Close the autograder's files to every user but root before any student code runs.

    Gradescope's container refuses namespaces, so the sandbox's workers see the real file system
    as the check's own unprivileged user (`grader.sandbox.by_user`). `source/` may then only be
    entered, not listed, and of it only the grader package stays readable (the workers import
    it; its suites are closed too); the reference solutions, the configuration, the judge's
    cache and the student's upload are root's alone. The grader copies the upload to a folder
    only the check's user (and root) may read, and the results are written by root."""
    source = root / "source"
    for path, mode in ((source, 0o711), (root / "cache", 0o700), (root / "submission", 0o700)):
        if path.is_dir():
            path.chmod(mode)
    if source.is_dir():
        for entry in source.iterdir():
            if entry.name != "grader" and not entry.is_symlink():
                entry.chmod(entry.stat().st_mode & ~0o077)
    suites = source / "grader" / "practices"
    if suites.is_dir():
        suites.chmod(0o700)


def main() -> int:
    root = Path(os.environ.get(ROOT_ENV, "/autograder"))
    started = time.monotonic()
    try:
        prepare_container(root)
        found = grade_upload(root / "submission", load_config())
    except Exception as error:  # noqa: BLE001  the grader's own failure must still reach Gradescope
        print(f"autograder failed: {error!r}", file=sys.stderr)
        found = failed_run(error)
    found["execution_time"] = round(time.monotonic() - started, 1)
    (root / "results").mkdir(parents=True, exist_ok=True)
    write_atomically(root / "results" / "results.json", json.dumps(found, indent=2) + "\n")
    print(f"score {found['score']:g}; {len(found['tests'])} tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
