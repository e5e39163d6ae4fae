"""The zygote: a process that imports torch once, isolates itself, then forks one worker per test.

Importing torch takes seconds; forking a process that already holds it takes milliseconds. So a
submission gets one zygote, and every test gets a fresh forked worker: nothing a student's code
does in one test (a monkeypatch, a leaked thread, an exit) can reach the next.

The zygote never imports student code. It is started by `Zygote` in `proxy` as

    python -m grader.sandbox.zygote CONTROL_FD CONFIG_JSON

and speaks on the control socket:

    -> {"ready": [isolation measures]}                 once, after isolation
    <- {"op": "fork", ...} with two file descriptors (connection, output)

    -> {"pid": pid}
    <- {"op": "wait", "pid": pid}
    -> {"status": waitpid status}                      the worker is reaped; stray processes too
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import sys

from grader.sandbox import limits as limits_module
from grader.sandbox import wire

_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_PDEATHSIG = 1
_MAX_CONTROL_BYTES = 1 << 20


def main(control_fd: int, config: dict) -> None:
    control = socket.socket(fileno=control_fd)
    import numpy  # noqa: F401  (warm imports every worker shares)
    import torch  # noqa: F401
    import torch.nn.functional  # noqa: F401

    from grader.sandbox import ops, worker  # noqa: F401
    from grader.training import loop, probes  # noqa: F401  (the trusted operations on models)

    _warm_up(torch)
    limits = limits_module.Limits(**{**config["limits"], "hide": tuple(config["limits"]["hide"])})
    measures = limits_module.isolate(limits, config["needed"])
    _die_with_parent()  # after isolate: a change of user clears the parent-death signal
    _become_subreaper()
    send(control, {"ready": measures})
    serve(control, limits)


def _warm_up(torch) -> None:
    """Run each common kind of layer and optimizer once, single-threaded, before any fork.

    First calls initialise kernels and caches (a second or two for a conv backward); done here,
    every forked worker inherits them instead of paying again. One thread, so no thread pool
    exists yet to be broken by fork.
    """
    torch.set_num_threads(1)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.ConvTranspose2d(2, 2, 4, 2, 1), nn.Dropout(0.5), nn.Flatten(), nn.Linear(32, 3))
    for optimizer in (torch.optim.SGD(model.parameters(), lr=0.1), torch.optim.Adam(model.parameters())):
        optimizer.zero_grad()
        logits = model(torch.randn(2, 1, 4, 4))  # (2, 3)
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1]))
        (loss + torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.ones(2, 3))).backward()
        optimizer.step()


def serve(control: socket.socket, limits: limits_module.Limits) -> None:
    while True:
        try:
            request, fds = receive(control)
        except (OSError, EOFError):
            return
        if request["op"] == "fork":
            pid = os.fork()
            if pid == 0:
                control.close()
                _die_with_parent()
                code = 0
                try:
                    from grader.sandbox import worker

                    worker.run_child(fds[0], fds[1], request["module_path"], request["module_name"],
                                     request["shown_path"], limits.threads)
                except BaseException:  # noqa: BLE001  the worker's own failure ends it, quietly
                    code = 70
                finally:
                    os._exit(code)
            for fd in fds:
                os.close(fd)
            send(control, {"pid": pid})
        elif request["op"] == "wait":
            send(control, {"status": _reap(request["pid"])})


def send(control: socket.socket, message: dict, fds: tuple[int, ...] = ()) -> None:
    """One message (and optional file descriptors) as one packet of a SOCK_SEQPACKET socket."""
    socket.send_fds(control, [wire.encode(message)], list(fds))


def receive(control: socket.socket) -> tuple[dict, list[int]]:
    payload, fds, _, _ = socket.recv_fds(control, _MAX_CONTROL_BYTES, 2)
    if not payload:
        raise EOFError("control socket closed")
    return wire.decode(payload), fds


def _reap(pid: int) -> int:
    """Wait for the worker `pid`, then kill and reap any process it left behind."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = -1
    while True:
        try:
            stray, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if stray == 0:
            _kill_strays()
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break
    return status


def _kill_strays() -> None:
    import psutil

    for child in psutil.Process().children():
        try:
            child.kill()
        except psutil.Error:
            pass


def _become_subreaper() -> None:
    """Orphans of a worker become the zygote's children, so they can be found and killed."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        import signal

        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


if __name__ == "__main__":
    main(int(sys.argv[1]), json.loads(sys.argv[2]))
