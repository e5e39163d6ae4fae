"""A practice's `bootcamp train` entry: its options and their defaults, how it plans a run, its words.

Each practice that trains declares one, `TRAINING` in its `train.py`; the command line
(`grader.cli`) and the driver (`grader.training.driver`, `grader.training.run_command`) read
nothing else:

    TRAINING = Training(
        options=MyOptions,               # TrainOptions, subclassed to add or change fields; its field
                                         # defaults are the defaults
        prepare=prepare,                 # options -> `driver.Plan`: data, epochs, loop, epoch hooks
        shown_defaults={"epochs": f"enough for {DEFAULT_STEPS:,} steps"},  # --help, where the default is None
        notes={"lr": "the generator's"},                                    # said after the default in --help
        choices={"dataset": Choice(("mnist", "cifar10"), "digits padded to 32 x 32, or colour")},
        lines=LINES)                     # what the terminal prints (`RunLines`)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from grader.training.driver import Plan


@dataclass
class TrainOptions:
    """The options every practice's training takes (each with its `bootcamp train` flag), with the
    defaults a practice keeps unless its subclass states its own.

    epochs None: the practice decides from its data (enough epochs for a number of steps, say);
    batch_size None likewise. device: "cpu" or "cuda"; threads 0: torch's default; data_root None:
    `datasets/` or $BOOTCAMP_DATA.
    """

    epochs: int | None = None
    batch_size: int | None = 64
    lr: float = 2e-3
    seed: int = 0
    device: str = "cpu"
    threads: int = 0
    data_root: str | None = None


@dataclass(frozen=True)
class Choice:
    """An option only some practices have (`--dataset`, `--direction`): its values, the first the
    default where `default_shown` does not say otherwise, and what it means for this practice."""

    values: tuple[str, ...]
    help: str


@dataclass(frozen=True)
class RunLines:
    """What a run prints: lines before training (from the run, its options and its total steps),
    the bar's text per step, the line per epoch and the closing sentence."""

    start: Callable[[Any, Any, int], list[str]]
    step: Callable[[dict], str]
    epoch: Callable[[dict], str]
    done: Callable[[Any], str]
    preparing: str | None = None  # printed before anything else, when the run prepares a judge


@dataclass(frozen=True)
class Training:
    options: type[TrainOptions]
    prepare: Callable[[Any], "Plan"]  # the practice's options -> its run's plan (`grader.training.driver`)
    lines: RunLines
    shown_defaults: dict[str, str] = field(default_factory=dict)  # --help's default where the value is None
    notes: dict[str, str] = field(default_factory=dict)  # said after a default in --help
    choices: dict[str, Choice] = field(default_factory=dict)

    def default(self, name: str) -> Any:
        """The options dataclass's default of `name` (None: decided by the run, e.g. per dataset)."""
        found = {f.name: f for f in dataclasses.fields(self.options)}[name]
        return found.default

    def shown_default(self, name: str) -> str:
        """The default of `name` as `--help` shows it."""
        if name in self.shown_defaults:
            shown = self.shown_defaults[name]
        else:
            value = self.default(name)
            shown = f"{value:.0e}".replace("e-0", "e-") if isinstance(value, float) else str(value)
        return f"{shown}, {self.notes[name]}" if name in self.notes else shown

    def make_options(self, given: dict[str, Any]) -> Any:
        """The options dataclass, with the values given (None: left out, its default stands)."""
        return self.options(**{name: value for name, value in given.items() if value is not None})
