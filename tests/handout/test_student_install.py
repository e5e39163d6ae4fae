"""What a student meets first: an install of the student's dependencies only (no nbgrader, dask,
Jupyter or torchvision), the student commands working there, and a check that leaves the student's
folder as it was (hypothesis keeps its caches in the grader's cache folder)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from grader import paths

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

PROJECT = tomllib.loads((paths.REPO_ROOT / "pyproject.toml").read_text())["project"]
INSTRUCTOR_ONLY = {"nbgrader", "nbformat", "jupyterlab", "notebook", "dask", "distributed", "torchvision",
                   "playwright"}
BIN = Path(sys.executable).parent

BLOCKER = '''import importlib.abc, json, os, sys


class NotInstalled(importlib.abc.MetaPathFinder):
    """Imports of what a student's install lacks fail as if it were not there."""

    blocked = set(json.loads(os.environ["BOOTCAMP_TEST_NOT_INSTALLED"]))

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (not in a student's install)", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
'''


def names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def student_distributions() -> set[str]:
    """The distributions `pip install -e .` installs: the project's dependencies, and theirs."""
    found: set[str] = set()
    todo = [Requirement(r) for r in PROJECT["dependencies"]]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in found or (requirement.marker is not None and not requirement.marker.evaluate({"extra": ""})):
            continue
        found.add(name)
        todo += [Requirement(r) for r in importlib.metadata.requires(name) or []]
    return found


def test_a_student_installs_no_instructor_package_and_the_edition_asks_for_the_same():
    base = names(PROJECT["dependencies"])
    extras = PROJECT["optional-dependencies"]
    assert not base & INSTRUCTOR_ONLY and "torch" in base
    assert {"nbgrader", "dask"} <= names(extras["instructor"])
    assert "dl-bootcamp[instructor]" in extras["dev"] and "torchvision" in names(extras["dev"])  # dev: everything
    assert not student_distributions() & INSTRUCTOR_ONLY
    edition = tomllib.loads((paths.PACKAGE_DIR / "handout" / "templates" / "pyproject.toml").read_text())
    assert names(edition["project"]["dependencies"]) == base


def test_the_student_commands_work_without_the_instructor_packages(tmp_path):
    """`check`, `list`, `train` and `data` with every package outside the student's install unimportable."""
    wanted = student_distributions() | {"dl-bootcamp"}
    missing = sorted(top for top, dists in importlib.metadata.packages_distributions().items()
                     if not {canonicalize_name(d) for d in dists} & wanted)
    assert {"nbgrader", "dask", "distributed", "torchvision", "jupyterlab"} <= set(missing)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "BOOTCAMP_TEST_NOT_INSTALLED": json.dumps(missing),
           "COLUMNS": "200", "BOOTCAMP_CACHE": str(tmp_path / "cache")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "bootcamp"), *args], capture_output=True, text=True, env=env, cwd=tmp_path)

    blocked = subprocess.run([str(BIN / "python"), "-c", "import nbgrader"], capture_output=True, text=True, env=env)
    assert "not in a student's install" in blocked.stderr  # the stand-in for a student's install is in force
    listed = run("list", "basics")
    assert listed.returncode == 0 and "basics.1" in listed.stdout, listed.stderr
    data = run("data", "list")
    assert data.returncode == 0 and "mnist" in data.stdout, data.stderr
    shutil.copy(paths.SOLUTIONS_DIR / "basics.py", tmp_path / "basics.py")
    checked = run("check", "basics", "--path", str(tmp_path), "-k", "test_relu_matches", "--json", "report.json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads((tmp_path / "report.json").read_text())["score"] > 0
    trained = run("train", "mnist_cnn", "--path", str(paths.SOLUTIONS_DIR), "--epochs", "1", "--out", "runs")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert list((tmp_path / "runs" / "mnist_cnn").glob("*/metrics.json"))
    assert "not in a student's install" not in checked.stderr + trained.stderr + listed.stderr + data.stderr
    released = run("release", "--check")  # an instructor's command: one line says what to install
    assert released.returncode == 2 and released.stderr.strip().splitlines() == [
        'Error: bootcamp release needs nbgrader, which only the instructor\'s install has: pip install -e ".[instructor]"']


def test_the_instructors_dask_and_nbgrader_export_say_what_to_install(tmp_path, monkeypatch):
    from grader.gradebook.executors import make_executor
    from grader.gradebook.exports import ExportError, export

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("distributed", "nbgrader") else real(name, *a))
    with pytest.raises(ValueError, match=r"^--executor dask needs distributed, .*\[instructor\]"):
        make_executor("dask", workers=1, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ExportError, match=r"^the nbgrader export needs nbgrader, .*\[instructor\]"):
        export(tmp_path / "gradebook.sqlite", ["nbgrader"], tmp_path / "out")


def test_a_check_leaves_no_hypothesis_folder_in_the_students_folder(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copy(paths.SOLUTIONS_DIR / "basics.py", folder / "basics.py")
    env = {key: value for key, value in os.environ.items() if key != "HYPOTHESIS_STORAGE_DIRECTORY"}
    env["BOOTCAMP_CACHE"] = str(tmp_path / "cache")
    result = subprocess.run([str(BIN / "bootcamp"), "check", "basics", "--path", ".", "-k", "any_shape"],
                            capture_output=True, text=True, env=env, cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["basics.py"]
    assert list((tmp_path / "cache" / "hypothesis" / "constants").iterdir())  # hypothesis did write, there


CPU_TORCH = "--index-url https://download.pytorch.org/whl/cpu torch"


def first_bash_block(path: Path) -> list[str]:
    text = path.read_text()
    block = text[text.index("```bash\n") + 8:]
    return [line.split("  #")[0].strip() for line in block[:block.index("```")].splitlines() if line.strip()]


def test_every_student_install_takes_the_cpu_build_of_torch_before_the_course():
    from grader.handout.gradescope import SETUP, pinned_torch
    from workflows import workflow_commands

    readme = first_bash_block(paths.PACKAGE_DIR / "handout" / "templates" / "README.md")
    workflow = workflow_commands(paths.PACKAGE_DIR / "handout" / "templates" / "classroom.yml")
    setup = [line.strip() for line in SETUP.format(torch=pinned_torch(), judge="").splitlines()]
    for commands, course in ((readme, ".venv/bin/pip install -e ."), (workflow, ".venv/bin/python -m pip install -e ."),
                             (setup, "/autograder/venv/bin/pip install -e /autograder/source")):
        torch = [i for i, c in enumerate(commands) if CPU_TORCH in c]
        assert torch and course in commands and torch[0] < commands.index(course), commands
    # PyTorch's index for torch alone: with --extra-index-url pip may take any other package from it too
    assert not any("extra-index-url" in c for c in readme + workflow + setup)
    assert f"pip install {CPU_TORCH} torchvision" in (paths.REPO_ROOT / "README.md").read_text()
