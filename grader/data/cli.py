"""`bootcamp data list | fetch NAME | verify [NAME]`: thin commands over `grader.data`.

Every `DataError` becomes a `click.ClickException`: its message and exit status 1, no traceback.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from grader.data.fetch import fetch_set
from grader.data.manifest import SetSpec, load_manifest
from grader.paths import data_root
from grader.data.sets import DataError
from grader.data.verify import CORRUPT, MISSING, SetStatus, inspect_embedded, inspect_set

STATE_STYLES = {
    "present": "green",
    "verified": "bold green",
    "missing": "yellow",
    "corrupt": "bold red",
}

data_root_option = click.option(
    "--data-root",
    "root_override",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding the data sets [default: $BOOTCAMP_DATA, else datasets/].",
)


def _human_size(size: int) -> str:
    value, unit = float(size), "B"
    for larger in ("KB", "MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, larger
    return f"{size} B" if unit == "B" else f"{value:,.1f} {unit}"


def _status_table(title: str, statuses: list[SetStatus]) -> Table:
    table = Table(title=title)
    for column in ("set", "state", "size", "location", "details"):
        table.add_column(column, overflow="fold")
    for status in statuses:
        state = f"[{STATE_STYLES[status.state]}]{status.state}[/]"
        size = _human_size(status.size) if status.size else "-"
        details = "\n".join(status.problems + status.notes)
        table.add_row(status.name, state, size, str(status.location), details)
    return table


def _manifest_sets(name: str | None) -> list[SetSpec]:
    """Every set in the manifest, or only NAME (a usage error if unknown)."""
    manifest = load_manifest()
    if name is None:
        return list(manifest.values())
    if name not in manifest:
        raise click.BadParameter(
            f"unknown set {name!r}; choose from {', '.join(manifest)}", param_hint="NAME"
        )
    return [manifest[name]]


@click.group()
def data() -> None:
    """List, download and verify the data sets (MNIST, CIFAR-10, facades)."""


@data.command("list")
@data_root_option
def list_command(root_override: Path | None) -> None:
    """Show each set, embedded ones included: present, missing or corrupt, size and place."""
    root = data_root(root_override)
    try:
        statuses = [inspect_set(spec, root, thorough=False) for spec in _manifest_sets(None)]
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    statuses += inspect_embedded(thorough=False)
    Console().print(_status_table(f"Data sets in {root}", statuses))


@data.command("fetch")
@click.argument("name")
@data_root_option
def fetch_command(name: str, root_override: Path | None) -> None:
    """Download NAME's files, check their md5, and extract them where needed."""
    root = data_root(root_override)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    try:
        (spec,) = _manifest_sets(name)
        console = Console(stderr=True)
        with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
            downloaded = fetch_set(spec, root, progress=progress)
        status = inspect_set(spec, root, thorough=True)
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    if status.state == CORRUPT:
        raise click.ClickException(f"{name}: {'; '.join(status.problems)}")
    action = f"downloaded {len(downloaded)} file(s)" if downloaded else "already present"
    click.echo(
        f"{name}: {action}, verified, in {status.location}"
        + "".join(f"; {n}" for n in status.notes)
    )


@data.command("verify")
@click.argument("name", required=False)
@data_root_option
def verify_command(name: str | None, root_override: Path | None) -> None:
    """Check md5s and decode every file of NAME (default: every set); exit 1 if any is corrupt."""
    root = data_root(root_override)
    try:
        statuses = [inspect_set(spec, root, thorough=True) for spec in _manifest_sets(name)]
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    if name is None:
        statuses += inspect_embedded(thorough=True)
    elif statuses[0].state == MISSING:
        missing = statuses[0]
        raise click.ClickException(
            f"{name} is missing in {missing.location}: {'; '.join(missing.problems)} "
            f"(run `bootcamp data fetch {name}`, or place them by hand: see datasets/README.md)"
        )
    Console().print(_status_table(f"Verified in {root}", statuses))
    if corrupt := [s.name for s in statuses if s.state == CORRUPT]:
        raise click.ClickException(
            f"corrupt: {', '.join(corrupt)} (see the details above; nothing was deleted)"
        )
