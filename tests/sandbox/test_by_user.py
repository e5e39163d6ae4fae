"""Docker's defaults, emulated (`docker_defaults`): the emulation itself, and the grader under it.

The emulation must really refuse namespaces, or every test that runs under it would pass
without testing anything. Under it, as root, the reference scores full marks, and the attack
tests of `test_proxy.py`, `test_hostile.py` and `test_forgeries.py` run again, on a
copy of the project (the grader closes that copy's secret folders to other users: never this
checkout's).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import docker_checkout
from docker_defaults import DOCKER_CAPABILITIES

HERE = Path(__file__).resolve().parents[1]  # tests/, where the helper scripts are
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not sys.platform.startswith("linux"),
                                reason="a container's grader runs as root, on Linux")

PROBE = """
import ctypes, json, os, tempfile
libc = ctypes.CDLL(None, use_errno=True)
def errno_of(result):
    return ctypes.get_errno() if result != 0 else 0
found = {"unshare mount": errno_of(libc.unshare(0x00020000)), "unshare user": errno_of(libc.unshare(0x10000000)),
         "unshare pid": errno_of(libc.unshare(0x20000000)), "setns": errno_of(libc.setns(-1, 0)),
         "mount": errno_of(libc.mount(b"none", b"/mnt", b"tmpfs", 0, None)),
         "clone3": errno_of(0 if libc.syscall(435, None, 0) >= 0 else -1)}
status = dict(line.split(":\\t") for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
found["bounding"] = int(status["CapBnd"], 16)
secret = tempfile.mkdtemp()
with open(os.path.join(secret, "answer"), "w") as f:
    f.write("42")
os.chmod(secret, 0o700)
pid = os.fork()
if pid == 0:  # what a worker does: another user; with CAP_DAC_OVERRIDE in the bounding set
    os.setgroups([]); os.setresgid(65533, 65533, 65533); os.setresuid(65533, 65533, 65533)
    status = dict(line.split(":\\t") for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
    try:
        open(os.path.join(secret, "answer")).read()
        readable = True
    except PermissionError:
        readable = False
    print(json.dumps({"effective": int(status["CapEff"], 16), "permitted": int(status["CapPrm"], 16),
                      "reads a root-only file": readable}), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print(json.dumps(found))
"""


def test_the_emulation_refuses_namespaces_and_keeps_only_dockers_capabilities():
    done = subprocess.run([sys.executable, str(HERE / "docker_defaults.py"), sys.executable, "-c", PROBE],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    worker, found = (json.loads(line) for line in done.stdout.splitlines()[-2:])
    for call in ("unshare mount", "unshare user", "unshare pid", "setns", "mount"):
        assert found[call] == errno.EPERM, (call, found)
    assert found["clone3"] == errno.ENOSYS
    assert found["bounding"] == sum(1 << capability for capability in DOCKER_CAPABILITIES.values())
    assert worker == {"effective": 0, "permitted": 0, "reads a root-only file": False}


@pytest.fixture(scope="module")
def project():
    folder = Path(tempfile.mkdtemp(prefix="bootcamp-docker-"))
    try:
        yield docker_checkout.make_checkout(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_the_reference_scores_full_marks_under_dockers_defaults(project):
    report = project.parent / "report.json"
    result = docker_checkout.in_container(project, ["-m", "grader", "check", "basics", "conv_shapes", "--path",
                                                    str(project / "solutions"), "--json", str(report)])
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    found = json.loads(report.read_text())
    assert found["score"] == found["max_score"] > 0
    measures = " ".join(found["isolation"])
    assert "no namespaces" in measures and "Landlock" in measures, found["isolation"]


@pytest.mark.slow
def test_every_attack_held_as_root_is_held_under_dockers_defaults(project):
    """The sandbox's and the hostile submissions' tests, run again by the copy's own pytest.

    Left out: the 6 GiB `bytes` of `memory_blowup`, whose status (memory cap or 3 s timeout)
    depends on how fast the machine faults pages in; on a busy machine it times out in a direct
    call with or without namespaces alike, and either way the task loses its points."""
    result = docker_checkout.in_container(project, ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                                    "tests/sandbox/test_proxy.py", "tests/sandbox/test_hostile.py",
                                                    "--deselect", "tests/sandbox/test_hostile.py::test_a_hostile_function_"
                                                    "costs_only_its_own_task[memory_blowup-error]"], timeout=1800)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


@pytest.mark.slow
def test_forged_convergence_earns_nothing_under_dockers_defaults(project):
    """The forgers of `test_forgeries.py` (banks in globals, class attributes, buffers and
    files; a Sobel filter; a nearest-neighbour lookup), graded again inside the container."""
    result = docker_checkout.in_container(project, ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                                    "tests/judging/test_forgeries.py"], timeout=1800)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


@pytest.fixture
def shared_folder():
    """A folder every user may use (pytest's own temp folders are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="bootcamp-user-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_an_ordinary_user_without_namespaces_is_refused_hidden_tests_in_one_line(shared_folder):
    """Docker's seccomp profile refuses user namespaces to an ordinary user as a distribution
    that disables them does: hidden tests are refused unless accepted; public ones run."""
    tmp_path = shared_folder
    env = {**os.environ, "HOME": str(tmp_path), "BOOTCAMP_CACHE": str(tmp_path / "cache")}
    env.pop("BOOTCAMP_WEAK_SANDBOX", None)
    as_user = ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", sys.executable, "-m", "grader", "check",
               "basics", "--path", str(docker_checkout.paths.SOLUTIONS_DIR), "-k", "relu"]
    launcher = [sys.executable, str(HERE / "docker_defaults.py"), "--reachable", sys.prefix,
                "--reachable", sys.base_prefix]

    def check(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(launcher + as_user + list(extra), capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=600)

    refused = check()
    assert refused.returncode == 2, refused.stdout + refused.stderr
    line = refused.stderr.strip()
    assert line.count("\n") == 0 and "--weak-sandbox" in line and "no namespaces" in line, line
    for accepted in (check("--public-only"), check("--weak-sandbox")):
        assert accepted.returncode == 0, (accepted.stdout + accepted.stderr)[-3000:]
        assert "no namespaces for this user" in accepted.stdout


def test_what_a_user_left_in_the_temp_folders_is_removed_and_nothing_else():
    from grader.sandbox.slots import remove_files_of

    uid = 65530
    shared = Path(tempfile.mkdtemp(prefix="bootcamp-shared-"))
    try:
        shared.chmod(0o1777)
        (shared / "theirs").write_text("a check's file")
        (shared / "folder").mkdir()
        (shared / "folder" / "inside").write_text("x")
        (shared / "link").symlink_to("/etc/passwd")
        (shared / "root's").write_text("the grader's")
        for path in ("theirs", "folder", "folder/inside", "link"):
            os.lchown(shared / path, uid, uid)
        removed = remove_files_of(uid, (str(shared),))
        assert sorted(Path(p).name for p in removed) == ["folder", "link", "theirs"]
        assert [p.name for p in shared.iterdir()] == ["root's"] and Path("/etc/passwd").exists()
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_secret_folders_lose_other_users_rights_or_one_line_says_what_to_change():
    from grader.sandbox.secrets import SecretsOpen, close_to_others, grader_secrets

    folder = Path(tempfile.mkdtemp(prefix="bootcamp-secret-"))
    try:
        folder.chmod(0o755)
        assert close_to_others([folder]) == [str(folder)]
        assert folder.stat().st_mode & 0o777 == 0o750
        assert close_to_others([folder]) == []  # already closed
        with pytest.raises(SecretsOpen, match=r"^\S+ is open to other users .*chmod o-rwx") as caught:
            close_to_others([folder / "gone"])
        assert "\n" not in str(caught.value)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    never = grader_secrets(["/tmp", "/"])
    assert Path("/tmp") not in never and Path("/") not in never
