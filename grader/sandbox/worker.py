"""The untrusted side: one forked process that imports a student's module and answers requests.

It runs inside the isolation the zygote set up (see `limits.isolate`). It never decides a score:
it only does what the grader asks and sends back plain data (see `wire`).

Requests (dicts) and what they do:

    {"op": "import"}                                   import the module, reply with its handle
    {"op": "getattr", "h": id, "name": str}            getattr(obj, name)
    {"op": "setattr", "h": id, "name": str, "value": v}
    {"op": "call", "h": id, "args": [...], "kwargs": {...}}
    {"op": "trusted", "name": str, "args": [...], "kwargs": {...}}
                                                       a grader-written operation from `ops`,
                                                       applied to student objects
    {"op": "release", "h": id}                         forget a handle

Replies are {"ok": value}, {"error": {...}} or, during a trusted operation, any number of
{"progress": data} before the reply. Values that are not plain data come back as handles:
{"__handle__": id, "type": name, "callable": bool}, plus "defined": [line, qualified name] for a
function, class, method or model defined in the student's file (its `def` or `class`, or its
`forward`), so a failed check can point at the code it checked.
"""

from __future__ import annotations

import importlib.util
import inspect
import io
import os
import socket
import sys
import traceback
from typing import Any, Callable, Iterator

from grader.sandbox import wire


class HandleTable:
    """Objects that stay in the worker, by id; the same object always gets the same handle."""

    def __init__(self, locate: Callable[[Any], tuple[int, str] | None] = lambda obj: None) -> None:
        self._objects: dict[int, Any] = {}
        self._by_identity: dict[int, int] = {}
        self._last = 0
        self._locate = locate

    def keep(self, obj: Any) -> dict:
        handle = self._by_identity.get(id(obj))
        if handle is None or self._objects.get(handle) is not obj:
            self._last += 1
            handle = self._last
            self._objects[handle] = obj
            self._by_identity[id(obj)] = handle
        kept = {wire.HANDLE_KEY: handle, "type": type(obj).__name__, "callable": callable(obj)}
        defined = self._locate(obj)
        if defined is not None:
            kept["defined"] = defined
        return kept

    def get(self, handle: int) -> Any:
        try:
            return self._objects[handle]
        except KeyError:
            raise LookupError(f"no object with handle {handle} in the worker") from None

    def release(self, handle: int) -> None:
        obj = self._objects.pop(handle, None)
        self._by_identity.pop(id(obj), None)

    def resolve(self, value: Any) -> Any:
        """Replace handle dicts inside request arguments by the objects they name."""
        if wire.is_handle(value):
            return self.get(value[wire.HANDLE_KEY])
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.resolve(v) for v in value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value


class Worker:
    def __init__(self, conn: socket.socket, module_path: str, module_name: str, shown_path: str):
        self.conn = conn
        self.module_path = module_path
        self.module_name = module_name
        self.shown_path = shown_path
        self.table = HandleTable(locate=self.defined_at)

    def serve(self) -> None:
        while True:
            try:
                request = wire.recv(self.conn)
            except EOFError:
                return
            if request.get("op") == "bye":
                return
            wire.send(self.conn, self.answer(request))

    def answer(self, request: dict) -> dict:
        try:
            value = self.perform(request)
            return {"ok": wire.to_data(value, keep=self.table.keep)}
        except BaseException as error:  # student code may raise anything, SystemExit included
            return {"error": self.describe(error)}

    def perform(self, request: dict) -> Any:
        op = request["op"]
        if op == "import":
            return self.import_module()
        if op == "trusted":
            from grader.sandbox import ops

            operation = ops.lookup(request["name"])
            args = self.table.resolve(request.get("args", []))
            kwargs = self.table.resolve(request.get("kwargs", {}))
            return operation(*args, progress=self.progress, **kwargs)
        target = self.table.get(request["h"])
        if op == "getattr":
            return getattr(target, request["name"])
        if op == "setattr":
            setattr(target, request["name"], self.table.resolve(request["value"]))
            return None
        if op == "call":
            args = self.table.resolve(request.get("args", []))
            kwargs = self.table.resolve(request.get("kwargs", {}))
            return target(*args, **kwargs)
        if op == "release":
            self.table.release(request["h"])
            return None
        raise ValueError(f"unknown request {op!r}")

    def import_module(self) -> Any:
        spec = importlib.util.spec_from_file_location(self.module_name, self.module_path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[self.module_name] = module
        spec.loader.exec_module(module)
        return module

    def defined_at(self, obj: Any) -> tuple[int, str] | None:
        """(line, qualified name) where the student's file defines `obj`: a function's or method's
        `def`, a class's `class`, a model's `forward`; None for anything else."""
        try:
            target = obj
            if callable(obj) and not isinstance(obj, type) and not inspect.isroutine(obj):
                target = getattr(type(obj), "forward", None) or type(obj).__call__  # a model: its forward
            target = getattr(target, "__func__", target)
            code = getattr(target, "__code__", None)
            if code is not None and code.co_filename == self.module_path:
                return code.co_firstlineno, str(target.__qualname__)
            if code is None and isinstance(target, type) and target.__module__ == self.module_name:
                return inspect.getsourcelines(target)[1], str(target.__qualname__)
        except Exception:  # noqa: BLE001  a location is a courtesy; student objects may refuse
            pass
        return None

    def progress(self, data: Any) -> None:
        """Send intermediate data (a trusted operation's progress) before the reply."""
        wire.send(self.conn, {"progress": wire.to_data(data)})

    def describe(self, error: BaseException) -> dict:
        return describe_error(error, self.module_path, self.shown_path)


def describe_error(error: BaseException, module_path: str, shown_path: str) -> dict:
    """An exception from student code as wire data: type, message, the student's own frames."""
    message = str(error) if not isinstance(error, SystemExit) else f"exit({error.code!r}) was called"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == module_path]
    for frame in frames:
        frame.filename = shown_path
    return {
        "type": type(error).__name__,
        "message": message.replace(module_path, shown_path)[:2000],
        "traceback": "".join(traceback.format_list(frames))[-4000:],
        "not_implemented": isinstance(error, NotImplementedError),
    }


def run_child(conn_fd: int, output_fd: int, module_path: str, module_name: str, shown_path: str,
              threads: int) -> None:
    """Entry point of a forked worker: wire up its output, then serve until told to stop."""
    if os.getsid(0) != os.getpid():  # a spare worker has made its session already
        os.setsid()
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    os.close(output_fd)
    # unbuffered: all a call prints is in the pipe before its reply is sent
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
    sys.path.insert(0, os.path.dirname(module_path))  # the student's own helper modules, copied beside it
    if threads:
        import torch

        torch.set_num_threads(threads)
    conn = socket.socket(fileno=conn_fd)
    Worker(conn, module_path, module_name, shown_path).serve()


def rehearsal() -> Iterator[None]:
    """A spare worker's dress rehearsal, one request per step, before its own request arrives.

    A forked worker pays for its first steps: every page of the zygote's memory it writes is
    copied (a Python object's reference count is a write), and first calls fill caches. The
    spare does that early, while the current test runs, through the same code paths as a test:
    import, getattr, a call with tensors, a trusted operation with a backward pass, an error;
    the module is the grader's stand-in (`stand_in`), so no student code runs before the
    request. The caller stops between steps as soon as the request is there.
    """
    import torch

    path = os.path.join(os.path.dirname(__file__), "stand_in.py")
    stand_in = Worker(None, path, "_bootcamp_stand_in", "stand_in.py")  # answers without a connection
    x = torch.linspace(-1, 1, 12).reshape(4, 3)  # no random numbers: the worker's generator stays as forked
    weight = torch.linspace(-1, 1, 6).reshape(2, 3)
    try:
        for request in ({"op": "import"}, {"op": "getattr", "h": 1, "name": "layer"},
                        {"op": "call", "h": 2, "args": [x, weight], "kwargs": {}},
                        {"op": "trusted", "name": "vjp", "args": [{wire.HANDLE_KEY: 2}, [x, weight], torch.ones(4, 2)]},
                        {"op": "getattr", "h": 1, "name": "missing"}):
            wire.decode(wire.encode(stand_in.answer(wire.decode(wire.encode(request)))))
            yield
    finally:
        sys.modules.pop("_bootcamp_stand_in", None)
