"""Grade one submission in a child process of its own; and the host that forks those children.

`run_suites` runs pytest in its process and is not thread-safe, so every submission is graded in
a fresh child process. Importing torch and pytest takes seconds; forking a process that already
holds them takes milliseconds. So each grading slot keeps one *host*:

    python -m grader.gradebook.one --serve [PRACTICE,...]     (the practices to warm up for)
        <- {"job_dir": DIR, "timeout": SECONDS}          one line of JSON per submission
        -> {"exit": CODE, "timed_out": BOOL, "seconds": S}

For each request the host forks a child that grades `DIR/submission` as `DIR/job.json` says and
writes `DIR/result.json`; a child that outlives `timeout` is killed with its process group.
`python -m grader.gradebook.one DIR` grades one job directory without a host (for debugging).

A job directory is written by `executors.grade_job`:

    job.json        {"student", "practices", "problems", "select", "device", "call_timeout", "memory_gib",
                     "hide", "sandbox_uid"}
    submission/     the student's practice files, nothing else
    result.json     {"status", "reason", "report", "practices", "hypothesis", "pid"}   (written here)
    log.txt         the child's stdout and stderr

Each host also starts a sandbox *mother* (`grader.sandbox.mother.Mother`), a warm, secret-free
Python that forks every submission's zygote in milliseconds instead of a fresh start of seconds.

Hosts, mothers and children die with their parent (PR_SET_PDEATHSIG): a killed grader leaves no
orphans.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import sys
import time
import traceback
from pathlib import Path

_PR_SET_PDEATHSIG = 1
PARENT_ENV = "BOOTCAMP_GRADEBOOK_PARENT"


def grade_job_dir(job_dir: Path) -> dict:
    """Grade `job_dir/submission`; write and return the result. Runs in the child."""
    from grader.check import BadInput, inspect_submission, name_notebook_cells, run_suites
    from grader.notebook_source import NotebookModule
    from grader.atomic import write_atomically
    from grader.scoring import build_report

    job_dir = job_dir.resolve()  # before the chdir below: a relative --out must still name this folder
    job = json.loads((job_dir / "job.json").read_text())
    submission = (job_dir / "submission").resolve()
    os.chdir(submission)  # paths in messages then read "<practice>.py, line 4", not a temp folder
    practices = job["practices"]
    status = {p: {"status": "invalid", "reason": r} for p, r in job.get("problems", {}).items()}
    for practice in practices:
        if practice in status:
            continue
        if not (submission / f"{practice}.py").is_file():
            status[practice] = {"status": "missing", "reason": f"no {practice}.py in the submission"}
            continue
        try:
            inspect_submission(submission, [practice], require_all=False)
        except BadInput as error:
            status[practice] = {"status": "invalid", "reason": str(error)}
            (submission / f"{practice}.py").unlink()
            continue
        status[practice] = {"status": "graded", "reason": ""}
    ran: set[str] = set()
    report = run_suites(submission, practices, public_only=False, device=job.get("device", "auto"),
                        call_timeout=job.get("call_timeout"), memory_gib=job.get("memory_gib"),
                        select=job.get("select"), hide=job.get("hide", ()), sandbox_uid=job.get("sandbox_uid"),
                        on_test=lambda test: ran.add(test.nodeid))
    tests = []
    for practice in report.practices:
        for task in practice.tasks:
            for test in task.tests:
                if test.nodeid not in ran:  # deselected by -k: not graded, not counted
                    continue
                problem = status.get(practice.name, {})
                if problem.get("status") in ("missing", "invalid"):
                    test.status = "error" if problem["status"] == "invalid" else "failed"
                    test.message, test.output = problem["reason"], ""
                else:
                    test.message = _clean(test.message, submission)
                    test.output = _clean(test.output, submission)
                tests.append(test)
    report = build_report(job.get("student", ""), practices, tests, isolation=report.isolation,
                          public_only=False, device=report.device, seconds=report.seconds,
                          errors=[_clean(e, submission) for e in report.errors])
    notebooks = {practice: (notebook["name"], NotebookModule("", cells=[tuple(c) for c in notebook["cells"]]))
                 for practice, notebook in job.get("notebooks", {}).items()}
    name_notebook_cells(report, submission, notebooks)
    result = {"status": "error" if report.errors else "graded", "pid": os.getpid(),
              "reason": report.errors[0] if report.errors else "",
              "report": report.to_json(), "practices": status, "hypothesis": hypothesis_settings()}
    write_atomically(job_dir / "result.json", json.dumps(result))
    return result


def _clean(text: str, submission: Path) -> str:
    return text.replace(f"{submission}{os.sep}", "") if text else text


def hypothesis_settings() -> dict:
    """The property tests' randomness: derandomized, so a score never flickers."""
    from hypothesis import settings

    import grader.plugin  # noqa: F401  (registers and loads the "bootcamp" profile)

    profile = settings.get_profile("bootcamp")
    return {"profile": "bootcamp", "derandomize": bool(profile.derandomize),
            "max_examples": int(profile.max_examples)}


def die_with_parent() -> None:
    """Be killed when the parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    expected = os.environ.get(PARENT_ENV)
    if expected and os.getppid() != int(expected):
        os._exit(1)


# ---- the host -----------------------------------------------------------------------------------

_child: int | None = None


def serve(practices: list[str] | None = None) -> None:
    """Read requests on stdin; fork one child per request; answer on stdout."""
    die_with_parent()
    signal.signal(signal.SIGTERM, _stop)
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints must not reach the protocol
    from grader.sandbox.mother import Mother, use_mother

    use_mother(Mother(batch=True))  # starts now, in parallel with the warm-up; every submission's zygote comes from it
    from grader import plugin

    plugin.FREEZE_AFTER_COLLECTION = True  # this host grades nothing itself; each child grades once
    warm_up(practices)
    replies.write(json.dumps({"ready": os.getpid()}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        replies.write(json.dumps(_fork_and_wait(Path(request["job_dir"]), float(request["timeout"]))) + "\n")


def warm_up(practices: list[str] | None = None) -> None:
    """Import what every child needs, once: torch, pytest, the plugin, the suites and their helpers.

    Collecting the suites with a -k that selects nothing imports their modules (and what they
    import) without running a test or starting a sandbox; every forked child then starts warm.
    """
    import tempfile

    from grader.check import resolve_practices, run_suites

    hypothesis_settings()
    with tempfile.TemporaryDirectory(prefix="bootcamp-warm-") as empty:
        run_suites(empty, resolve_practices(practices or []), select="bootcamp_warm_up_selects_no_test")


def _fork_and_wait(job_dir: Path, timeout: float) -> dict:
    global _child
    started = time.monotonic()
    os.environ[PARENT_ENV] = str(os.getpid())
    pid = os.fork()
    if pid == 0:
        _run_child(job_dir)
    _child = pid
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    handle = os.pidfd_open(pid)
    try:
        timed_out = not select.select([handle], [], [], timeout)[0]
    finally:
        os.close(handle)
    if timed_out:
        _kill_group(pid)
    _, status = os.waitpid(pid, 0)
    _kill_group(pid)  # whatever the child left in its group
    _child = None
    return {"exit": os.waitstatus_to_exitcode(status), "timed_out": timed_out,
            "seconds": round(time.monotonic() - started, 3)}


def _run_child(job_dir: Path) -> None:
    code = 70
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.setpgid(0, 0)
        die_with_parent()
        log = os.open(job_dir / "log.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        grade_job_dir(job_dir)
        code = 0
    except BaseException:  # noqa: BLE001  the log and the exit code tell the coordinator
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _stop(signum: int, frame: object) -> None:
    if _child is not None:
        _kill_group(_child)
    os._exit(0)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--serve"] and len(argv) <= 2:
        serve(argv[1].split(",") if len(argv) == 2 else None)
    elif len(argv) == 1:
        grade_job_dir(Path(argv[0]).resolve())
    else:
        sys.exit("usage: python -m grader.gradebook.one (--serve [PRACTICE,...] | JOB_DIR)")


if __name__ == "__main__":
    main(sys.argv[1:])
