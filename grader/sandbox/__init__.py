"""The sandbox: student code runs only in worker processes; this process receives data.

See DESIGN.md, "The trust boundary". Public names:

- `Submission`: a student's folder; `session(practice)` forks a fresh worker for one test.
- `Limits`: time, memory and output limits.
- the errors a suite may see, all subclasses of `SandboxError` with a `status` for the report.
"""

from grader.sandbox.errors import (
    BudgetExhausted,
    MemoryExceeded,
    NotImplementedByStudent,
    ProtocolError,
    SandboxError,
    StudentException,
    WorkerDied,
    WorkerTimeout,
)
from grader.sandbox.limits import Limits
from grader.sandbox.proxy import Remote, Session, Submission, describe

__all__ = [
    "BudgetExhausted", "Limits", "MemoryExceeded", "NotImplementedByStudent", "ProtocolError",
    "Remote", "SandboxError", "Session", "StudentException", "Submission", "WorkerDied",
    "WorkerTimeout", "describe",
]
