"""Grade a folder of submissions into the gradebook: plan, resume, grade, record, compare.

    summary = grade(Path("submissions"), Path("grading"), Options(practices=[], workers=4))

1. Find the submissions (`submissions.discover`), keep this shard's, and read each one's practice
   files (`submissions.unpack`): a submission that cannot be graded is recorded as *rejected*
   with its reason, at once.
2. Choose the run to record into (`_target_run`): an interrupted run with the same configuration
   is resumed, the latest run continued if nothing in it changed; `regrade` starts a new one.
3. Skip what this run already holds for the same content; carry over what an earlier run with the
   same configuration graded for the same content; grade the rest, each in its own child process
   (`executors`), recording each result in its own transaction as it arrives.
4. Report which task scores changed for the students graded now (after a regrade, say).

Nothing is written outside `out` (the gradebook, a lock file, and `.work/`, the jobs' private
temporary folders) and the system's temporary folder (the sandbox's copies).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader import __version__, paths, registry
from grader.check import BadInput, resolve_practices
from grader.gradebook import database, view
from grader.gradebook.executors import Job, make_executor
from grader.gradebook.late import LatePolicy, from_timestamp, read_times
from grader.gradebook.shards import Shard
from grader.gradebook.submissions import MAX_BYTES, Found, Rejected, discover, printable, unpack


class GradingError(Exception):
    """A user error that stops the batch before it starts (a missing folder, a busy gradebook)."""


class Interrupted(Exception):
    """The batch was stopped (Ctrl-C); what finished is recorded, and the same command continues."""


@dataclass
class Options:
    practices: list[str] = field(default_factory=list)  # empty: every practice with a suite
    workers: int = 1
    device: str = "auto"
    select: str | None = None  # pytest -k over the suites (tests of the grader itself use this)
    call_timeout: float | None = None
    memory_gib: float | None = None
    submission_timeout: float = 1800.0
    regrade: bool = False
    retry_errors: bool = False
    shard: Shard | None = None
    executor: str = "local"
    scheduler: str | None = None
    max_bytes: int = MAX_BYTES
    times: Path | None = None  # CSV student,submitted_at
    policy: LatePolicy | None = None


@dataclass
class Event:
    done: int
    total: int
    failed: int
    student: str = ""
    status: str = ""


@dataclass
class Summary:
    database: Path
    run_id: int
    resumed: bool
    practices: list[str]
    students: int = 0  # in this shard
    graded: int = 0
    skipped: int = 0  # already in this run
    carried: int = 0  # same content, same configuration: copied from an earlier run
    rejected: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    changes: list[view.Change] = field(default_factory=list)


def suites_hash(practices: list[str]) -> str:
    """sha256 over the files of `grader/practices/<practice>/` (names and contents), in order."""
    digest = hashlib.sha256()
    for practice in practices:
        folder = paths.PRACTICES_DIR / practice
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(f"{practice}/{path.relative_to(folder).as_posix()}\0".encode())
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def grade(submissions: Path, out: Path, options: Options,
          on_progress: Callable[[Event], None] | None = None) -> Summary:
    """Grade `submissions` into `out/gradebook.sqlite`; see the module docstring."""
    submissions, out = Path(submissions), Path(out)
    practices = _check_input(submissions, out, options)
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = _lock(out)
    work = out / ".work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(mode=0o700)
    db = database.connect(out / database.FILE_NAME)
    try:
        return _grade(db, submissions, out, practices, options, on_progress or (lambda event: None))
    finally:
        db.close()
        shutil.rmtree(work, ignore_errors=True)
        lock.close()


def _check_input(submissions: Path, out: Path, options: Options) -> list[str]:
    if not submissions.exists():
        raise GradingError(f"{submissions}: no such folder")
    if not submissions.is_dir():
        raise GradingError(f"{submissions}: not a folder (expected a folder of submissions, one per student)")
    if out.resolve() == submissions.resolve() or submissions.resolve() in out.resolve().parents:
        raise GradingError(f"--out {out} is inside {submissions}: choose a folder outside the submissions")
    try:
        practices = resolve_practices(options.practices)
    except BadInput as error:
        raise GradingError(str(error)) from None
    if options.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise GradingError("--device cuda: no CUDA device is available here")
    if options.executor == "dask" and not options.scheduler:
        raise GradingError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    return practices


def _device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _lock(out: Path):
    handle = open(out / ".lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise GradingError(f"{out}: another `bootcamp grade` is writing to this gradebook") from None
    return handle


def _grade(db, submissions: Path, out: Path, practices: list[str], options: Options,
           on_progress: Callable[[Event], None]) -> Summary:
    from grader.gradebook.one import hypothesis_settings

    found, ignored = discover(submissions)
    if not found:
        raise GradingError(f"{submissions}: no submissions (expected folders or .zip files named by student id)")
    if options.shard:
        found = [f for f in found if options.shard.holds(f.student)]
    times = read_times(options.times) if options.times else {}
    if options.policy:
        with database.transaction(db):
            database.set_meta(db, "late_policy", options.policy.to_json())
    config = {"practices": practices, "select": options.select, "suites_hash": suites_hash(practices),
              "grader_version": __version__, "derandomize": hypothesis_settings(), "device": _device(options.device),
              "call_timeout": options.call_timeout, "memory_gib": options.memory_gib, "max_bytes": options.max_bytes}
    run_options = {"workers": options.workers, "executor": options.executor,
                   "submission_timeout": options.submission_timeout, "retry_errors": options.retry_errors}
    base = {"grader_version": __version__, "suites_hash": config["suites_hash"], "derandomize": config["derandomize"]}
    planned = [(item, *_entry(item, practices, options, times, base)) for item in found]
    hashes = {item.student: entry["content_hash"] for item, entry, _ in planned}
    run_id, resumed = _target_run(db, config, options, hashes, run_options)
    summary = Summary(out / database.FILE_NAME, run_id, resumed, practices, students=len(found), ignored=ignored)
    before = view.task_scores(view.from_db(db, tests=False))
    done = database.recorded(db, run_id)
    reuse = {} if options.regrade else database.reusable(db, run_id)
    pending: list[tuple[Found, dict]] = []
    for item, entry, rejected in planned:
        previous = done.get(item.student)
        if previous and previous[0] == entry["content_hash"] and not (options.retry_errors and previous[1] == "error"):
            if previous[2] != entry["submitted_at"]:
                database.touch(db, run_id, item.student, entry["submitted_at"])
            summary.skipped += 1
        elif (item.student, entry["content_hash"]) in reuse:
            database.carry(db, item.student, reuse[item.student, entry["content_hash"]], run_id, entry["submitted_at"])
            summary.carried += 1
        elif rejected is not None:
            database.record(db, run_id, entry, {"status": "rejected", "reason": rejected})
            summary.rejected.append((item.student, rejected))
        else:
            pending.append((item, entry))
    entries = {item.student: entry for item, entry in pending}
    rejected_now = len(summary.rejected)  # shown on the bar as done and failed from the start
    progress = Event(rejected_now, len(pending) + rejected_now, rejected_now)
    on_progress(progress)

    def finished(student: str, result: dict) -> None:
        if not (out / database.FILE_NAME).is_file():  # SQLite would write on into the deleted file
            raise FileNotFoundError(errno.ENOENT, "the gradebook is no longer there", str(out / database.FILE_NAME))
        database.record(db, run_id, entries[student], result)
        if result["status"] == "graded":
            summary.graded += 1
        else:
            progress.failed += 1
            target = summary.rejected if result["status"] == "rejected" else summary.errors
            target.append((student, result.get("reason", "")))
        progress.done, progress.student, progress.status = progress.done + 1, student, result["status"]
        on_progress(progress)

    def jobs():  # consumed by the executor in this thread: the gradebook is written here only
        for item, entry in pending:
            try:  # read again (nothing large is held for the whole class); it may have changed meanwhile
                unpacked = unpack(item, practices, registry.names(), options.max_bytes)
            except Rejected as error:
                finished(item.student, {"status": "rejected", "reason": str(error)})
                continue
            entry["content_hash"], entry["notes"] = unpacked.content_hash, unpacked.notes
            yield Job(item.student, unpacked.files, practices, unpacked.problems, options.select, options.device,
                      options.call_timeout, options.memory_gib, options.submission_timeout, str(out / ".work"),
                      unpacked.notebooks)

    try:
        if pending:
            try:
                executor = make_executor(options.executor, workers=min(options.workers, len(pending)),
                                         scheduler=options.scheduler, practices=practices)
            except (OSError, TimeoutError, ValueError) as error:
                database.close_run(db, run_id, "interrupted")
                raise GradingError(f"cannot start the {options.executor} executor: {error}") from None
            with executor:
                for job, result in executor.map(jobs()):
                    finished(job.student, result)
    except KeyboardInterrupt:
        database.close_run(db, run_id, "interrupted")
        raise Interrupted(f"interrupted after {progress.done} of {progress.total} submission(s); every finished "
                          "one is in the gradebook: run the same command again to continue") from None
    database.close_run(db, run_id, "finished")
    summary.changes = view.changes(before, view.task_scores(view.from_db(db, tests=False)), set(entries))
    return summary


def _target_run(db, config: dict, options: Options, hashes: dict[str, str], run_options: dict) -> tuple[int, bool]:
    """The run to record into, and whether it is resumed.

    A regrade starts a new run. Else an unfinished run with the same configuration and shard is
    resumed; else the latest run is continued when it has the same configuration and shard and
    no submission in it changed (new students join it); else a new run starts, so the results of
    changed submissions' earlier versions stay in the run that holds them.
    """
    shard = str(options.shard or "")
    key = database.config_key(config)
    if not options.regrade:
        unfinished = database.resumable_run(db, key, shard)
        if unfinished is not None:
            database.reopen_run(db, unfinished)
            return unfinished, True
        latest = database.latest_run(db)
        if latest is not None and latest["config_key"] == key and latest["shard"] == shard:
            held = database.recorded(db, latest["id"])
            if all(held[s][0] == h for s, h in hashes.items() if s in held):
                database.reopen_run(db, latest["id"])
                return latest["id"], True
    return database.new_run(db, config, shard=shard, options=run_options), False


def _entry(item: Found, practices: list[str], options: Options, times: dict,
           base: dict) -> tuple[dict, str | None]:
    """The gradebook's record of a submission (without its grades), and why it is rejected, if so."""
    source = printable(item.path.name) + ("/" if item.kind == "folder" else "")
    entry = {"student": item.student, "source": source, "notes": [], **base}
    rejected = None
    mtime = None
    try:
        unpacked = unpack(item, practices, registry.names(), options.max_bytes)
        entry["content_hash"], entry["notes"], mtime = unpacked.content_hash, unpacked.notes, unpacked.submitted_at
    except Rejected as error:
        rejected = str(error)
        try:
            stat = item.path.lstat()
            stamp = f"{stat.st_size}\0{stat.st_mtime_ns}"
            mtime = stat.st_mtime
        except OSError:
            stamp = ""
        entry["content_hash"] = "rejected:" + hashlib.sha256(f"{rejected}\0{stamp}".encode()).hexdigest()
    when = times.get(item.student) or (from_timestamp(mtime) if mtime is not None else None)
    entry["submitted_at"] = when.isoformat() if when else None
    return entry, rejected
