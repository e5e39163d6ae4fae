"""The instructor's commands: `grade`, `export`, `similarity`, and the `gradebook` group (`merge`, `runs`, `diff`).

Each command parses its options, calls one function (`grade.grade`, `exports.export`,
`shards.merge`, ...) and shows the outcome. User errors are one line and exit code 2; an
interrupted batch exits 130 and says how to continue.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table
from rich.text import Text

from grader.check import BadInput
from grader.gradebook import database, faults, shards, view
from grader.gradebook.exports import FORMATS, ExportError, export, points
from grader.gradebook.grade import Event, GradingError, Interrupted, Options, grade
from grader.gradebook.late import LateError, make_policy, parse_time
from grader.gradebook.similarity import SimilarityError, report_similarity

USER_ERRORS = (GradingError, BadInput, LateError, database.GradebookError, ExportError, shards.ShardError,
               SimilarityError)


def _user_error(error: Exception, code: int = 2) -> click.ClickException:
    exception = click.ClickException(str(error).splitlines()[0] if str(error) else type(error).__name__)
    exception.exit_code = code
    return exception


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _late_options(command):
    command = click.option("--grace-minutes", type=float, help="Minutes after the deadline still on time.")(command)
    command = click.option("--late-penalty", type=float,
                           help="Percent of the score taken per started day late (10 with --deadline).")(command)
    return click.option("--deadline", help="Due time, e.g. 2025-03-01T23:59 (local time unless a zone is given).")(
        command)


FORMAT_CHOICE = click.Choice([*FORMATS, "all"])


def _hidden_option(command):
    return click.option("--show-hidden-after", "show_hidden_after", metavar="TIME",
                        help="Feedback written after TIME shows hidden tests' messages and hints; Gradescope gets "
                             "them as after_due_date (e.g. 2025-03-08T00:00).")(command)


def _hidden_time(text: str | None):
    return parse_time(text) if text else None


@click.command("grade")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("-p", "--practice", "practices", multiple=True, help="Grade only this practice (repeatable).")
@click.option("-j", "--workers", type=click.IntRange(min=1), default=None,
              help=f"Submissions graded at once [default: the number of cores, {default_workers()}].")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("grading"),
              show_default=True, help="Folder for the gradebook and the exports.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where training and convergence checks run.")
@click.option("--regrade", is_flag=True, help="Grade everyone again (a new run) and report which scores changed.")
@click.option("--retry-errors", is_flag=True, help="Grade again the submissions whose grading failed.")
@click.option("--shard", help="Grade only slice I of N (I/N, I from 1), for Slurm arrays or CI matrices.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Grade on this machine, or as tasks on a Dask distributed cluster.")
@click.option("--scheduler", help="Dask scheduler address, with --executor dask (e.g. tcp://10.0.0.5:8786).")
@_late_options
@click.option("--times", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV of submission times (student,submitted_at); default: the files' times.")
@click.option("--export", "exports", multiple=True, type=click.Choice([*FORMATS, "all", "none"]), default=("csv",),
              show_default=True, help="Exports to write after grading (repeatable; 'all' for every format).")
@click.option("--assignment", default="bootcamp", show_default=True, help="Assignment name in nbgrader.")
@_hidden_option
@click.option("--max-mib", type=click.FloatRange(min=0.001), default=50.0, show_default=True,
              help="Largest unpacked size of one submission, in MiB.")
@click.option("--select", hidden=True, help="Only tests matching this pytest -k expression.")
@click.option("--call-timeout", type=float, hidden=True, help="Seconds for one call into student code.")
@click.option("--memory-gib", type=float, hidden=True, help="GiB of memory for a student's worker.")
@click.option("--submission-timeout", type=float, default=1800.0, hidden=True,
              help="Seconds for grading one submission, all tests together.")
def grade_command(submissions: Path, practices: tuple[str, ...], workers: int | None, out: Path, device: str,
                  regrade: bool, retry_errors: bool, shard: str | None, executor: str, scheduler: str | None,
                  deadline: str | None, late_penalty: float | None, grace_minutes: float | None, times: Path | None,
                  exports: tuple[str, ...], assignment: str, show_hidden_after: str | None, max_mib: float,
                  select: str | None,
                  call_timeout: float | None, memory_gib: float | None, submission_timeout: float) -> None:
    """Grade a folder of submissions (folders or .zip files named by student id) into OUT/gradebook.sqlite.

    Safe to run again: it continues where it stopped and grades only new or changed submissions.
    """
    console = Console()
    try:
        options = Options(practices=list(practices), workers=workers or default_workers(), device=device,
                          select=select, call_timeout=call_timeout, memory_gib=memory_gib,
                          submission_timeout=submission_timeout, regrade=regrade, retry_errors=retry_errors,
                          shard=shards.parse_shard(shard) if shard else None, executor=executor,
                          scheduler=scheduler, max_bytes=int(max_mib * 2**20), times=times,
                          policy=make_policy(deadline, late_penalty, grace_minutes))
        with Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("[red]{task.fields[failed]} failed"), TextColumn("ETA"), TimeRemainingColumn(),
                      TimeElapsedColumn(), TextColumn("{task.description}", markup=False), console=console) as progress:
            bar = progress.add_task("", total=None, failed=0)

            def on_progress(event: Event) -> None:
                progress.update(bar, total=event.total, completed=event.done, failed=event.failed,
                                description=event.student)

            summary = grade(submissions, out, options, on_progress)
        _show_summary(console, summary)
        exports = tuple(name for name in exports if name != "none")
        if exports:
            written = export(summary.database, list(exports), out, assignment=assignment,
                             show_hidden_after=_hidden_time(show_hidden_after), submissions=submissions)
            console.print(Text(f"wrote {_describe(written, out)}"))
    except Interrupted as error:
        raise _user_error(error, 130) from None
    except USER_ERRORS as error:
        raise _user_error(error) from None
    except faults.FAULTS as error:
        raise _user_error(faults.describe(error, out), 1) from None


def _show_summary(console: Console, summary) -> None:
    how = "resumed" if summary.resumed else "new"
    console.print(Text(f"run {summary.run_id} ({how}), {summary.students} submission(s) in "
                       f"{', '.join(summary.practices)}: {summary.graded} graded now, {summary.skipped} already "
                       f"graded, {summary.carried} unchanged since an earlier run, {len(summary.rejected)} rejected, "
                       f"{len(summary.errors)} failed to grade"))
    for student, reason in summary.rejected:  # ids and reasons come from students: never read as markup
        console.print(Text.assemble(("  rejected ", "yellow"), f"{student}: {reason}"))
    for student, reason in summary.errors:
        console.print(Text.assemble(("  failed ", "red"), f"{student}: {reason}"))
    if summary.ignored:
        console.print(Text(f"  ignored (not a folder or .zip): {', '.join(summary.ignored[:10])}"))
    if summary.changes:
        console.print(_changes_table(summary.changes, "Scores changed since the previous grades"))
    console.print(Text(f"gradebook: {summary.database}"))


def _changes_table(changes: list[view.Change], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("student", "task", "before", "after"):
        table.add_column(column, justify="right" if column in ("before", "after") else "left")
    for change in changes:
        table.add_row(Text(change.student), Text(change.task), "-" if change.before is None else points(change.before),
                      "-" if change.after is None else points(change.after))
    return table


def _describe(written: list[Path], out: Path) -> str:
    groups: dict[str, int] = {}
    for path in written:
        try:
            top = path.relative_to(out).parts[0]
        except ValueError:
            top = str(path)
        groups[top] = groups.get(top, 0) + 1
    return ", ".join(f"{out / name}" + (f"/ ({count} files)" if count > 1 else "") for name, count in groups.items())


@click.command("export")
@click.argument("formats", nargs=-1, required=True, type=FORMAT_CHOICE)
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("grading"),
              show_default=True, help="Folder to write into (and where the gradebook is, unless --db).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="The gradebook to read [default: OUT/gradebook.sqlite].")
@_late_options
@click.option("--assignment", default="bootcamp", show_default=True, help="Assignment name in nbgrader.")
@click.option("--nbgrader-db", type=click.Path(dir_okay=False, path_type=Path),
              help="Update this nbgrader gradebook.db (a course's own) instead of OUT/nbgrader/gradebook.db.")
@_hidden_option
@click.option("--submissions", type=click.Path(file_okay=False, path_type=Path),
              help="The submissions folder, for the similarity export (then `all` includes it).")
def export_command(formats: tuple[str, ...], out: Path, db: Path | None, deadline: str | None,
                   late_penalty: float | None, grace_minutes: float | None, assignment: str,
                   nbgrader_db: Path | None, show_hidden_after: str | None, submissions: Path | None) -> None:
    """Write exports of the current grades: csv, gradescope, feedback, nbgrader, summary, similarity, or all.

    The late policy given at grading applies unless --deadline gives another.
    """
    try:
        written = export(db or out / database.FILE_NAME, list(formats), out,
                         policy=make_policy(deadline, late_penalty, grace_minutes), assignment=assignment,
                         nbgrader_db=nbgrader_db, show_hidden_after=_hidden_time(show_hidden_after),
                         submissions=submissions)
    except USER_ERRORS as error:
        raise _user_error(error) from None
    except faults.FAULTS as error:
        raise _user_error(faults.describe(error, out, grading=False), 1) from None
    click.echo(f"wrote {_describe(written, out)}")


@click.command("similarity")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("grading"),
              show_default=True, help="Folder to write similarity/ into.")
@click.option("-p", "--practice", "practices", multiple=True, help="Only this practice (repeatable).")
@click.option("--top", type=click.IntRange(min=1), default=50, show_default=True,
              help="Pairs per practice shown, each with its own page (pairs.csv lists all).")
def similarity_command(submissions: Path, out: Path, practices: tuple[str, ...], top: int) -> None:
    """Which submissions share code: per practice, pairs ranked by shared code, the skeleton discounted."""
    try:
        result, written = report_similarity(submissions, out, list(practices), top)
    except USER_ERRORS as error:
        raise _user_error(error) from None
    except faults.FAULTS as error:
        raise _user_error(faults.describe(error, out, grading=False), 1) from None
    for practice in result.practices:
        best = practice.pairs[0] if practice.pairs else None
        click.echo(f"{practice.practice}: {len(practice.codes)} file(s), {len(practice.pairs)} pair(s) share code"
                   + (f"; most: {best.a} and {best.b}, {best.shared} tokens" if best else ""))
    click.echo(f"wrote {out / 'similarity' / 'index.html'} ({len(written)} files)")


@click.group("gradebook")
def gradebook() -> None:
    """Work with gradebooks: merge shards, list runs, compare runs."""


@gradebook.command("merge")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("sources", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def merge_command(target: Path, sources: tuple[Path, ...]) -> None:
    """Copy the runs of shard gradebooks SOURCES into TARGET (created if missing); merging twice is harmless."""
    try:
        result = shards.merge(target, list(sources))
    except USER_ERRORS as error:
        raise _user_error(error) from None
    click.echo(f"merged {result.runs_added} run(s) ({result.students} student(s)) into {target}"
               + (f"; {result.runs_skipped} run(s) were already there" if result.runs_skipped else ""))
    if result.overlaps:
        click.echo(f"graded in more than one shard (the latest merged wins): {', '.join(sorted(set(result.overlaps)))}")


@gradebook.command("runs")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=Path("grading") / database.FILE_NAME,
              show_default=True)
def runs_command(db: Path) -> None:
    """The runs in a gradebook: when, what, how many students, finished or not."""
    try:
        connection = database.connect(db, create=False)
    except USER_ERRORS as error:
        raise _user_error(error) from None
    table = Table(title=Text(str(db)), title_justify="left")
    for column in ("run", "status", "started", "practices", "select", "shard", "students", "suites", "origin"):
        table.add_column(column)
    for run in database.runs(connection):
        table.add_row(*(Text(cell) for cell in (
            str(run["id"]), run["status"], run["started"], ", ".join(json.loads(run["practices"])),
            run["select_expr"] or "", run["shard"], str(run["students"]), run["suites_hash"][:12], run["origin"])))
    connection.close()
    Console().print(table)


@gradebook.command("diff")
@click.argument("runs", nargs=-1, type=int)
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=Path("grading") / database.FILE_NAME,
              show_default=True)
def diff_command(runs: tuple[int, ...], db: Path) -> None:
    """Task scores that differ between two runs (OLD NEW; default: the last two runs)."""
    try:
        connection = database.connect(db, create=False)
        ids = [row["id"] for row in database.runs(connection)]
        if len(runs) not in (0, 2):
            raise GradingError("give two run ids (OLD NEW), or none for the last two runs")
        old, new = runs or (ids[-2:] if len(ids) >= 2 else (None, None))
        if old is None or old not in ids or new not in ids:
            raise GradingError(f"{db}: needs two runs to compare; runs here: {', '.join(map(str, ids)) or 'none'}")
        before, after = view.run_scores(connection, old), view.run_scores(connection, new)
        both = {s for s, _ in before} & {s for s, _ in after}
        found = view.changes(before, after, both)
        connection.close()
    except USER_ERRORS as error:
        raise _user_error(error) from None
    if not found:
        click.echo(f"no task score differs between runs {old} and {new}")
        return
    Console().print(_changes_table(found, f"Scores changed from run {old} to run {new}"))
