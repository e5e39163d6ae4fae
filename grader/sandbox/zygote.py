"""The zygote: a process that imports torch once, isolates itself, then forks one worker per test.

Importing torch takes seconds; forking a process that already holds it takes milliseconds. So a
submission gets one zygote, and every test gets a fresh forked worker: nothing a student's code
does in one test (a monkeypatch, a leaked thread, an exit) can reach the next.

The zygote never imports student code. It is started by `Zygote` in `processes` as

    python -m grader.sandbox.zygote CONTROL_FD CONFIG_JSON

or forked from a *mother* (below), and speaks on the control socket:

    -> {"ready": [isolation measures]}                 once, after isolation
    <- {"op": "fork", "finished": [pids], ...}         with two file descriptors (connection, output);
                                                       the finished workers are killed after
                                                       the reply, with their process groups
    -> {"pid": pid}
    <- {"op": "wait", "pid": pid}                      for a worker that died: its exit status
    -> {"status": waitpid status}

Starting a zygote costs seconds (a fresh Python importing torch). So grading hosts and the
`bootcamp` command keep a *mother* (`grader.sandbox.mother`): a fresh Python with the same small
environment, which imports torch and warms up (see `prefork`), and then only forks zygotes:

    python -m grader.sandbox.zygote --mother CONTROL_FD [--batch]

    <- {"op": "spawn", "config": CONFIG, "env": ENV}    with two file descriptors: the new zygote's
                                                        control socket, and its log (stdout, stderr)

The forked zygote says {"pid": pid} on its own control socket, moves into the submission's
working folder and environment, isolates itself and goes on as above. The mother never replies
on its own socket, so a grading process killed mid-request leaves no stale answer for the next.
It holds nothing secret: it was started by exec with the small environment and reads nothing but
spawn requests, and each zygote closes the mother's socket before it isolates itself.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import select
import signal
import socket
import sys
import traceback

from grader.sandbox import limits as limits_module

if __name__ == "__main__" and sys.argv[1:2] != ["--mother"]:
    # A zygote started on its own: into its user namespace while it has one thread, before
    # torch (imported by `wire`) starts any. A mother's zygotes are forks: one thread each.
    limits_module.enter_user_namespace()

import psutil  # noqa: E402

from grader.sandbox import reaper as reaper_module  # noqa: E402
from grader.sandbox import prefork  # noqa: E402
from grader.sandbox import wire  # noqa: E402

_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_PDEATHSIG = 1
_MAX_CONTROL_BYTES = 1 << 20
# Process 1 of the submission's PID namespace (see `reaper`); None where the kernel gave none.
# With it, this process sees the namespace's /proc, not its own: it tracks its children itself.
_reaper: reaper_module.Reaper | None = None
# Without namespaces, as root: what each worker applies to itself first (`by_user`); else None.
_confinement = None


def main(control_fd: int, config: dict) -> None:
    """A zygote started on its own (`Zygote` without a mother)."""
    control = socket.socket(fileno=control_fd)
    prefork.import_shared()
    prefork.warm_up(optimizers=False)
    become_zygote(control, config, warm=False)


def become_zygote(control: socket.socket, config: dict, *, warm: bool) -> None:
    """Isolate this process, say so, and serve fork requests until the grader hangs up."""
    limits = limits_module.Limits(**{**config["limits"], "hide": tuple(config["limits"]["hide"])})
    isolation = limits_module.isolate(limits, config["layout"])
    global _reaper, _confinement
    _reaper = isolation.reaper
    _confinement = isolation.confinement
    # After isolate (a change of user clears the parent-death signal). Not SIGKILL: the zygote
    # first kills the orphans it has adopted, which would otherwise outlive the submission.
    signal.signal(signal.SIGTERM, _end_with_everything_below)
    _die_with_parent(signal.SIGTERM)
    _become_subreaper()
    send(control, {"ready": isolation.measures})
    serve(control, limits, warm=warm)


def mother(control_fd: int, *, batch: bool) -> None:
    """Warm up, then fork a zygote for every spawn request until the grader hangs up.

    The mother answers spawn requests as soon as torch is imported and its kernels warmed up: a
    `bootcamp check` asks for its zygote about when that is done, and a zygote warms up its
    optimizers itself if its practice needs them. A `batch` mother (a grading host's, which
    forks a zygote per submission) also uses the time no request waits to warm up the first
    optimizer step and to move its heap into huge pages (see `prefork`), once, for every zygote
    forked after; a single check would only lose the cores that this takes.
    """
    control = socket.socket(fileno=control_fd)
    _die_with_parent()
    sys.path.pop(0)  # `python -m` put the start folder ("/") first; a zygote puts its own there
    prefork.import_shared()
    prefork.warm_up(optimizers=False)

    def warm_optimizers() -> None:
        prefork.warm_up(optimizers=True)

    idle_work = [warm_optimizers, prefork.collapse_heap] if batch else []  # in this order
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps finished zygotes
    while True:
        while idle_work and not select.select([control], [], [], 0)[0]:  # no request is waiting
            idle_work.pop(0)()
        try:
            request, fds = receive(control)
        except (OSError, EOFError):
            return
        if request.get("op") != "spawn" or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            continue
        gc.freeze()  # see `_Spare`
        if os.fork() == 0:
            code = 70
            try:
                control.close()
                _spawned_zygote(fds[0], fds[1], request, warm=batch and warm_optimizers not in idle_work)
                code = 0
            except BaseException:  # noqa: BLE001  the log tells the grader
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        for fd in fds:
            os.close(fd)


def _spawned_zygote(control_fd: int, log_fd: int, request: dict, *, warm: bool) -> None:
    """In a child of the mother: become what `Zygote` would have started, then a zygote; `warm`:
    the mother had warmed up its optimizers."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # this process waits for its workers itself
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    control = socket.socket(fileno=control_fd)
    send(control, {"pid": os.getpid()})
    workdir = request["config"]["workdir"]
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path.insert(0, workdir)
    become_zygote(control, request["config"], warm=warm)


def serve(control: socket.socket, limits: limits_module.Limits, *, warm: bool) -> None:
    """Fork a worker per request; `warm`: the optimizers have been warmed up already.

    Forking a process that holds torch takes milliseconds, so the next test's worker is forked
    ahead, while the current test runs: a *spare* that waits for its request. It is forked from
    the same zygote in the same state, and runs no student code before its request arrives;
    while it waits, it rehearses with the grader's stand-in module (`worker.rehearsal`).
    """
    workers: set[int] = set()  # handed out, and not yet reported finished by the grader
    dying: set[int] = set()  # killed, not yet reaped
    spare: _Spare | None = None
    while True:
        try:
            request, fds = receive(control)
        except (OSError, EOFError):  # the grader is done, or gone: nothing of this submission stays
            _kill_descendants()
            return
        if request["op"] == "fork":
            if request.get("warm") and not warm:
                prefork.warm_up(optimizers=True)
                warm = True
                _discard(spare, dying)  # forked before the warm-up: cold
                spare = None
            if spare is None or not spare.assign(request, fds, limits.threads):
                _discard(spare, dying)
                spare = _Spare(control, inherited=fds)
                spare.assign(request, fds, limits.threads)
            for fd in fds:
                os.close(fd)
            workers.add(spare.pid)
            send(control, {"pid": spare.pid})
            # What the grader is done with dies after the reply, while the new worker starts.
            _release(workers, dying, request.get("finished", []))
            spare = _Spare(control)
        elif request["op"] == "wait":
            status = _wait(request["pid"])
            workers.discard(request["pid"])
            send(control, {"status": status})


class _Spare:
    """A worker forked ahead of its request; `assign` hands it the request and its descriptors."""

    def __init__(self, control: socket.socket, inherited: list[int] = ()):
        """`inherited`: descriptors open in the zygote now that the worker must not keep (a
        request's, which it receives again with its request)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Out of the collector's reach in the worker: a full collection there would write to, and
        # so copy, every page of the zygote's objects (about 175 ms and 80 MB in a worker).
        gc.freeze()
        self.pid = os.fork()
        if self.pid == 0:
            control.close()
            ours.close()
            if _reaper is not None:
                os.close(_reaper.command_fd)
            for fd in inherited:
                os.close(fd)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the zygote's clean-up is not the worker's
            os.setsid()  # its own session and process group, which the grader kills as a whole
            code = 0
            try:
                if _confinement is not None:
                    _confinement.apply()  # its own user, Landlock: before anything else runs
                _die_with_parent()  # after a change of user, which clears it
                from grader.sandbox import worker

                for _ in worker.rehearsal():  # until the request comes
                    if select.select([theirs], [], [], 0)[0]:
                        break
                request, fds = receive(theirs)
                theirs.close()
                worker.run_child(fds[0], fds[1], request["module_path"], request["module_name"],
                                 request["shown_path"], request["threads"])
            except BaseException:  # noqa: BLE001  the worker's own failure ends it, quietly
                code = 70
            finally:
                os._exit(code)
        theirs.close()
        self.channel = ours

    def assign(self, request: dict, fds: list[int], threads: int) -> bool:
        """Send the spare its work; False if it is gone (then fork another)."""
        try:
            send(self.channel, {**request, "threads": threads}, tuple(fds))
            return True
        except OSError:
            return False
        finally:
            self.channel.close()


def _discard(spare: _Spare | None, dying: set[int]) -> None:
    """Kill an unused spare (it is reaped with the other dying workers)."""
    if spare is not None:
        spare.channel.close()
        try:
            os.kill(spare.pid, signal.SIGKILL)
        except OSError:
            pass
        dying.add(spare.pid)


def _kill_descendants() -> None:
    """SIGKILL every process below this one, until none is left alive (a subreaper adopts the
    orphans of its workers, so a double fork does not escape; RLIMIT_NPROC bounds a fork loop).

    With a PID namespace, killing its process 1 kills every process in it (workers, spares and
    their orphans: all there is below this one)."""
    if _reaper is not None:
        _reaper.kill_everything()
        while _reap_any(block=True):
            pass
        return
    for _ in range(100):
        alive = []
        for child in psutil.Process().children(recursive=True):
            try:
                if child.status() != psutil.STATUS_ZOMBIE:
                    child.kill()
                    alive.append(child)
            except psutil.Error:
                pass
        if not alive:
            return
        psutil.wait_procs(alive, timeout=0.1)
        while _reap_any():
            pass


def _reap_any(*, block: bool = False) -> bool:
    try:
        return os.waitpid(-1, 0 if block else os.WNOHANG)[0] != 0
    except ChildProcessError:
        return False


def _wait(pid: int, *, block: bool = True) -> int | None:
    """The wait status of child `pid` (None if it is still running and `block` is False)."""
    try:
        reaped, status = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return -1
    return status if reaped else None


def _release(workers: set[int], dying: set[int], finished: list[int]) -> None:
    """Kill what the grader is done with: finished workers and orphans workers left behind
    (everything but the handed-out workers; the next spare is forked after this).

    Reaping does not wait: a process still tearing down stays in `dying` until a later request.
    """
    for pid in finished:
        workers.discard(pid)
        dying.add(pid)
    if _reaper is not None:  # the orphans are process 1's; finished workers die here
        _reaper.kill_orphans()
        for pid in finished:
            _kill(pid)
    else:
        for child in psutil.Process().children():
            if child.pid not in workers:
                dying.add(child.pid)
                _kill(child.pid)
    for pid in list(dying):
        if _wait(pid, block=False) is not None:
            dying.discard(pid)


def _kill(pid: int) -> None:
    """SIGKILL a worker and its process group (a worker leads its own: see `_Spare`)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


def send(control: socket.socket, message: dict, fds: tuple[int, ...] = ()) -> None:
    """One message (and optional file descriptors) as one packet of a SOCK_SEQPACKET socket."""
    socket.send_fds(control, [wire.encode(message)], list(fds))


def receive(control: socket.socket) -> tuple[dict, list[int]]:
    payload, fds, _, _ = socket.recv_fds(control, _MAX_CONTROL_BYTES, 2)
    if not payload:
        raise EOFError("control socket closed")
    return wire.decode(payload), fds


def _become_subreaper() -> None:
    """Orphans of a worker become the zygote's children, so they can be found and killed."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Get `signum` when the parent dies (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)


def _end_with_everything_below(signum: int, frame: object) -> None:
    _kill_descendants()
    os._exit(0)


if __name__ == "__main__":
    if sys.argv[1] == "--mother":
        mother(int(sys.argv[2]), batch="--batch" in sys.argv[3:])
    else:
        main(int(sys.argv[1]), json.loads(sys.argv[2]))
    os._exit(0)  # at once: tearing down an interpreter that holds torch takes about a second
