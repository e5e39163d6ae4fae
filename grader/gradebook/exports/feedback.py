"""Feedback for each student: `feedback/<student>.md` and `feedback/<student>.html`.

What a student may see: the score of every practice and task; every public test that did not pass
in full (what was called, what was expected, what came back, the hint, and what their code
printed); hidden tests by name and points only, never their message, source or output; the
late penalty; and why a submission or a practice was not graded.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from grader.gradebook.exports import points, safe_name
from grader.gradebook.view import ClassView, PracticeView, StudentView
from grader.release import write_atomically
from grader.student_text import visible

_OUTPUT_CAP = 4000


def _problems(practice: PracticeView):
    for task in practice.tasks:
        for test in task.tests:
            if test.visibility == "public" and test.status != "passed":
                yield task, test


def _hidden(practice: PracticeView):
    for task in practice.tasks:
        for test in task.tests:
            if test.visibility != "public":
                yield task, test


def _headline(student: StudentView) -> list[str]:
    lines = [f"Total: {points(student.score)} / {points(student.max_score)} points"]
    if student.late and student.late.days:
        lines[0] += f"; after the late penalty: {points(student.final)}"
    if student.late:
        lines.append(student.late.describe().capitalize())
    if student.status != "graded":
        lines.append(f"Your submission could not be graded ({student.status}): {student.reason}")
    lines += [f"Note: {note}" for note in student.notes]
    return lines


# ---- Markdown -----------------------------------------------------------------------------------

def _fence(text: str) -> str:
    text = visible(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(student: StudentView, grades: ClassView) -> str:
    out = [f"# Feedback for {_cell(student.student)}", ""]
    out += [f"- {_cell(line)}" for line in _headline(student)] + [""]
    for practice in student.practices:
        out += [f"## {practice.name}: {points(practice.score)} / {points(practice.max_score)} points", ""]
        if practice.status != "graded":
            out += [f"Not graded: {_cell(practice.reason)}", ""]
        if practice.tasks:
            out += ["| task | what | points | status |", "| --- | --- | ---: | --- |"]
            out += [f"| {t.id} | {_cell(t.title)} | {points(t.score)} / {points(t.max_score)} | {t.status} |"
                    for t in practice.tasks] + [""]
        problems = list(_problems(practice)) if practice.status == "graded" else []
        if problems:
            out += ["### Public tests to fix", ""]
            for task, test in problems:
                out += [f"#### {task.id} `{test.name}`: {test.status}, {points(test.earned)} / "
                        f"{points(test.points)} points", "", _fence(test.message.strip() or test.status), ""]
                if test.output.strip():
                    out += ["Your code printed:", "", _fence(test.output.strip()[-_OUTPUT_CAP:]), ""]
        hidden = list(_hidden(practice))
        if hidden:
            out += ["### Hidden tests", "", "| task | test | points |", "| --- | --- | ---: |"]
            out += [f"| {task.id} | `{test.name}` | {points(test.earned)} / {points(test.points)} |"
                    for task, test in hidden] + [""]
    if grades.policy:
        out += [f"Late policy: {grades.policy.describe()}.", ""]
    return "\n".join(out)


# ---- HTML ---------------------------------------------------------------------------------------

_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
td.n{text-align:right}pre{background:#f6f6f6;padding:.5rem;overflow-x:auto;white-space:pre-wrap}
.passed{color:#1a7f37}.failed,.error,.timeout{color:#b42318}.skipped,.not.implemented{color:#777}"""


def _e(text: object) -> str:
    return html.escape(visible(str(text)), quote=True)


def page(title: str, body: list[str]) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def html_page(student: StudentView, grades: ClassView) -> str:
    body = [f"<h1>Feedback for {_e(student.student)}</h1>", "<ul>"]
    body += [f"<li>{_e(line)}</li>" for line in _headline(student)] + ["</ul>"]
    for practice in student.practices:
        body.append(f"<h2>{_e(practice.name)}: {points(practice.score)} / {points(practice.max_score)} points</h2>")
        if practice.status != "graded":
            body.append(f"<p>Not graded: {_e(practice.reason)}</p>")
        if practice.tasks:
            body.append("<table><tr><th>task</th><th>what</th><th>points</th><th>status</th></tr>")
            body += [f"<tr><td>{_e(t.id)}</td><td>{_e(t.title)}</td><td class=\"n\">{points(t.score)} / "
                     f"{points(t.max_score)}</td><td class=\"{_e(t.status)}\">{_e(t.status)}</td></tr>"
                     for t in practice.tasks]
            body.append("</table>")
        problems = list(_problems(practice)) if practice.status == "graded" else []
        if problems:
            body.append("<h3>Public tests to fix</h3>")
            for task, test in problems:
                body.append(f"<h4>{_e(task.id)} <code>{_e(test.name)}</code>: {_e(test.status)}, "
                            f"{points(test.earned)} / {points(test.points)} points</h4>")
                body.append(f"<pre>{_e(test.message.strip() or test.status)}</pre>")
                if test.output.strip():
                    body.append(f"<p>Your code printed:</p><pre>{_e(test.output.strip()[-_OUTPUT_CAP:])}</pre>")
        hidden = list(_hidden(practice))
        if hidden:
            body.append("<h3>Hidden tests</h3><table><tr><th>task</th><th>test</th><th>points</th></tr>")
            body += [f"<tr><td>{_e(task.id)}</td><td><code>{_e(test.name)}</code></td>"
                     f"<td class=\"n\">{points(test.earned)} / {points(test.points)}</td></tr>"
                     for task, test in hidden]
            body.append("</table>")
    if grades.policy:
        body.append(f"<p>Late policy: {_e(grades.policy.describe())}.</p>")
    return page(f"Feedback for {student.student}", body)


def write(grades: ClassView, out: Path) -> list[Path]:
    folder = out / "feedback"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student in grades.students:
        name = safe_name(student.student)
        for suffix, text in ((".md", markdown(student, grades)), (".html", html_page(student, grades))):
            target = folder / f"{name}{suffix}"
            write_atomically(target, text)
            written.append(target)
    return written
