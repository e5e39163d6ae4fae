"""The practices of the course: one folder each under `grader/practices/`, found here.

A practice is a folder `grader/practices/<name>/` with

    tasks.py        TASKS (task id -> title, as the report shows them), ORDER (its place in the
                    course), WARM_UP (True if it trains models: its workers start with torch's
                    optimizers initialised)
    test_*.py       its grading suite, public and hidden tests
    train.py        (if it trains) TRAINING, its `bootcamp train` entry (`grader.training.entry`)

and a reference solution `solutions/<name>.py`. Shared code asks this module about practices and
never names one; adding a practice is adding its folder and its solution.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from grader import paths

if TYPE_CHECKING:
    from grader.training.entry import Training


@dataclass(frozen=True)
class Practice:
    name: str
    folder: Path
    order: float  # its place in the course; a practice without ORDER comes last, by name
    tasks: dict[str, str]  # task id -> title
    warm_up: bool

    @property
    def trains(self) -> bool:
        """Whether `bootcamp train` trains it (its folder has a `train.py`)."""
        return (self.folder / "train.py").is_file()

    def training(self) -> "Training":
        """Its `bootcamp train` entry (imports its `train.py`, with torch)."""
        return importlib.import_module(f"grader.practices.{self.name}.train").TRAINING


def _settings(folder: Path) -> ModuleType:
    """A practice's `tasks.py`, executed on its own (it imports nothing)."""
    spec = importlib.util.spec_from_file_location(f"bootcamp_tasks_{folder.name}", folder / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=None)
def _found(practices_dir: Path) -> tuple[Practice, ...]:
    found = []
    for tasks in practices_dir.glob("*/tasks.py"):
        settings = _settings(tasks.parent)
        found.append(Practice(name=tasks.parent.name, folder=tasks.parent,
                              order=float(getattr(settings, "ORDER", float("inf"))),
                              tasks=dict(getattr(settings, "TASKS", {})),
                              warm_up=bool(getattr(settings, "WARM_UP", False))))
    return tuple(sorted(found, key=lambda practice: (practice.order, practice.name)))


def all_practices() -> list[Practice]:
    """Every practice whose folder ships (with its `tasks.py`), in course order."""
    return list(_found(paths.PRACTICES_DIR))


def get(name: str) -> Practice | None:
    return next((practice for practice in all_practices() if practice.name == name), None)


def names(solutions_dir: Path | None = None) -> list[str]:
    """The practices in course order. Where `solutions/` exists (or `solutions_dir` is given), only
    those with a reference solution; elsewhere (the student edition, the Gradescope zip) every
    practice whose folder ships."""
    found = [practice.name for practice in all_practices()]
    if solutions_dir is None and not paths.SOLUTIONS_DIR.is_dir():
        return found
    solved = {p.stem for p in (solutions_dir or paths.SOLUTIONS_DIR).glob("*.py") if not p.name.startswith("_")}
    return [name for name in found if name in solved]


def tasks(name: str) -> dict[str, str]:
    """Task id -> title of a practice (empty for an unknown one)."""
    practice = get(name)
    return dict(practice.tasks) if practice else {}


def warm_up(name: str) -> bool:
    practice = get(name)
    return bool(practice and practice.warm_up)


def trainable() -> list[str]:
    """The practices `bootcamp train` trains, in course order."""
    return [practice.name for practice in all_practices() if practice.trains]


def example() -> str:
    """The practice that help texts and messages show as an example: the first in course order
    ("<practice>" where none ships)."""
    found = all_practices()
    return found[0].name if found else "<practice>"


def example_task() -> str:
    """A task id for help texts: the example practice's first task (`<practice>.1` without one)."""
    return next(iter(tasks(example())), f"{example()}.1")
