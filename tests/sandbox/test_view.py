"""The sandbox against a determined student: the attacks of `sandbox_attacks`, through the real
sandbox, as the user running the tests and, where that is root, as an ordinary user too, and as
root under Docker's defaults (no namespaces: `docker_defaults`, on a copy of the project).

A worker must not read the checkout or its history, the data the judge uses (the data root, the
datasets installed packages bundle, the judge's cache), see other processes, leave anything
running or written on the host, or fill more temp space than its cap.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import docker_checkout as docker_checkout_module
import sandbox_attacks
from grader import paths

ORDINARY_UID = 1000
HERE = Path(__file__).resolve().parents[1]  # tests/, where the helper scripts are

# Run as root: a private mount namespace where every folder on the way to the interpreter, its
# packages and the checkout is enterable by others (a 0700 home is covered by a tmpfs that holds
# only the needed child), then the ordinary user, then the attacks. So the interpreter and
# packages of this test run serve the ordinary user too, without a second installation.
AS_ORDINARY_USER = """
import os, sys
sys.path.insert(0, sys.argv[5])
import reachable
uid, script, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3]
reachable.enter([sys.prefix, sys.base_prefix, sys.argv[4]])
os.setgroups([])
os.setresgid(uid, uid, uid)
os.setresuid(uid, uid, uid)
os.environ.update(HOME="/nonexistent", TMPDIR=folder)
os.chdir(folder)
os.execv(sys.executable, [sys.executable, script, os.path.join(folder, "student")])
"""


def _as_ordinary_user(script: str, files: dict[str, str]) -> tuple[subprocess.CompletedProcess, Path]:
    """Run tests/`script` on FOLDER/student as the ordinary user, `files` written there first;
    the result, and FOLDER (removed by the caller)."""
    folder = Path(tempfile.mkdtemp(prefix="bootcamp-uid1000-"))
    (folder / "student").mkdir()
    (folder / "cache").mkdir()
    (folder / "cache" / "judge-mnist_cnn-0.pt").write_text("weights")
    for name, text in files.items():
        (folder / "student" / name).write_text(text)
    for path in (folder, *folder.rglob("*")):
        os.chown(path, ORDINARY_UID, ORDINARY_UID)
    env = {**os.environ, "BOOTCAMP_CACHE": str(folder / "cache")}
    result = subprocess.run([sys.executable, "-c", AS_ORDINARY_USER, str(ORDINARY_UID),
                             str(HERE / script), str(folder), str(paths.REPO_ROOT), str(HERE)],
                            capture_output=True, text=True, timeout=300, env=env)
    return result, folder


def _attack_as_ordinary_user(tmp_path: Path) -> dict:
    result, folder = _as_ordinary_user("sandbox_attacks.py", {})
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.splitlines()[-1])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _namespaces_available() -> bool:
    """Whether this kernel gives an ordinary user a user namespace with mount and PID namespaces."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    command = ["unshare", "--user", "--mount", "--pid", "--fork", "true"]
    if os.geteuid() == 0:
        command = ["setpriv", f"--reuid={ORDINARY_UID}", f"--regid={ORDINARY_UID}", "--clear-groups", *command]
    try:
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _on_the_way_to_python(folder: Path) -> set[str]:
    """The names in `folder` on the way to the interpreter, its packages or the grader package:
    the folders the view must create to bind them (a home holding pyenv's Python, say)."""
    names = set()
    for path in (sys.prefix, sys.base_prefix, paths.PACKAGE_DIR):
        relative = Path(path).resolve().relative_to(folder.resolve()) if Path(path).resolve().is_relative_to(
            folder.resolve()) else None
        if relative is not None and relative.parts:
            names.add(relative.parts[0])
    return names


def _assert_nothing_reached(results: dict, *, docker: bool = False) -> None:
    """Every attack got nothing. `docker`: graded without namespaces (Docker's defaults), where
    Landlock refuses the shared temp folders outright and the temp folder is $TMPDIR."""
    measures = results.pop("measures")
    assert any("allowlist" in m for m in measures), measures
    if docker:
        assert any("no namespaces" in m for m in measures), "the emulation let the zygote make namespaces"
        assert any("Landlock" in m for m in measures) and any("zygote keeps another user" in m for m in measures)
    else:
        assert any("PID namespace" in m for m in measures), measures
    home = results.pop("the grader's home", None)
    assert home is None or set(home) <= _on_the_way_to_python(Path.home()), f"the worker listed the home: {home}"
    for what in sandbox_attacks.targets():
        if what in results:
            assert results[what] is None, f"the worker read {what}: {results[what]!r}"
    assert results["other processes' command lines"] == [], "the worker saw processes outside its check"
    assert results["signal to its parent"] is None, "the worker signalled the zygote"
    assert results["alive after the check"] == [], "a process of the check outlived it"
    assert results["left on the host"] == [], "the worker's temp files reached the host"
    expected = [] if docker else ["/tmp", "/dev/shm", "/var/tmp"]  # private folders, or refused (Landlock)
    assert results["files written to the temp folders"] == expected
    assert 0 < results["bytes written to /tmp"] <= sandbox_attacks.TEMP_CAP
    assert results["temp bytes the memory cap counts"] > 0, "the grader cannot see the private tmpfs"
    assert f"at most {sandbox_attacks.PROCESS_CAP} processes" in measures, measures
    assert 0 < results["processes it started"] < sandbox_attacks.PROCESS_CAP


@pytest.fixture
def targets(tmp_path, monkeypatch):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "judge-mnist_cnn-0.pt").write_text("weights")
    monkeypatch.setenv("BOOTCAMP_CACHE", str(tmp_path / "cache"))
    found = sandbox_attacks.targets()
    assert {"a file of the checkout", "the reference solutions", "the hidden suites"} <= found.keys()
    return found


@pytest.mark.skipif(not _namespaces_available(), reason="needs user, mount and PID namespaces (Linux)")
def test_the_attacks_get_nothing_as_the_user_running_the_tests(tmp_path, targets):
    (tmp_path / "student").mkdir()
    _assert_nothing_reached(sandbox_attacks.attack(tmp_path / "student"))


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming another user needs root")
@pytest.mark.skipif(not _namespaces_available(), reason="this kernel gives an ordinary user no user namespace")
def test_the_attacks_get_nothing_as_an_ordinary_user(tmp_path, targets):
    results = _attack_as_ordinary_user(tmp_path)
    assert any("no capabilities (user namespace)" in m for m in results["measures"]), results["measures"]
    _assert_nothing_reached(results)


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming another user needs root")
@pytest.mark.skipif(not _namespaces_available(), reason="this kernel gives an ordinary user no user namespace")
def test_a_students_check_as_an_ordinary_user_runs_every_measure():
    """What a student runs on a laptop: `bootcamp check`, its mother first, as an ordinary user."""
    result, folder = _as_ordinary_user("check_as_student.py",
                                       {"basics.py": (paths.SOLUTIONS_DIR / "basics.py").read_text()})
    try:
        assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
        report = json.loads((folder / "student" / "report.json").read_text())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert report["score"] == report["max_score"] > 0
    measures = " ".join(report["isolation"])
    for measure in ("no capabilities (user namespace)", "own PID namespace", "allowlist",
                    "no network", "at most 512 processes"):
        assert measure in measures, report["isolation"]


@pytest.fixture(scope="module")
def docker_checkout():
    """A copy of the project, installed in a venv of its own, to grade under Docker's defaults
    (the grader closes that copy's secret folders: never this checkout's)."""
    folder = Path(tempfile.mkdtemp(prefix="bootcamp-docker-"))
    try:
        yield docker_checkout_module.make_checkout(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="a container's grader runs as root")
def test_the_attacks_get_nothing_under_dockers_defaults(docker_checkout):
    """The third mode: root in a container whose seccomp profile refuses namespaces, Docker's
    capabilities only. The attacks target that checkout, its git history, and this checkout."""
    folder = docker_checkout.parent
    (folder / "student").mkdir()
    (folder / "cache").mkdir()
    (folder / "cache" / "judge-mnist_cnn-0.pt").write_text("weights")
    env = {**os.environ, "BOOTCAMP_CACHE": str(folder / "cache"),
           sandbox_attacks.OTHER_CHECKOUT_ENV: str(paths.SOLUTIONS_DIR / "basics.py")}
    result = docker_checkout_module.in_container(
        docker_checkout, [str(docker_checkout / "tests" / "sandbox_attacks.py"), str(folder / "student")], env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(result.stdout.splitlines()[-1])
    assert "another checkout's solutions" in results and "git objects" in results
    uid = int(re.search(r"unprivileged uid (\d+)", " ".join(results["measures"])).group(1))
    _assert_nothing_reached(results, docker=True)
    for secret in ("solutions", "grader/practices", ".git"):
        assert not (docker_checkout / secret).stat().st_mode & 0o007, f"{secret} is still open to other users"
    assert _owned_by(uid) == [], "the check left files in the shared temp folders"


def _owned_by(uid: int) -> list[str]:
    """Files and folders of `uid` under /tmp, /var/tmp and /dev/shm."""
    found = []
    for top in ("/tmp", "/var/tmp", "/dev/shm"):
        for folder, subfolders, files in os.walk(top):
            for name in subfolders + files:
                try:
                    if os.lstat(os.path.join(folder, name)).st_uid == uid:
                        found.append(os.path.join(folder, name))
                except OSError:  # another test's file, gone meanwhile
                    pass
    return found
