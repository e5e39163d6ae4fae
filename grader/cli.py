"""The `bootcamp` command: a thin layer over plain functions, one per command.

User errors (an unknown practice, a missing file, a syntax error) are one line and exit code 2.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from grader import __version__, paths, registry, withheld
from grader.check import (BadInput, as_practice_folder, check_task_ids, collect, inspect_submission,
                          name_notebook_cells, resolve_practices, run_suites, save_pictures)
from grader.edition import STUDENT
from grader.report import show
from grader.sandbox import strength
from grader.scoring import build_report

DEVICE_FLAGS = dict(type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                    help="Where training and convergence checks run.")
DEVICE = click.option("--device", **DEVICE_FLAGS)



def _bad_input(error: Exception) -> click.ClickException:
    exception = click.ClickException(str(error))
    exception.exit_code = 2
    return exception


class _Commands(click.Group):
    """The command group, with `train` built when first asked for: its options come from every
    practice's training entry, whose modules import plotting and torch (seconds a `check` need not pay)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "train"})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name == "train" and "train" not in self.commands:
            command = _train_command()
            if STUDENT:
                command.help = "Train a practice's model (yours, from assignments/ or --path) and record the run."
            self.add_command(command)
        return super().get_command(ctx, name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bootcamp")
def cli() -> None:
    """Deep Learning Bootcamp with PyTorch: practices, self-checks and grading."""


@cli.command("list")
@click.argument("practices", nargs=-1)
def list_command(practices: tuple[str, ...]) -> None:
    """Practices, their tasks, points, and public/hidden test counts."""
    try:
        chosen = resolve_practices(practices)
    except BadInput as error:
        raise _bad_input(error) from None
    report = build_report("", chosen, collect(chosen))
    console = Console()
    for practice in report.practices:
        table = Table(title=f"{practice.name} ({paths.ASSIGNMENTS_DIR.name}/{practice.name}.py)",
                      title_justify="left")
        for column in ("task", "what", "points", "public", "hidden"):
            table.add_column(column, justify="right" if column in ("points", "public", "hidden") else "left")
        for task in practice.tasks:
            public = sum(t.visibility == "public" for t in task.tests)
            hidden = len(task.tests) - public + withheld.count(practice.name, task.id)
            table.add_row(task.id, task.title, f"{task.max_points:g}", str(public), str(hidden))
        console.print(table)
    for line in withheld.lines(chosen):
        console.print(line)


@cli.command()
@click.argument("practices", nargs=-1)
@click.option("--path", "directory", type=click.Path(path_type=Path), default=paths.ASSIGNMENTS_DIR,
              show_default="assignments/",
              help="Folder with your practice files (.py, or .ipynb notebooks), or one such file.")
@click.option("--public-only", is_flag=True, help="Run only the public tests.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as JSON to this file.")
@DEVICE
@click.option("-k", "select", help="Only tests matching this pytest -k expression.")
@click.option("--task", "tasks", multiple=True, metavar="ID",
              help=f"Only the tests of this task (e.g. {registry.example_task()}).")
@click.option("-v", "--verbose", is_flag=True, help="Show every failing test and what your code printed.")
@click.option("--weak-sandbox", is_flag=True, hidden=STUDENT,
              help="Run hidden tests even where the sandbox cannot hide them from student code (an ordinary "
                   "user on a kernel without user namespaces).")
def check(practices: tuple[str, ...], directory: Path, public_only: bool, json_path: Path | None, device: str,
          select: str | None, verbose: bool, tasks: tuple[str, ...] = (), weak_sandbox: bool = False) -> None:
    """Self-grade your practice files (all practices when none are named).

    Exit code 0 when every task passes, 1 otherwise, 2 for bad input.
    """
    with contextlib.ExitStack() as stack:
        try:
            named = ((directory.stem,) if directory.is_file()
                     else tuple(dict.fromkeys(task.partition(".")[0] for task in tasks)))
            chosen = resolve_practices(practices or named)
            folder, notes, notebooks = stack.enter_context(as_practice_folder(directory, chosen))
            inspect_submission(folder, chosen)
            check_task_ids(tasks, chosen)
        except BadInput as error:
            raise _bad_input(error) from None
        console = Console()
        with Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            bar = progress.add_task("", total=None)
            try:
                report = run_suites(folder, chosen, public_only=public_only, device=device, select=select,
                                    tasks=tasks, weak_sandbox=weak_sandbox,
                                    on_test=lambda test: progress.update(bar, advance=1, description=test.task))
            except BadInput as error:
                raise _bad_input(error) from None
        name_notebook_cells(report, folder, notebooks)
    weak = strength.weak_notice()
    if weak:
        notes.append(weak)
    for note in notes:
        console.print(f"note: {note}", style="dim")
    show(report, console, verbose=verbose)
    for line in withheld.lines(chosen):
        console.print(line, style="dim")
    if json_path:
        report.save(json_path)
    try:
        pictures = save_pictures(report)
    except OSError as error:
        console.print(f"note: the pictures of the graded runs were not written ({error})", style="dim")
    else:
        if pictures:
            console.print(f"Pictures and measures of the graded runs: {pictures}")
    sys.exit(0 if report.all_passed else 1)


@cli.command("validate")
@DEVICE
def validate_command(device: str) -> None:
    """CI's check: solutions/ scores 100%, and assignments/ scores 0 with every task not implemented."""
    from grader.validate import validate

    console = Console()
    problems = validate(device=device, say=console.print)
    for problem in problems:
        console.print(f"[red]✗[/red] {problem}")
    if problems:
        sys.exit(1)
    console.print("[green]✓[/green] solutions score 100%; skeletons score 0 with every task not implemented")


@cli.command("release")
@click.option("--check", "check_only", is_flag=True,
              help="Only check: exit 1 if assignments/ (or the --student folder) is stale.")
@click.option("--student", "student_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the student edition into this folder (no solution, no hidden test).")
@click.option("--student-zip", type=click.Path(dir_okay=False, path_type=Path), help="The student edition as a .zip.")
@click.option("--gradescope", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a Gradescope autograder .zip (setup.sh, run_autograder, the grader).")
@click.option("-p", "--practice", "practices", multiple=True, help="Gradescope: only these practices (repeatable).")
@click.option("--hidden-visibility", type=click.Choice(["hidden", "after_due_date", "after_published", "visible"]),
              default="after_due_date", show_default=True, help="Gradescope: when students see the hidden tests.")
@click.option("--notebooks", "notebooks_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write one nbgrader-style notebook per practice into this folder.")
@click.option("--force", is_flag=True,
              help="Overwrite skeletons in assignments/ edited by hand since the last release (each is kept as "
                   "<name>.bak first).")
def release_command(check_only: bool, student_dir: Path | None, student_zip: Path | None, gradescope: Path | None,
                    practices: tuple[str, ...], hidden_visibility: str, notebooks_dir: Path | None,
                    force: bool = False) -> None:
    """Generate assignments/ (the student skeletons) from solutions/, and what students are handed."""
    from grader.handout import release_all
    from grader.release import ReleaseError

    try:
        problems = release_all(check_only=check_only, student_dir=student_dir, student_zip=student_zip,
                               gradescope=gradescope, practices=list(practices),
                               hidden_visibility=hidden_visibility, notebooks_dir=notebooks_dir, force=force,
                               say=click.echo)
    except (ReleaseError, BadInput) as error:
        raise _bad_input(error) from None
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)


def _trainings() -> dict:
    """Practice -> its `bootcamp train` entry, for every practice that trains (imports their `train.py`)."""
    return {name: registry.get(name).training() for name in registry.trainable()}


def _shown_defaults(option: str) -> str:
    """`--help`'s default of a common training option: one value, or each practice's."""
    shown = {name: training.shown_default(option) for name, training in _trainings().items()}
    if len(set(shown.values())) == 1:
        return next(iter(shown.values()))
    return "; ".join(f"{name}: {value}" for name, value in shown.items())


def _choice_options() -> list[click.Option]:
    """`--dataset`, `--direction` and every other option some practices declare (`Choice`), with
    the values of all of them; `check_train_choices` keeps each to the practices that have it."""
    declared: dict[str, dict[str, tuple[str, ...]]] = {}
    helps: dict[str, list[str]] = {}
    for name, training in _trainings().items():
        for option, choice in training.choices.items():
            declared.setdefault(option, {})[name] = choice.values
            helps.setdefault(option, []).append(f"{name}: {choice.help}")
    return [click.Option([f"--{option.replace('_', '-')}", option],
                         type=click.Choice(list(dict.fromkeys(v for values in by.values() for v in values))),
                         default=None, help="; ".join(helps[option]) + ".")
            for option, by in declared.items()]


def check_train_choices(practice: str, given: dict[str, str | None]) -> None:
    """A UsageError (one line) for an option given to a practice that does not declare it, or a
    value that is not one of its own."""
    trainings = _trainings()
    choices = trainings[practice].choices
    for option, value in given.items():
        if value is None:
            continue
        flag = f"--{option.replace('_', '-')}"
        if option not in choices:
            having = [name for name, training in trainings.items() if option in training.choices]
            raise click.UsageError(f"{flag} is for {' and '.join(having)} only; {practice} has no such option")
        if value not in choices[option].values:
            raise click.UsageError(f"{flag} {value} is not a {practice} {option.replace('_', ' ')}; choose one of "
                                   f"{', '.join(choices[option].values)}")


def train(practice: str, directory: Path, epochs: int | None, batch_size: int | None, lr: float | None, seed: int,
          device: str, threads: int, data_root: Path | None, out: Path, **choices: str | None) -> None:
    """Train a practice's model (yours, or the reference with --path solutions) and record the run."""
    from grader.training.run_command import train_command

    check_train_choices(practice, choices)
    try:
        inspect_submission(directory, [practice])
    except BadInput as error:
        raise _bad_input(error) from None
    sys.exit(train_command(practice, directory, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                           device=device, threads=threads, data_root=data_root, out=out, **choices))


def _train_command() -> click.Command:
    """`bootcamp train`, with the practices that train and the options they declare (`grader.registry`)."""
    command = click.command("train")(train)
    for option in reversed([
            click.Argument(["practice"], type=click.Choice(registry.trainable())),
            click.Option(["--path", "directory"], type=click.Path(path_type=Path), default=paths.ASSIGNMENTS_DIR,
                         show_default="assignments/",
                         help="Folder with the practice file" + ("." if STUDENT else " (solutions/ for the reference).")),
            click.Option(["--epochs"], type=click.IntRange(min=1), default=None, show_default=_shown_defaults("epochs")),
            click.Option(["--batch-size"], type=click.IntRange(min=1), default=None,
                         show_default=_shown_defaults("batch_size")),
            click.Option(["--lr"], type=click.FloatRange(min=0, min_open=True), default=None,
                         show_default=_shown_defaults("lr")),
            click.Option(["--seed"], type=int, default=0, show_default=True),
            click.Option(["--device"], **DEVICE_FLAGS),
            click.Option(["--threads"], type=click.IntRange(min=0), default=0,
                         help="CPU threads for training (0: torch's default)."),
            click.Option(["--data-root"], type=click.Path(file_okay=False, path_type=Path),
                         help="Where the datasets are (default: datasets/, or $BOOTCAMP_DATA)."),
            click.Option(["--out"], type=click.Path(file_okay=False, path_type=Path), default=paths.RUNS_DIR,
                         show_default="runs/", help="Runs are written to OUT/<practice>/<timestamp>/."),
            *_choice_options()]):
        command.params.insert(0, option)
    return command


def _register_groups() -> None:
    """Command groups that live beside their logic; the student edition has no instructor commands."""
    from grader.data.cli import data

    cli.add_command(data)
    if STUDENT:
        for name in ("validate", "release"):
            cli.commands.pop(name, None)
        return
    from grader.gradebook.cli import export_command, grade_command, gradebook, similarity_command

    for command in (grade_command, export_command, similarity_command, gradebook):
        cli.add_command(command)


_register_groups()


def main() -> None:
    cli()
