"""Show a report in the terminal: a table per practice, then what to fix, then the total.

Student text (messages quoting their exceptions, what their code printed, the `where` column)
goes through `student_text.visible` and is printed as rich `Text`, never parsed as markup; what
their code printed is set apart behind "  | " under a label, so nothing it prints can pass for
the grader's own lines.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.scoring import PracticeResult, Report, TaskResult
from grader.student_text import student_block, visible

STYLES = {"passed": "green", "failed": "red", "error": "red", "timeout": "yellow",
          "not implemented": "dim", "skipped": "dim"}


def _points(value: float) -> str:
    return f"{value:g}"


def practice_table(practice: PracticeResult, width: int = 120) -> Table:
    """The practice's tasks as a table for a console `width` columns wide; below 100 columns the
    `where` column names the file without its folder, so the task descriptions keep their room."""
    table = Table(title=f"{practice.name}: {_points(practice.points)} / {_points(practice.max_points)} points",
                  title_justify="left", expand=False)
    table.add_column("task", no_wrap=True)
    table.add_column("what", ratio=1, min_width=12)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("where", no_wrap=True)
    for task in practice.tasks:
        where = task.where if width >= 100 else task.where.rpartition("/")[2]
        table.add_row(task.id, task.title, f"{_points(task.points)}/{_points(task.max_points)}",
                      Text(task.status, style=STYLES.get(task.status, "")), Text(visible(where)))
    return table


def problem_text(task: TaskResult, verbose: bool) -> Text:
    """What went wrong in a task: its first problem, or every problem when verbose."""
    problems = sorted((t for t in task.tests if t.status not in ("passed", "skipped")), key=lambda t: t.style)
    text = Text()
    for test in problems if verbose else problems[:1]:
        text.append(f"{task.id} ", style="bold")
        text.append(f"({test.visibility} test {test.name}, {test.status})\n", style="dim")
        text.append(_indent(visible(test.message.strip()) or test.status) + "\n")
        if verbose and test.output.strip():
            printed = student_block("what your code printed (its text, not the grader's):", test.output.strip()[-2000:])
            text.append(_indent(printed) + "\n", style="dim")
    if not verbose and len(problems) > 1:
        text.append(f"  ({len(problems) - 1} more failing test(s) in {task.id}; -v shows all)\n", style="dim")
    return text


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def show(report: Report, console: Console | None = None, *, verbose: bool = False) -> None:
    console = console or Console()
    for practice in report.practices:
        console.print(practice_table(practice, console.width))
        to_fix = [t for t in practice.tasks if t.status not in ("passed", "not implemented")]
        todo = [t for t in practice.tasks if t.status == "not implemented"]
        for task in to_fix + (todo if verbose else []):
            console.print(problem_text(task, verbose))
        if todo and not verbose:
            console.print(Text(f"{len(todo)} task(s) not implemented yet: replace the NotImplementedError at "
                               "the place shown in 'where'.", style="dim"))
        console.print()
    for error in report.errors:
        console.print(Text(f"error: {error}", style="red"))
    scope = " (public tests only)" if report.public_only else ""
    console.print(Text(f"Total: {_points(report.points)} / {_points(report.max_points)} points{scope}",
                       style="bold green" if report.all_passed else "bold"))
    if report.isolation:
        console.print(Text("Isolation: " + "; ".join(report.isolation), style="dim"))
