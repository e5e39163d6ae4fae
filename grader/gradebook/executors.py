"""Where submissions are graded: a local pool of hosts, or tasks on a Dask distributed cluster.

Either way a submission becomes a `Job` (its practice files as bytes, and the grading options),
and `grade_job` grades it in a child process forked by a host (`grader.gradebook.one`) and
returns the result as plain data. The executors only move jobs and results; the gradebook is
written by the coordinating process alone, as results arrive.

    with make_executor("local", workers=4, work_root=out / ".work") as executor:
        for job, result in executor.map(jobs):
            ...
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterable, Iterator

from grader import paths
from grader.gradebook.one import PARENT_ENV
from grader.sandbox.slots import Slot

_STARTUP_SECONDS = 300.0


@dataclass
class Job:
    """One submission to grade, self-contained (a remote worker needs no shared folder)."""

    student: str
    files: dict[str, bytes]
    practices: list[str]
    problems: dict[str, str] = field(default_factory=dict)
    select: str | None = None
    device: str = "auto"
    call_timeout: float | None = None
    memory_gib: float | None = None
    timeout: float = 1800.0
    work_root: str | None = None
    notebooks: dict[str, dict] = field(default_factory=dict)  # `Unpacked.notebooks`: places name their cells


def error_result(reason: str) -> dict:
    return {"status": "error", "reason": reason, "report": None, "practices": {}, "hypothesis": {}}


class Host:
    """A `python -m grader.gradebook.one --serve` process: forks one grading child per job.

    Torch in the grading children uses `threads` intra-op threads: one by default, like the
    sandbox's workers, so a grade never depends on --workers or on the machine's cores, and
    parallel submissions do not oversubscribe the cores (the tests' tensors are small).
    Each host leases a grading slot (`slots.Slot`): its sandbox workers run as the slot's own
    user when grading as root.
    """

    def __init__(self, threads: int = 1, practices: list[str] | None = None):
        self.threads, self.practices = threads, practices
        self.slot = Slot()
        self.uid = self.slot.uid
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
                   **{PARENT_ENV: str(os.getpid())})
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(paths.PACKAGE_DIR.parent), env.get("PYTHONPATH")]))
        self._log = tempfile.TemporaryFile()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "grader.gradebook.one", "--serve",
                 *([",".join(practices)] if practices else [])],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env, text=True,
                start_new_session=True)
        except OSError:
            self.slot.release()
            raise
        self._ready = False

    def run(self, job_dir: Path, timeout: float) -> dict:
        if not self._ready:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"the grading host failed to start: {self._log_tail()}")
            self._ready = True
        self.process.stdin.write(json.dumps({"job_dir": str(job_dir), "timeout": timeout}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the grading host stopped: {self._log_tail()}")
        return json.loads(line)

    def alive(self) -> bool:
        return self.process.poll() is None

    def _log_tail(self) -> str:
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit code {self.process.poll()}"

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
            self.process.terminate()  # the host kills its current child's process group
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        self.slot.release()


def grade_job(job: Job, host: Host | None = None) -> dict:
    """Grade `job` in a child process; return its result (an error result if grading failed)."""
    host = host or _thread_host(job.practices)
    work = Path(tempfile.mkdtemp(prefix="job-", dir=job.work_root))
    try:
        submission = work / "submission"
        submission.mkdir()
        for name, data in job.files.items():
            (submission / name).write_bytes(data)
        spec = {f.name: getattr(job, f.name) for f in fields(job) if f.name not in ("files", "work_root", "timeout")}
        spec["hide"] = [str(Path(job.work_root).resolve().parent)] if job.work_root else []  # --out: the gradebook
        spec["sandbox_uid"] = host.uid
        (work / "job.json").write_text(json.dumps(spec))
        try:
            reply = host.run(work, job.timeout)
        except (RuntimeError, OSError, ValueError) as error:
            return error_result(str(error))
        finally:
            host.slot.clear()  # nothing of this submission stays to meet the next one
        result_path = work / "result.json"
        if reply["timed_out"]:
            result = error_result(f"grading took longer than {job.timeout:g} s and was stopped")
        elif reply["exit"] == 0 and result_path.is_file():
            result = json.loads(result_path.read_text())
        else:
            result = error_result(f"the grading process failed (exit {reply['exit']}): {_last_line(work / 'log.txt')}")
        result["seconds"] = reply["seconds"]
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1][:300] if lines else "no output"


_local = threading.local()


def _thread_host(practices: list[str]) -> Host:
    """This thread's host (a Dask worker thread keeps one across tasks)."""
    host = getattr(_local, "host", None)
    if host is None or not host.alive():
        if host is not None:
            host.close()
        _local.host = host = Host(int(os.environ.get("BOOTCAMP_THREADS", "1")), practices)
    return host


class LocalExecutor:
    """`workers` hosts on this machine, each grading one submission at a time."""

    def __init__(self, workers: int, practices: list[str] | None = None):
        self.workers = max(1, workers)
        self._hosts: queue.Queue[Host] = queue.Queue()
        # started here, all at once (they warm up in parallel), and they die with this thread
        self._all = [Host(1, practices) for _ in range(self.workers)]
        for host in self._all:
            self._hosts.put(host)

    def _grade(self, job: Job) -> dict:
        host = self._hosts.get()
        try:
            if not host.alive():
                host.close()
                host = Host(host.threads, host.practices)
                self._all.append(host)
            return grade_job(job, host)
        finally:
            self._hosts.put(host)

    def map(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, dict]]:
        """Grade `jobs`, at most `workers` at once; yield (job, result) as each finishes."""
        pending = {}
        jobs = iter(jobs)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="bootcamp-grade") as pool:
            try:
                while True:
                    while len(pending) < self.workers:
                        job = next(jobs, None)
                        if job is None:
                            break
                        pending[pool.submit(self._grade, job)] = job
                    if not pending:
                        return
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        job = pending.pop(future)
                        try:
                            result = future.result()
                        except Exception as error:  # noqa: BLE001  one submission, not the batch
                            result = error_result(f"the grader failed: {error}")
                        yield job, result
            except BaseException:
                for future in pending:
                    future.cancel()
                self.close()  # stop the running children now, not after they finish
                raise

    def close(self) -> None:
        for host in self._all:
            host.close()

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor:
    """Jobs as tasks on a Dask distributed cluster; each task grades in its own child process."""

    def __init__(self, scheduler: str, *, in_flight: int | None = None):
        from distributed import Client

        self.client = Client(scheduler, timeout="30s")
        threads = sum(self.client.nthreads().values()) or 1
        self.in_flight = in_flight or 2 * threads

    def map(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, dict]]:
        from distributed import as_completed

        jobs = iter(jobs)
        pending = {}
        running = as_completed()

        def submit_next() -> bool:
            job = next(jobs, None)
            if job is None:
                return False
            job.work_root = None  # the worker's own temporary folder
            future = self.client.submit(grade_job, job, pure=False, key=f"bootcamp-grade-{uuid.uuid4().hex}")
            pending[future.key] = (future, job)
            running.add(future)
            return True

        for _ in range(self.in_flight):
            if not submit_next():
                break
        try:
            for future in running:
                _, job = pending.pop(future.key)
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001  a lost worker, a failed task
                    result = error_result(f"the Dask task failed: {type(error).__name__}: {error}")
                yield job, result
                submit_next()
        except BaseException:
            self.client.cancel([future for future, _ in pending.values()])
            raise

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "DaskExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_executor(kind: str, *, workers: int, scheduler: str | None = None, practices: list[str] | None = None):
    """A local pool of `workers` hosts warmed up for `practices`, or a Dask client."""
    if kind == "dask":
        if not scheduler:
            raise ValueError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
        from grader.extras import missing

        if problem := missing("distributed", "--executor dask"):
            raise ValueError(problem)
        return DaskExecutor(scheduler)
    return LocalExecutor(workers, practices)
