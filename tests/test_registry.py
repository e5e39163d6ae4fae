"""The registry of practices (`grader.registry`), and the rule it exists for: shared code names no practice.

Shared code is every file under `grader/` outside the practices' own folders `grader/practices/<p>/`:
the modules and data of the grader, the shared suite helpers directly in `grader/practices/`
(`conftest.py`, `gan_train_step.py`, ...) and the handout's templates. A practice's name may
appear in none of them: not in code, strings, comments or docstrings. A name counts wherever it
stands between characters that are not letters or digits, so `_` separates: `train_cgan` and
`pix2pix_dir` name a practice (an identifier named for one is what this catches), `dcgan` does
not name `cgan`. The match is case-sensitive: practice names are lower-case identifiers, and
`DCGAN` in prose is Radford et al.'s architecture, not the practice. Binary files (weights) have
no lines to read and are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader import paths, registry


def naming(names: list[str]) -> re.Pattern:
    """Any of `names` between characters that are not letters or digits (`_` is a separator)."""
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")


def shared_files(package: Path, practice_folders: list[Path]) -> list[Path]:
    """Every file under `package` outside `practice_folders` and `__pycache__`."""
    return sorted(path for path in package.rglob("*") if path.is_file() and "__pycache__" not in path.parts
                  and not any(path.is_relative_to(folder) for folder in practice_folders))


def mentions(package: Path, practice_folders: list[Path], names: list[str]) -> list[str]:
    """`file:line: text` for each line of shared code that names one of `names`."""
    pattern = naming(names)
    found = []
    for path in shared_files(package, practice_folders):
        data = path.read_bytes()
        if b"\0" in data:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line):
                found.append(f"{path.relative_to(package.parent).as_posix()}:{number}: {line.strip()}")
    return found


def test_shared_code_names_no_practice():
    practices = registry.all_practices()
    assert practices
    found = mentions(paths.PACKAGE_DIR, [practice.folder for practice in practices],
                     [practice.name for practice in practices])
    assert not found, "shared code names a practice (ask grader.registry instead):\n" + "\n".join(found)


@pytest.mark.parametrize("line, named", [
    ("bootcamp check cgan", True),
    ("def train_cgan(options):", True),
    ("from grader.data.pairs import load_pix2pix_dir", True),
    ("grader/practices/mnist_cnn/tasks.py", True),
    ('task("cgan.2")', True),
    ("dcgan_init = 1", False),  # names dcgan, not cgan
    ("DCGAN's initialisation", False),
    ("pix2pixel", False),
    ("cgans", False),
])
def test_a_name_counts_between_separators(line, named):
    assert bool(naming(["cgan", "pix2pix", "mnist_cnn"]).search(line)) is named


def test_the_scan_reads_every_shared_file_and_skips_the_practice_folders(tmp_path):
    package = tmp_path / "grader"
    for relative, text in {
        "cli.py": "x = 1\n# see alpha.2\n",
        "handout/templates/README.md": "bootcamp check alpha\n",
        "practices/conftest.py": '"""Run `pytest grader/practices/beta`."""\n',
        "practices/alpha/tasks.py": 'TASKS = {"alpha.1": "a"}\n',
        "practices/alpha/test_a.py": "import beta\n",
        "sandbox/__pycache__/x.pyc": "alpha\n",
    }.items():
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        (package / relative).write_text(text)
    (package / "weights.pt").write_bytes(b"alpha\0beta")
    assert mentions(package, [package / "practices" / "alpha"], ["alpha", "beta"]) == [
        "grader/cli.py:2: # see alpha.2",
        "grader/handout/templates/README.md:1: bootcamp check alpha",
        'grader/practices/conftest.py:1: """Run `pytest grader/practices/beta`."""',
    ]


def _practice(root: Path, name: str, settings: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "tasks.py").write_text(settings)
    return folder


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A practices folder of four: `late` (no ORDER), `second`, `first` (trains), `zeroth` (no
    TASKS), and a folder without tasks.py, which is no practice; solutions for `first` and `late`."""
    practices = tmp_path / "practices"
    _practice(practices, "late", 'TASKS = {"late.1": "last of all"}\n')
    _practice(practices, "second", 'TASKS = {"second.1": "one", "second.2": "two"}\nORDER = 2\n')
    first = _practice(practices, "first", 'TASKS = {"first.1": "only"}\nORDER = 1.5\nWARM_UP = True\n')
    (first / "train.py").write_text("TRAINING = None\n")
    _practice(practices, "zeroth", "ORDER = 0\n")
    (practices / "helpers").mkdir()
    (practices / "helpers" / "shared.py").write_text("")
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    for name in ("first.py", "late.py", "_common.py"):
        (solutions / name).write_text("")
    monkeypatch.setattr(paths, "PRACTICES_DIR", practices)
    monkeypatch.setattr(paths, "SOLUTIONS_DIR", solutions)
    return tmp_path


def test_practices_come_in_course_order_without_order_last(course):
    assert [p.name for p in registry.all_practices()] == ["zeroth", "first", "second", "late"]
    assert registry.get("late").order == float("inf")


def test_names_are_those_with_a_solution_where_solutions_exist(course):
    assert registry.names() == ["first", "late"]
    assert registry.names(course / "solutions") == ["first", "late"]


def test_names_are_every_shipped_practice_without_solutions(course, monkeypatch):
    monkeypatch.setattr(paths, "SOLUTIONS_DIR", course / "absent")
    assert registry.names() == ["zeroth", "first", "second", "late"]


def test_tasks_warm_up_and_training(course):
    assert registry.tasks("second") == {"second.1": "one", "second.2": "two"}
    assert registry.tasks("zeroth") == {}
    assert registry.tasks("unknown") == {}
    assert registry.get("unknown") is None
    assert registry.warm_up("first") and not registry.warm_up("second") and not registry.warm_up("unknown")
    assert registry.trainable() == ["first"]
    assert registry.get("first").trains and not registry.get("late").trains


def test_the_course_declares_each_practice_whole():
    """Each practice of the course lists its tasks under its own name and has a reference solution;
    each practice that trains declares its `bootcamp train` entry."""
    practices = registry.all_practices()
    assert registry.names() == [p.name for p in practices]
    for practice in practices:
        assert practice.tasks and all(task.startswith(f"{practice.name}.") for task in practice.tasks), practice.name
        assert practice.order != float("inf"), practice.name
    for name in registry.trainable():
        assert callable(registry.get(name).training().prepare), name
