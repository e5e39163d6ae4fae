"""Grade practice files with the `grader` this interpreter imports (an installed edition's), public tests only.

    python tests/grade_files.py JOBS.json OUT.json

JOBS is a list of {"file": path, "practice": name, "tasks": [task id, ...], "select": -k expression
or null}; each file is graded alone, as `bootcamp check PRACTICE --path FOLDER --public-only
--task ... -k ...` grades it, through one warm sandbox mother for all. OUT gets {file: {"tests":
{test node id: status}, "errors": [...]}}, written through a temporary file and a rename.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path


def main(jobs_path: str, out_path: str) -> None:
    from grader.sandbox.mother import Mother, use_mother

    use_mother(Mother(batch=True))
    from grader.check import run_suites

    results = {}
    for job in json.loads(Path(jobs_path).read_text()):
        with tempfile.TemporaryDirectory(prefix="bootcamp-graded-") as folder:
            shutil.copyfile(job["file"], Path(folder) / f"{job['practice']}.py")
            report = run_suites(folder, [job["practice"]], public_only=True, device="cpu", select=job["select"],
                                tasks=job["tasks"])
        results[job["file"]] = {"tests": {test.nodeid: test.status for practice in report.practices
                                          for task in practice.tasks for test in task.tests},
                                "errors": report.errors}
    temporary = f"{out_path}.tmp"
    Path(temporary).write_text(json.dumps(results, indent=1, sort_keys=True))
    os.replace(temporary, out_path)


if __name__ == "__main__":
    main(*sys.argv[1:3])
