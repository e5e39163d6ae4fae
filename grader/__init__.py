"""The `bootcamp` grader: self-checks for students, batch grading for instructors.

Student code never runs in this process: see `grader.sandbox`.
"""

__version__ = "0.1.0"
