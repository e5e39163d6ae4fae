"""The sandbox: student code runs only in worker processes; this process receives data.

See README.md, "How grading works", and docs/sandbox.md. Public names:

- `Submission`: a student's folder; `session(practice)` forks a fresh worker for one test.
- `Limits`: time, memory and output limits.
- the errors a suite may see, all subclasses of `SandboxError` with a `status` for the report.
"""

import importlib

_PUBLIC = {
    "BudgetExhausted": "errors", "MemoryExceeded": "errors", "NotImplementedByStudent": "errors",
    "ProtocolError": "errors", "SandboxError": "errors", "StudentException": "errors",
    "WorkerDied": "errors", "WorkerTimeout": "errors", "Limits": "limits", "Remote": "proxy",
    "Session": "proxy", "Submission": "proxy", "describe": "proxy",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    """Public names load on first use: `grader.sandbox.mother` must be importable without torch."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'grader.sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(f"grader.sandbox.{_PUBLIC[name]}"), name)
