"""The grades in an nbgrader gradebook, so a JupyterHub course sees them in formgrader.

Each practice is an nbgrader notebook of one assignment (`--assignment`, default "bootcamp"),
each task an autograded code grade cell with the task's points, named as the notebooks of
`bootcamp release --notebooks` name its cell (`<practice>-1`: nbgrader ids hold no dots); each student a Student with a
SubmittedAssignment whose Grade rows carry `auto_score` (no manual grading needed). A late
penalty becomes the notebooks' `late_submission_penalty` (in points), the deadline the
assignment's `duedate`, the submission time the submission's `timestamp`.

By default a fresh `nbgrader/gradebook.db` is built beside the other exports (in a temporary
file, then renamed). `target` names a course's existing gradebook.db instead: it is updated in
place, through nbgrader's API, keeping any manual grades and comments already there.

nbgrader's `Gradebook` runs the `alembic` command it expects on PATH, which a venv that is not
activated (its `bootcamp` called by path, a pipx install) does not provide: `alembic_on_path`
puts a one-line `alembic` on PATH for that call that runs `python -m alembic` with this very
interpreter, whose environment has the alembic nbgrader was installed with.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import tempfile
import warnings
from datetime import timezone
from pathlib import Path

from grader.gradebook.view import ClassView, StudentView
from grader.notebook_source import grade_id


def write(grades: ClassView, out: Path, *, assignment: str = "bootcamp", target: Path | None = None) -> list[Path]:
    if target is not None:
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        fill(grades, target, assignment)
        return [target]
    target = out / "nbgrader" / "gradebook.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".gradebook.", suffix=".db.tmp")
    os.close(handle)
    os.unlink(temporary)  # nbgrader creates the database itself
    try:
        fill(grades, Path(temporary), assignment)
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return [target]


def fill(grades: ClassView, path: Path, assignment: str) -> None:
    """Add or update the assignment, its notebooks and grade cells, the students and their grades."""
    from nbgrader.api import Gradebook

    titles = grades.task_titles
    with alembic_on_path():
        gradebook = Gradebook(f"sqlite:///{path}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's own add_submission trips SQLAlchemy 2's autoflush warnings
        _fill(gradebook, grades, titles, assignment)


@contextlib.contextmanager
def alembic_on_path():
    """PATH starts, for the block, with a folder whose `alembic` is this interpreter's `-m alembic`."""
    with tempfile.TemporaryDirectory(prefix="bootcamp-alembic-") as folder:
        script = Path(folder) / "alembic"
        script.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m alembic \"$@\"\n")
        script.chmod(0o755)
        before = os.environ.get("PATH")
        os.environ["PATH"] = folder + os.pathsep + (before or os.defpath)
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("PATH", None)
            else:
                os.environ["PATH"] = before


def _fill(gradebook, grades: ClassView, titles: dict, assignment: str) -> None:
    try:
        duedate = grades.policy.deadline.astimezone(timezone.utc).replace(tzinfo=None) if grades.policy else None
        gradebook.update_or_create_assignment(assignment, duedate=duedate)
        for practice in grades.practices:
            gradebook.update_or_create_notebook(practice, assignment)
            for task, (_, max_score) in titles.items():
                if task.split(".")[0] == practice:
                    gradebook.update_or_create_grade_cell(grade_id([task]), practice, assignment, max_score=max_score,
                                                          cell_type="code")
        for student in grades.students:
            gradebook.update_or_create_student(student.student)
            _fill_submission(gradebook, grades, student, assignment)
        gradebook.db.commit()
    finally:
        gradebook.close()


def _fill_submission(gradebook, grades: ClassView, student: StudentView, assignment: str) -> None:
    from nbgrader.api import Grade, MissingEntry, SubmittedNotebook

    timestamp = student.submitted_at.astimezone(timezone.utc).replace(tzinfo=None) if student.submitted_at else None
    submission = gradebook.update_or_create_submission(assignment, student.student, timestamp=timestamp)
    scores = {grade_id([task.id]): task.score for practice in student.practices for task in practice.tasks}
    notebooks = {nb.notebook.name: nb for nb in submission.notebooks}
    for notebook in submission.assignment.notebooks:
        submitted = notebooks.get(notebook.name)
        if submitted is None:  # a practice added since this submission was first exported
            submitted = SubmittedNotebook(notebook=notebook, assignment=submission)
            gradebook.db.add(submitted)
        have = {grade.cell_id for grade in submitted.grades}
        for cell in notebook.grade_cells:
            if cell.id not in have:
                gradebook.db.add(Grade(cell_id=cell.id, notebook=submitted))
        gradebook.db.flush()
        practice = student.practice(notebook.name)
        penalty = student.late.penalty * practice.score if student.late and practice else 0.0
        submitted.late_submission_penalty = penalty
    gradebook.db.commit()
    for notebook in submission.assignment.notebooks:
        for cell in notebook.grade_cells:
            try:
                grade = gradebook.find_grade(cell.name, notebook.name, assignment, student.student)
            except MissingEntry:
                continue
            grade.auto_score = float(scores.get(cell.name, 0.0))
            grade.needs_manual_grade = False
    gradebook.db.commit()
