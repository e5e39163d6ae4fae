"""The `bootcamp` command: a thin layer over plain functions, one per command.

User errors (an unknown practice, a missing file, a syntax error) are one line and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from grader import __version__, paths
from grader.check import BadInput, collect, inspect_submission, resolve_practices, run_suites
from grader.release import ReleaseError, release, stale
from grader.report import show
from grader.scoring import build_report
from grader.validate import validate

DEVICE = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                      help="Where training and convergence checks run.")


def _bad_input(error: Exception) -> click.ClickException:
    exception = click.ClickException(str(error))
    exception.exit_code = 2
    return exception


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
            table.add_row(task.id, task.title, f"{task.max_points:g}", str(public), str(len(task.tests) - public))
        console.print(table)


@cli.command()
@click.argument("practices", nargs=-1)
@click.option("--path", "directory", type=click.Path(path_type=Path), default=paths.ASSIGNMENTS_DIR,
              show_default="assignments/", help="Folder with your practice files.")
@click.option("--public-only", is_flag=True, help="Run only the public tests.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as JSON to this file.")
@DEVICE
@click.option("-k", "select", help="Only tests matching this pytest -k expression.")
@click.option("-v", "--verbose", is_flag=True, help="Show every failing test and what your code printed.")
def check(practices: tuple[str, ...], directory: Path, public_only: bool, json_path: Path | None, device: str,
          select: str | None, verbose: bool) -> None:
    """Self-grade your practice files (all practices when none are named).

    Exit code 0 when every task passes, 1 otherwise, 2 for bad input.
    """
    try:
        chosen = resolve_practices(practices)
        inspect_submission(directory, chosen)
    except BadInput as error:
        raise _bad_input(error) from None
    console = Console()
    with Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        bar = progress.add_task("", total=None)
        report = run_suites(directory, chosen, public_only=public_only, device=device, select=select,
                            on_test=lambda test: progress.update(bar, advance=1, description=test.task))
    show(report, console, verbose=verbose)
    if json_path:
        report.save(json_path)
    sys.exit(0 if report.all_passed else 1)


@cli.command("validate")
@DEVICE
def validate_command(device: str) -> None:
    """CI's check: solutions/ scores 100%, and assignments/ scores 0 with every task not implemented."""
    console = Console()
    problems = validate(device=device, say=console.print)
    for problem in problems:
        console.print(f"[red]✗[/red] {problem}")
    if problems:
        sys.exit(1)
    console.print("[green]✓[/green] solutions score 100%; skeletons score 0 with every task not implemented")


@cli.command("release")
@click.option("--check", "check_only", is_flag=True, help="Only check: exit 1 if assignments/ is stale.")
def release_command(check_only: bool) -> None:
    """Generate assignments/ (the student skeletons) from solutions/."""
    try:
        if check_only:
            outdated = stale()
            if outdated:
                click.echo(f"assignments/ is stale: {', '.join(outdated)} differ from solutions/; "
                           "run `bootcamp release`", err=True)
                sys.exit(1)
            click.echo("assignments/ is up to date with solutions/")
            return
        written = release()
    except ReleaseError as error:
        raise _bad_input(error) from None
    click.echo(f"wrote {', '.join('assignments/' + name for name in written)}" if written
               else "assignments/ is already up to date")


@cli.command()
@click.argument("practice", type=click.Choice(["mnist_cnn", "cgan", "pix2pix"]))
@click.option("--path", "directory", type=click.Path(path_type=Path), default=paths.ASSIGNMENTS_DIR,
              show_default="assignments/", help="Folder with the practice file (solutions/ for the reference).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              show_default="mnist_cnn: 10; cgan: enough for 2,500 steps; pix2pix: 10 (paired), 200 (facades)")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              show_default="64; pix2pix: 4 (paired), 1 (facades)")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              show_default="2e-3; cgan: the generator's, the discriminator's is twice it; pix2pix: 5e-4")
@click.option("--seed", type=int, default=0, show_default=True)
@DEVICE
@click.option("--threads", type=click.IntRange(min=0), default=0, help="CPU threads for training (0: torch's default).")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path),
              help="Where the datasets are (default: datasets/, or $BOOTCAMP_DATA).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=paths.RUNS_DIR,
              show_default="runs/", help="Runs are written to OUT/<practice>/<timestamp>/.")
@click.option("--dataset", type=click.Choice(["paired", "facades"]), default=None,
              help="pix2pix: the pairs to train on (default: facades when present under the data root, else the "
                   "embedded paired set).")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default=None,
              help="pix2pix: A (photo) to B (map), or back (default: AtoB for paired, BtoA for facades).")
def train(practice: str, directory: Path, epochs: int | None, batch_size: int | None, lr: float | None, seed: int,
          device: str, threads: int, data_root: Path | None, out: Path, dataset: str | None,
          direction: str | None) -> None:
    """Train a practice's model (yours, or the reference with --path solutions) and record the run."""
    from grader.training.run_command import train_command

    try:
        inspect_submission(directory, [practice])
    except BadInput as error:
        raise _bad_input(error) from None
    if practice != "pix2pix" and (dataset or direction):
        raise click.UsageError("--dataset and --direction are options of `bootcamp train pix2pix`")
    sys.exit(train_command(practice, directory, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                           device=device, threads=threads, data_root=data_root, out=out, dataset=dataset,
                           direction=direction))


def _register_groups() -> None:
    """Command groups that live beside their logic."""
    from grader.data.cli import data
    from grader.gradebook.cli import export_command, grade_command, gradebook

    for command in (data, grade_command, export_command, gradebook):
        cli.add_command(command)


_register_groups()


def main() -> None:
    cli()
