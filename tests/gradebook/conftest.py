"""Fixtures for the batch grader's tests; the helpers that build classes are in gradebook_classes.py."""

from __future__ import annotations

import pytest
from gradebook_classes import (DEADLINE, GradedClass, build_graded_students, build_hostile_students, grade_args,
                               invoke, snapshot)


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory) -> GradedClass:
    """A mixed, partly hostile class, graded once through the `grade` command with every export."""
    from grader.gradebook.cli import grade_command

    root = tmp_path_factory.mktemp("class")
    submissions = root / "submissions"
    submissions.mkdir()
    graded = build_graded_students(submissions)
    hostile = build_hostile_students(submissions)
    (submissions / "loose-notes.txt").write_text("not a submission")
    times = root / "times.csv"
    times.write_text("student,submitted_at\nalice,2029-12-31T20:00:00+00:00\ncarol,2030-01-02T12:00:00+00:00\n")
    before = snapshot(submissions)
    result = invoke(grade_command, grade_args(submissions, root / "out", "--max-mib", "2", "--export", "all",
                                              "--deadline", DEADLINE, "--late-penalty", "10", "--times", str(times)))
    return GradedClass(root, submissions, root / "out", result.output, result.exit_code, graded, hostile,
                       before, snapshot(submissions))


