"""summary.html: the class at a glance, for the instructor.

Pictures first (PNG, embedded as data URIs so the page is one file that loads nothing): a
histogram of scores per practice and of the total (one small chart each, counts of students on an
integer axis), and each task's pass rate among the students who handed its practice in, as bars
with the task ids and, beside them, a table with the tasks' titles. Where tasks carry convergence
measures (`TaskView.measures`), a histogram per measure follows. Then the tables: submissions that
could not be graded and why, late submissions, and every student's scores per practice
("not submitted" where a practice was not handed in), each student linked to their feedback page.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from pathlib import Path

from grader.gradebook.exports import points, safe_name
from grader.gradebook.exports.page import badge, e, page, png_uri
from grader.gradebook.view import ClassView
from grader.atomic import write_atomically


def _png(figure) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return png_uri(buffer.getvalue())


def _counts_axis(axes) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("students")


def histogram(name: str, scores: list[float], top: float) -> str:
    """One practice's (or the total's) scores, one bar per whole point up to 20 points."""
    return _png(histogram_axes(name, scores, top).figure)


def histogram_axes(name: str, scores: list[float], top: float):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.6, 2.6))
    axes = figure.add_subplot(1, 1, 1)
    if 0 < top <= 20:
        bins = [i - 0.5 for i in range(int(top) + 2)]
        axes.set_xticks(range(0, int(top) + 1, max(1, int(top) // 10)))
    else:
        bins = [top * i / 20 for i in range(21)] if top > 0 else [0, 1]
    axes.hist(scores, bins=bins, color="#4c78a8", edgecolor="white")
    axes.set_title(f"{name} (max {points(top)})", fontsize=10)
    axes.set_xlabel("points")
    _counts_axis(axes)
    figure.tight_layout()
    return axes


def pass_rates(grades: ClassView) -> list[tuple[str, str, int, int]]:
    """(task, title, students who passed it, students who handed its practice in), in course order."""
    passed: Counter[str] = Counter()
    handed: Counter[str] = Counter()
    for student in grades.students:
        if student.status != "graded":
            continue
        for practice in student.practices:
            if practice.status != "graded":
                continue
            for task in practice.tasks:
                handed[task.id] += 1
                passed[task.id] += task.score >= task.max_score
    titles = grades.task_titles
    return [(task, titles.get(task, ("", 0))[0], passed[task], handed[task]) for task in titles if handed[task]]


def pass_rate_chart(rows: list[tuple[str, str, int, int]]) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 0.28 * len(rows) + 1.0))
    axes = figure.add_subplot(1, 1, 1)
    labels = [task for task, *_ in rows][::-1]
    shares = [100 * ok / total for _, _, ok, total in rows][::-1]
    axes.barh(labels, shares, color="#54a24b")
    axes.set_xlim(0, 100)
    axes.set_xlabel("% of the students who handed the practice in that passed the task")
    axes.tick_params(axis="y", labelsize=8)
    figure.tight_layout()
    return _png(figure)


def measures(grades: ClassView) -> dict[str, list[float]]:
    """'task: measure' -> every graded student's value, for the tasks that record measures."""
    found: dict[str, list[float]] = defaultdict(list)
    for student in grades.students:
        for practice in student.practices:
            for task in practice.tasks:
                for measure in task.measures:
                    if measure.value is not None:
                        found[f"{task.id}: {measure.name}"].append(measure.value)
    return dict(found)


def measure_chart(name: str, values: list[float]) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.6, 2.6))
    axes = figure.add_subplot(1, 1, 1)
    axes.hist(values, bins=min(20, max(5, len(values))), color="#b279a2", edgecolor="white")
    axes.set_title(name, fontsize=10)
    _counts_axis(axes)
    figure.tight_layout()
    return _png(figure)


def _charts(pictures: list[tuple[str, str]]) -> list[str]:
    return (['<div class="cards">'] + [f'<figure class="card"><img alt="{e(alt)}" src="{uri}"></figure>'
                                       for alt, uri in pictures] + ["</div>"])


def html(grades: ClassView, *, links: bool = True) -> str:
    """The page; `links`: each student's name links to `feedback/<student>.html` beside it."""
    students = grades.students
    statuses = Counter(s.status for s in students)
    late = [s for s in students if s.late and s.late.days]
    missing = Counter(p.name for s in students if s.status == "graded" for p in s.practices if not p.submitted)
    body = ["<h1>Class summary</h1>",
            f"<p>{len(students)} submission(s): {statuses['graded']} graded, {statuses['rejected']} rejected, "
            f"{statuses['error']} failed to grade; {len(late)} late.</p>"]
    if missing:
        body.append("<p>Not submitted: " + ", ".join(f"{e(p)} by {n}" for p, n in sorted(missing.items())) + ".</p>")
    if grades.policy:
        body.append(f"<p>Late policy: {e(grades.policy.describe())}.</p>")
    versions = sorted({(s.grader_version, s.suites_hash[:12]) for s in students if s.status == "graded"})
    body.append("<p>Graded with " + ", ".join(f"grader {e(v)} (suites {e(h)})" for v, h in versions) + "</p>")
    panels = [(p, [s.practice(p).score for s in students], grades.max_score(p)) for p in grades.practices]
    total = "total after late penalty" if grades.policy else "total"
    panels.append((total, [s.final for s in students], sum(grades.max_score(p) for p in grades.practices)))
    body += ["<h2>Scores</h2>"] + _charts([(f"histogram of {n}", histogram(n, v, t)) for n, v, t in panels])
    rows = pass_rates(grades)
    if rows:
        body += ["<h2>Tasks: who passed</h2>", f'<img alt="pass rate per task" src="{pass_rate_chart(rows)}">',
                 '<table><tr><th>task</th><th>what</th><th>passed</th><th>pass rate</th></tr>']
        body += [f"<tr><td>{e(t)}</td><td>{e(title)}</td><td class=\"n\">{ok} / {n}</td>"
                 f"<td class=\"n\">{100 * ok / n:.0f}%</td></tr>" for t, title, ok, n in rows]
        body.append("</table>")
    found = measures(grades)
    if found:
        body += ["<h2>Convergence measures</h2>"] + _charts([(n, measure_chart(n, v)) for n, v in found.items()])
    problems = [s for s in students if s.status != "graded"]
    if problems:
        body += ["<h2>Not graded</h2>", "<table><tr><th>student</th><th>status</th><th>reason</th></tr>"]
        body += [f"<tr><td>{_student(s.student, links)}</td><td>{e(s.status)}</td><td>{e(s.reason)}</td></tr>"
                 for s in problems]
        body.append("</table>")
    if late:
        body += ["<h2>Late</h2>", "<table><tr><th>student</th><th>submitted</th><th>days</th><th>penalty</th></tr>"]
        body += [f"<tr><td>{_student(s.student, links)}</td><td>{e(s.submitted_at.isoformat(timespec='minutes'))}"
                 f"</td><td class=\"n\">{s.late.days}</td><td class=\"n\">{points(s.late.penalty * 100)}%</td></tr>"
                 for s in late]
        body.append("</table>")
    header = "".join(f"<th>{e(p)}</th>" for p in grades.practices)
    body += ["<h2>Students</h2>", '<table class="wide">'
             f"<tr><th>student</th><th>status</th>{header}<th>total</th><th>final</th></tr>"]
    for s in students:
        cells = "".join(f"<td class=\"n\">{_score(s.practice(p))}</td>" for p in grades.practices)
        body.append(f"<tr><td>{_student(s.student, links)}</td><td>{e(s.status)}</td>{cells}"
                    f"<td class=\"n\">{points(s.score)}</td><td class=\"n\">{points(s.final)}</td></tr>")
    body.append("</table>")
    return page("Class summary", body)


def _student(student: str, links: bool) -> str:
    return f'<a href="feedback/{e(safe_name(student))}.html">{e(student)}</a>' if links else e(student)


def _score(practice) -> str:
    return badge("not submitted") if practice is not None and not practice.submitted else \
        points(practice.score if practice else 0)


def write(grades: ClassView, out: Path, *, links: bool = True) -> list[Path]:
    target = out / "summary.html"
    write_atomically(target, html(grades, links=links))
    return [target]
