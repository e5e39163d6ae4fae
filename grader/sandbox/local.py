"""Unsandboxed sessions: the student's module imported into this process.

UNSAFE for grading: student code then runs where scores are decided. It exists to measure what
the sandbox costs (benchmarks/) and to debug a suite; `bootcamp` never uses it to grade.
It offers the same surface as `Submission`/`Session`: `session(practice)`, `.module`, `.run(...)`.
"""

from __future__ import annotations

import importlib.util
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from grader.sandbox import ops


class InProcessSession:
    def __init__(self, module: Any):
        self.module = module
        self.output = ""

    def run(self, operation: str, *args: Any, timeout: float | None = None, on_progress=None, **kwargs: Any) -> Any:
        return ops.lookup(operation)(*args, progress=on_progress or (lambda data: None), **kwargs)


class InProcessSubmission:
    isolation = ["none: the student's code ran in the grading process (--in-process)"]

    def __init__(self, directory: str | Path, limits: Any = None):
        self.directory = Path(directory).resolve()

    def has_practice(self, practice: str) -> bool:
        return (self.directory / f"{practice}.py").is_file()

    @contextmanager
    def session(self, practice: str, *, timeout: float | None = None) -> Iterator[InProcessSession]:
        name = f"bootcamp_in_process_{practice}"
        spec = importlib.util.spec_from_file_location(name, self.directory / f"{practice}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        yield InProcessSession(module)

    def close(self) -> None:
        pass

    def __enter__(self) -> "InProcessSubmission":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
