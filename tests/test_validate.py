"""The course is consistent: every reference solution scores 100%, every skeleton scores 0.

This is `bootcamp validate`, run as a test so that the README's test command covers it.
"""

from __future__ import annotations

import pytest

from grader.validate import validate


@pytest.mark.slow
def test_solutions_score_full_marks_and_skeletons_score_zero():
    messages: list[str] = []
    problems = validate(device="cpu", say=messages.append)
    assert problems == [], "\n".join(problems)
    assert any(message.startswith("solutions/") for message in messages)
