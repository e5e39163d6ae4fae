"""The toy practice `linreg` installed into a copy of the course (see course_copy.py).

`linreg/` and `solutions/` here are the practice as an instructor adds it, not the project's
tests: pytest does not collect them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from course_copy import Course, file_hashes, install, make_copy

collect_ignore = ["linreg", "solutions"]

HERE = Path(__file__).resolve().parent
PRACTICE = HERE / "linreg"
SOLUTION = HERE / "solutions" / "linreg.py"
KEPT = ["basics"]  # the real course's practices left in the copy, so that its runs stay short


@dataclass(frozen=True)
class CourseWithLinreg:
    course: Course
    before: dict[str, str]  # file_hashes of the copy before linreg was added
    release: str  # what the copy's `bootcamp release` printed when it wrote linreg's skeleton

    @property
    def root(self) -> Path:
        return self.course.root


@pytest.fixture(scope="session")
def linreg_course(tmp_path_factory) -> CourseWithLinreg:
    """A copy of the course with only `basics`, then `linreg` added (its folder and its solution)
    and its skeleton written by the copy's own `bootcamp release`."""
    course = make_copy(tmp_path_factory.mktemp("linreg-course") / "course", keep=KEPT)
    before = file_hashes(course.root)
    install(course, PRACTICE, SOLUTION)
    released = course.bootcamp("release")
    assert released.returncode == 0, released.stdout + released.stderr
    return CourseWithLinreg(course, before, released.stdout)
