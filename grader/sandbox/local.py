"""Unsandboxed sessions: the student's module imported into this process.

UNSAFE for grading: student code then runs where scores are decided. It exists to measure what
the sandbox costs (benchmarks/) and to debug a suite; `bootcamp` never uses it to grade.

It behaves like the sandbox in everything but isolation: results are converted to plain data
the same way (`wire.to_data`), objects come back wrapped (`LocalRemote`), and the student's
exceptions arrive as the same `StudentException`s, built from the same error report.
"""

from __future__ import annotations

import importlib.util
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from grader.sandbox import errors, ops, wire
from grader.sandbox.worker import describe_error


class LocalRemote:
    """A student object in this process, behind the same surface as a `Remote`."""

    __slots__ = ("_target", "_name", "_session")

    def __init__(self, target: Any, name: str, session: "InProcessSession"):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_session", session)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._session.guard(lambda: getattr(self._target, name), name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._session.guard(lambda: setattr(self._target, name, unwrap(value)), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.guard(lambda: self._target(*unwrap(args), **unwrap(kwargs)), f"{self._name}(...)")


def unwrap(value: Any) -> Any:
    if isinstance(value, LocalRemote):
        return value._target
    if isinstance(value, (list, tuple)):
        return type(value)(unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    return value


class InProcessSession:
    def __init__(self, module: Any, path: Path):
        self.path = str(path)
        self.output = ""
        self.module = LocalRemote(module, path.stem, self)

    def guard(self, action: Callable[[], Any], call: str) -> Any:
        try:
            value = action()
        except Exception as error:  # the student's exception, as the worker would report it
            raise errors.from_report(call, describe_error(error, self.path, self.path)) from None
        return wire.to_data(value, keep=lambda obj: LocalRemote(obj, call, self))

    def run(self, operation: str, *args: Any, timeout: float | None = None, on_progress=None, **kwargs: Any) -> Any:
        report = on_progress or (lambda data: None)
        return self.guard(lambda: ops.lookup(operation)(*unwrap(args), progress=report, **unwrap(kwargs)),
                          f"{operation}(...)")


class InProcessSubmission:
    isolation = ["none: the student's code ran in the grading process (--in-process)"]

    def __init__(self, directory: str | Path, limits: Any = None):
        self.directory = Path(directory).resolve()

    def has_practice(self, practice: str) -> bool:
        return (self.directory / f"{practice}.py").is_file()

    @contextmanager
    def session(self, practice: str, *, timeout: float | None = None, warm: bool = False) -> Iterator[InProcessSession]:
        path = self.directory / f"{practice}.py"
        name = f"bootcamp_in_process_{practice}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        session = InProcessSession(module, path)
        session.guard(lambda: spec.loader.exec_module(module), f"import {practice}")
        yield session

    def close(self) -> None:
        pass

    def __enter__(self) -> "InProcessSubmission":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
