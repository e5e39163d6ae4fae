"""The grading suites run under the bootcamp plugin: options, task markers, sandbox fixtures.

Run them with `bootcamp check`, or directly: `pytest grader/practices/<practice> --submission solutions`.
"""

from grader.plugin import (  # noqa: F401  (pytest finds hooks and fixtures by name here)
    device,
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_sessionfinish,
    pytest_sessionstart,
    student,
    student_session,
    submission,
)
