"""Feedback for each student: `feedback/<student>.md` and `feedback/<student>.html`.

What a student may see: the score of every practice and task; every public test that did not pass
in full (what was called, what was expected, what came back, the hint, and what their code
printed); hidden tests by name and points only, never their message, source or output; the
late penalty; why a submission or a practice was not graded; and which practices were not
handed in (*not submitted*, never *failed*).

After the date given with `--show-hidden-after` (`Hidden.shown`), hidden tests are shown like
public ones: message, hint and printed output. Before it, the page says when they will be.

The HTML page has a section per practice and, in it, one per task: its status, points, the tests
to fix and, for a convergence task, what the run that graded it kept (`grader.attachments`): the
judge's numbers beside the bars and the reference solution's (`TaskView.measures`), and the
pictures of what the student's trained weights drew and of their training curves
(`TaskView.pictures`, PNGs inline as `data:` URIs). A hidden test's pictures and numbers are shown
where its message is (after `--show-hidden-after`). The Markdown page has the numbers; the
pictures are in the HTML page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader.gradebook.exports import points, safe_name
from grader.gradebook.exports.page import badge, e, page, png_uri
from grader.attachments import Measure
from grader.gradebook.view import ClassView, PracticeView, StudentView, TaskView, TestView
from grader.atomic import write_atomically
from grader.student_text import visible

_OUTPUT_CAP = 4000
_e = e


@dataclass(frozen=True)
class Hidden:
    """When hidden tests' details may be shown: after `after` (None: never), judged at `now`."""

    after: datetime | None = None
    now: datetime | None = None

    @property
    def shown(self) -> bool:
        return self.after is not None and (self.now or datetime.now(self.after.tzinfo)) >= self.after

    def promise(self) -> str:
        if self.after is None or self.shown:
            return ""
        return f"The hidden tests' messages and hints are shown here after {self.after:%Y-%m-%d %H:%M %Z}."


def _in_full(test: TestView, hidden: Hidden) -> bool:
    """Whether a test that did not pass is explained in full (public, or hidden after the date)."""
    return test.status not in ("passed", "not submitted") and (test.visibility == "public" or hidden.shown)


def _shown(items: list, hidden: Hidden) -> list:
    """The pictures or measures of a task that the student may see now."""
    return [item for item in items if item.visibility == "public" or hidden.shown]


def _measure_cells(measure: Measure) -> tuple[str, str, str, str]:
    """(name, the student's value with a mark, the bar, the reference's value), as text."""
    mark = {True: " ✓", False: " ✗", None: ""}[measure.met]
    return (measure.name, measure.shown(measure.value) + mark, measure.bar_text or "-",
            measure.shown(measure.reference) if measure.reference is not None else "-")


MEASURE_HEAD = ("measure", "yours", "bar", "reference solution")


def _headline(student: StudentView) -> list[str]:
    lines = [f"Total: {points(student.score)} / {points(student.max_score)} points"]
    if student.late and student.late.days:
        lines[0] += f"; after the late penalty: {points(student.final)}"
    if student.late:
        lines.append(student.late.describe().capitalize())
    if student.status != "graded":
        lines.append(f"Your submission could not be graded ({student.status}): {student.reason}")
    missing = [p.name for p in student.practices if not p.submitted]
    if missing and student.status == "graded":
        lines.append(f"Not submitted: {', '.join(missing)}")
    lines += [f"Note: {note}" for note in student.notes]
    return lines


def _practice_line(practice: PracticeView) -> str:
    if not practice.submitted:
        return f"Not submitted: {practice.reason}"
    if practice.status != "graded":
        return f"Not graded: {practice.reason}"
    return ""


# ---- Markdown -----------------------------------------------------------------------------------

def _fence(text: str) -> str:
    text = visible(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _cell(text: str) -> str:
    return visible(text).replace("|", "\\|").replace("\n", " ")


def markdown(student: StudentView, grades: ClassView, hidden: Hidden = Hidden()) -> str:
    out = [f"# Feedback for {_cell(student.student)}", ""]
    out += [f"- {_cell(line)}" for line in _headline(student)] + [""]
    for practice in student.practices:
        out += [f"## {practice.name}: {points(practice.score)} / {points(practice.max_score)} points", ""]
        if _practice_line(practice):
            out += [_cell(_practice_line(practice)), ""]
        if practice.tasks:
            out += ["| task | what | points | status |", "| --- | --- | ---: | --- |"]
            out += [f"| {t.id} | {_cell(t.title)} | {points(t.score)} / {points(t.max_score)} | {t.status} |"
                    for t in practice.tasks] + [""]
        for task in practice.tasks:
            measures = _shown(task.measures, hidden)
            if measures:
                out += [f"### {task.id}: the graded run", "", "| " + " | ".join(MEASURE_HEAD) + " |",
                        "| --- | ---: | --- | ---: |"]
                out += ["| " + " | ".join(_cell(c) for c in _measure_cells(m)) + " |" for m in measures] + [""]
                if _shown(task.pictures, hidden):
                    out += ["Pictures of the run (what your trained weights drew, your training curves) are in the "
                            "HTML page.", ""]
            for test in task.tests:
                if not _in_full(test, hidden):
                    continue
                kind = "" if test.visibility == "public" else " (hidden)"
                out += [f"### {task.id} `{test.name}`{kind}: {test.status}, {points(test.earned)} / "
                        f"{points(test.points)} points", "", _fence(test.message.strip() or test.status), ""]
                if test.output.strip():
                    out += ["Your code printed:", "", _fence(test.output.strip()[-_OUTPUT_CAP:]), ""]
        secret = [(t, test) for t in practice.tasks for test in t.tests
                  if test.visibility != "public" and not hidden.shown and practice.submitted]
        if secret:
            out += ["### Hidden tests", "", "| task | test | points |", "| --- | --- | ---: |"]
            out += [f"| {task.id} | `{test.name}` | {points(test.earned)} / {points(test.points)} |"
                    for task, test in secret] + [""]
            if hidden.promise():
                out += [hidden.promise(), ""]
    if grades.policy:
        out += [f"Late policy: {grades.policy.describe()}.", ""]
    return "\n".join(out)


# ---- HTML ---------------------------------------------------------------------------------------

def _bar(score: float, top: float) -> str:
    share = 100 * score / top if top else 0
    return f'<div class="bar" role="img" aria-label="{share:.0f}%"><span style="width:{share:.1f}%"></span></div>'


def _test_html(test: TestView, hidden: Hidden) -> list[str]:
    kind = "hidden test" if test.visibility != "public" else "test"
    line = (f"{kind} <code>{e(test.name)}</code> {badge(test.status)} "
            f"<span class=\"muted\">{points(test.earned)} / {points(test.points)} points</span>")
    if not _in_full(test, hidden):
        return [f"<p>{line}</p>"]
    body = [f"<h4>{line}</h4>", f"<pre>{e(test.message.strip() or test.status)}</pre>"]
    if test.output.strip():
        body.append(f"<p>Your code printed:</p><pre>{e(test.output.strip()[-_OUTPUT_CAP:])}</pre>")
    return body


def _task_html(task: TaskView, submitted: bool, hidden: Hidden) -> list[str]:
    body = [f'<section class="task" id="{e(task.id)}"><header><strong>{e(task.id)}</strong>'
            f"<span>{e(task.title)}</span>{badge(task.status)}"
            f'<span class="points">{points(task.score)} / {points(task.max_score)} points</span></header>']
    if submitted:
        for test in task.tests:
            if test.status != "passed" or test.visibility != "public":
                body += _test_html(test, hidden)
    measures = _shown(task.measures, hidden)
    if measures:
        body.append('<table class="wide measures"><tr>' + "".join(f"<th>{h}</th>" for h in MEASURE_HEAD) + "</tr>")
        for measure in measures:
            name, *numbers = _measure_cells(measure)
            body.append(f"<tr><td>{e(name)}</td>" + "".join(f'<td class="n">{e(c)}</td>' for c in numbers) + "</tr>")
        body.append("</table>")
    pictures = _shown(task.pictures, hidden)
    if pictures:
        body.append('<div class="pictures">')
        body += [f'<figure><img alt="{e(p.caption)}" src="{png_uri(p.png)}"><figcaption>{e(p.caption)}'
                 "</figcaption></figure>" for p in pictures]
        body.append("</div>")
    return body + ["</section>"]


def html_page(student: StudentView, grades: ClassView, hidden: Hidden = Hidden()) -> str:
    body = [f"<h1>Feedback for {e(student.student)}</h1>",
            f"<p><strong>{points(student.score)} / {points(student.max_score)} points</strong></p>",
            _bar(student.score, student.max_score), "<ul>"]
    body += [f"<li>{e(line)}</li>" for line in _headline(student)[1:]] + ["</ul>"]
    if hidden.promise():
        body.append(f"<p class=\"muted\">{e(hidden.promise())}</p>")
    body.append('<div class="cards">')
    for practice in student.practices:
        state = "" if practice.status == "graded" else " " + badge("not submitted" if not practice.submitted
                                                                     else practice.status)
        body.append(f'<div class="card"><a href="#practice-{e(practice.name)}">{e(practice.name)}</a>{state}<br>'
                    f"{points(practice.score)} / {points(practice.max_score)} points"
                    f"{_bar(practice.score, practice.max_score)}</div>")
    body.append("</div>")
    for practice in student.practices:
        body.append(f'<h2 id="practice-{e(practice.name)}">{e(practice.name)}: {points(practice.score)} / '
                    f"{points(practice.max_score)} points</h2>")
        if _practice_line(practice):
            body.append(f'<p class="notice">{e(_practice_line(practice))}</p>')
        for task in practice.tasks:
            body += _task_html(task, practice.submitted and practice.status == "graded", hidden)
    if grades.policy:
        body.append(f"<p>Late policy: {e(grades.policy.describe())}.</p>")
    return page(f"Feedback for {student.student}", body)


def write(grades: ClassView, out: Path, hidden: Hidden = Hidden()) -> list[Path]:
    folder = out / "feedback"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student in grades.students:
        name = safe_name(student.student)
        for suffix, text in ((".md", markdown(student, grades, hidden)), (".html", html_page(student, grades, hidden))):
            target = folder / f"{name}{suffix}"
            write_atomically(target, text)
            written.append(target)
    return written
