"""What can go wrong in a worker, as exceptions the grading suites see.

Each carries a `status` for the report ("not implemented", "error", "timeout") and a message
written for the student: what was called, what happened, and the student's own traceback frames.
"""

from __future__ import annotations


class SandboxError(Exception):
    """Something the student's code did, seen from the trusted side."""

    status = "error"

    def __init__(self, call: str, message: str, traceback: str = ""):
        self.call = call
        self.message = message
        self.traceback = traceback
        super().__init__(self.student_message())

    def student_message(self) -> str:
        text = f"{self.call}: {self.message}" if self.call else self.message
        if self.traceback:
            text += "\nYour code, where it happened:\n" + self.traceback.rstrip()
        return text


class StudentException(SandboxError):
    """The student's code raised an exception; `exc_type` is its class name."""

    def __init__(self, call: str, exc_type: str, message: str, traceback: str = ""):
        self.exc_type = exc_type
        super().__init__(call, f"your code raised {exc_type}: {message}" if message else
                         f"your code raised {exc_type}", traceback)


class NotImplementedByStudent(StudentException):
    """A stub that still raises NotImplementedError: the TODO is not done yet."""

    status = "not implemented"

    def __init__(self, call: str, message: str, traceback: str = ""):
        self.exc_type = "NotImplementedError"
        SandboxError.__init__(self, call, message or "not implemented yet", traceback)


class MissingAttribute(StudentException, AttributeError):
    """The student's object has no such attribute (also an AttributeError, so hasattr() works)."""


def from_report(call: str, report: dict) -> StudentException:
    """The exception for an error the worker reported: {type, message, traceback, not_implemented}."""
    message = str(report.get("message", ""))
    traceback = str(report.get("traceback", ""))
    if report.get("not_implemented"):
        return NotImplementedByStudent(call, message, traceback)
    kind = str(report.get("type", "Exception"))
    return (MissingAttribute if kind == "AttributeError" else StudentException)(call, kind, message, traceback)


class WorkerTimeout(SandboxError):
    status = "timeout"


class BudgetExhausted(WorkerTimeout):
    """The submission used up its whole time budget; later calls fail at once."""


class WorkerDied(SandboxError):
    """The worker process ended during a call (exit, signal, memory)."""


class MemoryExceeded(WorkerDied):
    pass


class ProtocolError(SandboxError):
    """The worker sent something that is not a well-formed reply."""
