"""A copy of this project with a git history of its own, installed in a venv, run under Docker's defaults.

Where namespaces are refused, the grader closes its secret folders to other users itself
(`grader.sandbox.secrets`): that must happen to a checkout made for the purpose, never to the
one running the tests. `make_checkout(folder)` copies the project there (mode 644/755, as the
Gradescope zip unpacks), commits it to a fresh git repository (so there are objects to steal),
and installs it into a venv that reuses this interpreter's packages (`student_venv`).
`in_container(checkout, arguments)` runs the checkout's Python under `docker_defaults`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from student_venv import install, make_venv

from grader import paths

HERE = Path(__file__).resolve().parent
COPIED = ("grader", "solutions", "assignments", "tests", "benchmarks")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis")


def make_checkout(folder: Path) -> Path:
    """The project copied into `folder/project` and installed in `folder/venv`; returns the copy."""
    folder.chmod(0o755)
    project = folder / "project"
    for name in COPIED:
        shutil.copytree(paths.REPO_ROOT / name, project / name, ignore=IGNORED)
    (project / "datasets").mkdir()
    for path in paths.DATASETS_DIR.glob("*"):
        if path.suffix in (".json", ".md"):
            shutil.copyfile(path, project / "datasets" / path.name)
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(paths.REPO_ROOT / name, project / name)
    for path in (project, *project.rglob("*")):
        path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    git = ["git", "-c", "user.name=course", "-c", "user.email=course@example.org", "-C", str(project)]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the course"]):
        subprocess.run(git + command, check=True, capture_output=True)
    install(make_venv(folder / "venv"), project)
    return project


def python_of(project: Path) -> str:
    return str(project.parent / "venv" / "bin" / "python")


def in_container(project: Path, arguments: list[str], *, env: dict[str, str] | None = None,
                 cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """`python ARGUMENTS` with the checkout's venv, as root under Docker's defaults."""
    reachable = [sys.prefix, sys.base_prefix, str(project.parent)]
    command = [sys.executable, str(HERE / "docker_defaults.py")]
    for path in reachable:
        command += ["--reachable", path]
    environment = dict(env or os.environ)
    environment.pop("BOOTCAMP_ROOT", None)
    return subprocess.run(command + [python_of(project), *arguments], capture_output=True, text=True,
                          env=environment, cwd=cwd or project, timeout=timeout)
