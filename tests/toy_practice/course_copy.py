"""A temporary copy of the course with one practice added, run with the copy's own `bootcamp`.

`make_copy` copies what `bootcamp` reads (the grader, solutions, skeletons, the datasets' manifest,
pyproject and README) and keeps only the practices asked for; `install` adds a practice as an
instructor would: its folder as `grader/practices/<name>/` and its reference as
`solutions/<name>.py`, nothing else. `Course.bootcamp` runs `python -m grader` with the copy first
on PYTHONPATH and as BOOTCAMP_ROOT, so the copy's `grader` package is the one imported (never the
checkout's editable install), and `file_hashes` lets a test see which files a step changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from grader import paths, registry

COPIED = ("grader", "solutions", "assignments", "datasets/manifest.json", "datasets/README.md", "pyproject.toml",
          "README.md")
# what a checkout holds that is not the course: environments, caches, runs, and what editions and
# convergence checks write into grader/ (git-ignored: the digit judge, declarations, exported models)
NOT_COPIED = shutil.ignore_patterns(".venv", "__pycache__", ".git", "runs", ".hypothesis", ".pytest_cache", "*.pyc",
                                    "*.egg-info", "digit_judge.pt*", "declared.json", "exported")
GENERATED = {"__pycache__", ".hypothesis", ".pytest_cache"}  # what running the grader may leave in the copy


@dataclass(frozen=True)
class Course:
    root: Path

    def env(self, root: Path | None = None) -> dict[str, str]:
        """This environment with `root` (default: the copy) as the grader's package and course."""
        root = root or self.root
        return {**os.environ, "PYTHONPATH": str(root), "BOOTCAMP_ROOT": str(root), "COLUMNS": "200",
                "PYTHONDONTWRITEBYTECODE": "1"}

    def python(self, *args: str, root: Path | None = None) -> subprocess.CompletedProcess:
        """This venv's python with `args`, in `root` (default: the copy), output captured as text."""
        root = root or self.root
        return subprocess.run([sys.executable, *args], cwd=root, env=self.env(root), capture_output=True, text=True)

    def bootcamp(self, *args: str, root: Path | None = None) -> subprocess.CompletedProcess:
        """`bootcamp args` as `python -m grader args`, with the grader of `root` (default: the copy)."""
        return self.python("-m", "grader", *args, root=root)


def make_copy(target: Path, keep: list[str]) -> Course:
    """Copy the course into `target`, keeping only the practices in `keep` (their folders,
    solutions and skeletons; the other practices' are removed)."""
    for name in COPIED:
        source = paths.REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=NOT_COPIED)
        elif source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for practice in (found.name for found in registry.all_practices()):
        if practice in keep:
            continue
        shutil.rmtree(target / "grader" / "practices" / practice)
        for folder in ("solutions", "assignments"):
            (target / folder / f"{practice}.py").unlink(missing_ok=True)
    return Course(target)


def install(course: Course, practice_folder: Path, solution: Path) -> None:
    """Add a practice: its folder as `grader/practices/<name>/`, its reference as `solutions/<name>.py`."""
    shutil.copytree(practice_folder, course.root / "grader" / "practices" / practice_folder.name, ignore=NOT_COPIED)
    shutil.copy2(solution, course.root / "solutions" / solution.name)


def file_hashes(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under `root`, leaving out caches the grader's runs write."""
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*"))
            if path.is_file() and not GENERATED & set(path.relative_to(root).parts)}


def changed_files(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """The files added, removed or changed between two `file_hashes`."""
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
