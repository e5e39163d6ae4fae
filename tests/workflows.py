"""The shell commands of a GitHub Actions workflow, for the tests that read CI's and the classroom's."""

from __future__ import annotations

from pathlib import Path

import yaml


def workflow_commands(path: Path) -> list[str]:
    workflow = yaml.safe_load(path.read_text())
    assert workflow["jobs"] and (workflow.get("on") or workflow.get(True))  # YAML 1.1 reads `on` as True
    return [line.strip() for job in workflow["jobs"].values() for step in job["steps"]
            for line in step.get("run", "").splitlines() if line.strip()]
