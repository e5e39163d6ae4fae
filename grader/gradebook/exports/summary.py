"""summary.html: the class at a glance, for the instructor.

Pictures first (PNG, embedded as base64 so the page is one file): a histogram of scores per
practice and of the total, and the tasks most students did not pass in full, as bars. Then the
tables: submissions that could not be graded and why, late submissions, and every student's scores.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from pathlib import Path

from grader.gradebook.exports import points
from grader.gradebook.exports.feedback import _e, page
from grader.gradebook.view import ClassView
from grader.release import write_atomically

TOP_TASKS = 15


def _png(figure) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def histograms(grades: ClassView) -> str:
    from matplotlib.figure import Figure

    panels = [(p, [s.practice(p).score for s in grades.students], grades.max_score(p)) for p in grades.practices]
    total = "total after late penalty" if grades.policy else "total"
    panels.append((total, [s.final for s in grades.students], sum(grades.max_score(p) for p in grades.practices)))
    figure = Figure(figsize=(4 * len(panels), 3))
    for index, (name, scores, top) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        if top <= 20:  # one bar per whole point
            bins = [i - 0.5 for i in range(int(top) + 2)]
            axes.set_xticks(range(int(top) + 1))
        else:
            bins = [top * i / 20 for i in range(21)]
        axes.hist(scores, bins=bins, color="#4c78a8", edgecolor="white")
        axes.set_title(f"{name} (max {points(top)})")
        axes.set_xlabel("points")
        axes.set_ylabel("students")
    figure.tight_layout()
    return _png(figure)


def failed_tasks(grades: ClassView) -> list[tuple[str, str, float]]:
    """(task, title, share of graded students without full marks), most failed first."""
    graded = [s for s in grades.students if s.status == "graded"]
    missed: Counter[str] = Counter()
    for student in graded:
        for practice in student.practices:
            for task in practice.tasks:
                if task.score < task.max_score:
                    missed[task.id] += 1
    titles = grades.task_titles
    ranked = sorted(missed.items(), key=lambda item: (-item[1], item[0]))[:TOP_TASKS]
    return [(task, titles.get(task, ("", 0))[0], count / len(graded)) for task, count in ranked if graded]


def failed_chart(rows: list[tuple[str, str, float]]) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 0.45 * len(rows) + 1))
    axes = figure.add_subplot(1, 1, 1)
    labels = [f"{task} {title[:40]}" for task, title, _ in rows][::-1]
    shares = [share * 100 for _, _, share in rows][::-1]
    axes.barh(labels, shares, color="#e45756")
    axes.set_xlim(0, 100)
    axes.set_xlabel("% of graded students without full marks")
    figure.tight_layout()
    return _png(figure)


def html(grades: ClassView) -> str:
    students = grades.students
    statuses = Counter(s.status for s in students)
    late = [s for s in students if s.late and s.late.days]
    body = ["<h1>Class summary</h1>",
            f"<p>{len(students)} submission(s): {statuses['graded']} graded, {statuses['rejected']} rejected, "
            f"{statuses['error']} failed to grade; {len(late)} late.</p>"]
    if grades.policy:
        body.append(f"<p>Late policy: {_e(grades.policy.describe())}.</p>")
    versions = sorted({(s.grader_version, s.suites_hash[:12]) for s in students if s.status == "graded"})
    body.append("<p>Graded with " + ", ".join(f"grader {_e(v)} (suites {_e(h)})" for v, h in versions) + "</p>")
    body += ["<h2>Scores</h2>", f'<img alt="score histograms" src="{histograms(grades)}">']
    rows = failed_tasks(grades)
    if rows:
        body += ["<h2>Tasks most students failed</h2>", f'<img alt="tasks most failed" src="{failed_chart(rows)}">',
                 "<table><tr><th>task</th><th>what</th><th>without full marks</th></tr>"]
        body += [f"<tr><td>{_e(t)}</td><td>{_e(title)}</td><td class=\"n\">{share * 100:.0f}%</td></tr>"
                 for t, title, share in rows]
        body.append("</table>")
    problems = [s for s in students if s.status != "graded"]
    if problems:
        body += ["<h2>Not graded</h2>", "<table><tr><th>student</th><th>status</th><th>reason</th></tr>"]
        body += [f"<tr><td>{_e(s.student)}</td><td>{_e(s.status)}</td><td>{_e(s.reason)}</td></tr>" for s in problems]
        body.append("</table>")
    if late:
        body += ["<h2>Late</h2>", "<table><tr><th>student</th><th>submitted</th><th>days</th><th>penalty</th></tr>"]
        body += [f"<tr><td>{_e(s.student)}</td><td>{_e(s.submitted_at.isoformat(timespec='minutes'))}</td>"
                 f"<td class=\"n\">{s.late.days}</td><td class=\"n\">{points(s.late.penalty * 100)}%</td></tr>"
                 for s in late]
        body.append("</table>")
    header = "".join(f"<th>{_e(p)}</th>" for p in grades.practices)
    body += ["<h2>Students</h2>",
             f"<table><tr><th>student</th><th>status</th>{header}<th>total</th><th>final</th></tr>"]
    for s in students:
        cells = "".join(f"<td class=\"n\">{points(s.practice(p).score)}</td>" for p in grades.practices)
        body.append(f"<tr><td>{_e(s.student)}</td><td>{_e(s.status)}</td>{cells}<td class=\"n\">{points(s.score)}</td>"
                    f"<td class=\"n\">{points(s.final)}</td></tr>")
    body.append("</table>")
    return page("Class summary", body)


def write(grades: ClassView, out: Path) -> list[Path]:
    target = out / "summary.html"
    write_atomically(target, html(grades))
    return [target]
