"""The sandbox on its own: calls, handles, data-only replies, and every way a worker can fail."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest
import torch

from grader.sandbox import (
    Limits,
    MemoryExceeded,
    NotImplementedByStudent,
    StudentException,
    Submission,
    WorkerDied,
    WorkerTimeout,
)
from grader.sandbox import wire
from grader.sandbox.limits import slot_uid
from grader.sandbox.mother import Mother, use_mother

STUDENT = '''
import os, sys, time
import torch

print("importing the student module")

def relu(x):
    return torch.clamp(x, min=0)

def todo():
    raise NotImplementedError("demo.1: implement todo in assignments/demo.py")

def divide(a, b):
    return a / b

def leave(code):
    sys.exit(code)

def hard_exit():
    os._exit(0)

def spin():
    while True:
        pass

def hog():
    return torch.ones(3 * 2**30 // 4).sum()

def reserve(gib):
    import mmap, resource
    area = mmap.mmap(-1, gib * 2**30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, prot=0)  # PROT_NONE: address space only, as CUDA reserves it
    return len(area) // 2**30, resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY

def shout(n):
    print("x" * n)
    return n

def patch_globals():
    torch.allclose = lambda *a, **k: True
    return torch.allclose(torch.zeros(1), torch.ones(1))

def allclose_works():
    return torch.allclose(torch.zeros(1), torch.ones(1))

def read(path):
    with open(path) as f:
        return f.read()

def write(path):
    with open(path, "a") as f:
        f.write("# changed")

def whoami():
    return os.getuid()

def make_model():
    return torch.nn.Linear(3, 2)

class Doubler(torch.nn.Module):
    def forward(self, x):
        return 2 * x

def numpy_things():
    import numpy as np
    return np.float64(1.5), np.arange(3)

def poke(pid):
    os.kill(pid, 0)  # permission to signal, without sending anything
    return True

def environment():
    return dict(os.environ), os.getcwd()

def keep_in_temp(size, seconds):
    import tempfile
    for megabyte in range(size // 2**20):  # /tmp, or $TMPDIR where there is no private /tmp
        with open(f"{tempfile.gettempdir()}/kept-{size}-{megabyte // 512}", "ab") as f:  # files under RLIMIT_FSIZE
            f.write(bytes(2**20))
    time.sleep(seconds)
    return size

def first_draws():
    return torch.rand(3).tolist(), sorted(m for m in sys.modules if "stand_in" in m)

def named(name):
    import ctypes
    ctypes.CDLL(None).prctl(15, name.encode(), 0, 0, 0)  # PR_SET_NAME: how the grader finds it

def daemon(name="bc-daemon"):
    """A process outside the worker's session and process group (a double fork)."""
    read, write = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            named(name)
            os.write(write, str(os.getpid()).encode())
            time.sleep(120)
        os._exit(0)
    return int(os.read(read, 20))

def stop_everyone():
    """SIGSTOP every process this worker can see but itself, and its parent (the zygote)."""
    import signal
    deadline = time.monotonic() + 10  # until the next test's worker, forked ahead, is there too
    while len([p for p in os.listdir("/proc") if p.isdigit()]) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    stopped = []
    for pid in [os.getppid()] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        if pid not in (0, os.getpid()):
            try:
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
            except OSError:
                pass
    return stopped

def own_descriptors():
    return sorted(int(fd) for fd in os.listdir("/proc/self/fd"))

def sigterm_is_default():
    import signal
    return signal.getsignal(signal.SIGTERM) == signal.SIG_DFL

def fork_child(name="bc-child"):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        named(name)
        os.write(write, b"1")
        time.sleep(60)
        os._exit(0)
    os.read(read, 1)
    return pid
'''


@pytest.fixture(scope="module", params=["started alone", "forked by a mother"])
def mother(request):
    """How zygotes start: on their own (`bootcamp check`), or from a warm mother (batch grading)."""
    if request.param == "started alone":
        yield None
        return
    mother = Mother()
    use_mother(mother)
    try:
        yield mother
    finally:
        use_mother(None)
        mother.close()


@pytest.fixture(scope="module")
def submission(tmp_path_factory, mother):
    folder = tmp_path_factory.mktemp("student")
    (folder / "demo.py").write_text(STUDENT)
    limits = Limits(call_timeout=2.0, memory_bytes=1536 * 2**20, output_bytes=1000)
    with Submission(folder, limits) as graded:
        yield graded


def test_a_call_returns_plain_data(submission):
    with submission.session("demo") as session:
        out = session.module.relu(torch.tensor([-1.0, 2.0]))
    assert isinstance(out, torch.Tensor)
    assert out.tolist() == [0.0, 2.0]
    assert "importing the student module" in session.output


def test_objects_stay_in_the_worker_as_handles(submission):
    with submission.session("demo") as session:
        model = session.module.make_model()
        weight, bias = model.weight, model.bias
        out = model(torch.ones(1, 3))
        same = model.train()
    assert type(model).__name__ == "Remote" and "Linear" in repr(model)
    assert torch.allclose(out, torch.ones(1, 3) @ weight.T + bias, atol=1e-6)
    assert same._handle == model._handle


def test_handles_know_where_the_students_file_defines_them(submission):
    lines = STUDENT.splitlines()
    with submission.session("demo") as session:
        assert session.module.relu._defined == (lines.index("def relu(x):") + 1, "relu")
        assert session.module.Doubler._defined == (lines.index("class Doubler(torch.nn.Module):") + 1, "Doubler")
        assert session.module.make_model()._defined is None  # torch's own Linear
        model = session.module.Doubler()
        model(torch.ones(1))
        assert model._defined == (lines.index("    def forward(self, x):") + 1, "Doubler.forward")
        assert session.checked is model
        assert session.where_checked().endswith(f'line {model._defined[0]}, in Doubler.forward')
        relu = session.module.relu
        session.run("vjp", relu, [torch.ones(2, requires_grad=True)], torch.ones(2))
        assert session.checked is relu  # handed to a trusted operation, which called it


def test_numpy_values_come_back_as_python_and_tensors(submission):
    with submission.session("demo") as session:
        scalar, array = session.module.numpy_things()
    assert scalar == 1.5 and isinstance(scalar, float)
    assert isinstance(array, torch.Tensor) and array.tolist() == [0, 1, 2]


def test_not_implemented_is_its_own_status_with_the_students_line(submission):
    with submission.session("demo") as session, pytest.raises(NotImplementedByStudent) as caught:
        session.module.todo()
    assert caught.value.status == "not implemented"
    assert "demo.1: implement todo" in str(caught.value)
    assert 'demo.py", line 11, in todo' in caught.value.traceback


def test_an_exception_names_its_type_and_call(submission):
    with submission.session("demo") as session, pytest.raises(StudentException) as caught:
        session.module.divide(1, 0)
    assert caught.value.exc_type == "ZeroDivisionError"
    assert caught.value.status == "error"
    assert caught.value.call == "divide(1, 0)"


def test_sys_exit_inside_a_call_is_an_error_and_the_worker_lives_on(submission):
    with submission.session("demo") as session:
        with pytest.raises(StudentException, match=r"exit\(0\) was called"):
            session.module.leave(0)
        assert session.module.relu(torch.tensor([1.0])).item() == 1.0


def test_os_exit_kills_only_that_worker(submission):
    with submission.session("demo") as session, pytest.raises(WorkerDied, match="exited with code 0"):
        session.module.hard_exit()
    with submission.session("demo") as session:
        assert session.module.relu(torch.tensor([3.0])).item() == 3.0


def test_an_endless_loop_times_out(submission):
    started = time.monotonic()
    with submission.session("demo") as session, pytest.raises(WorkerTimeout):
        session.module.spin()
    assert time.monotonic() - started < 10


def test_memory_blowup_is_stopped_by_the_resident_memory_cap(submission):
    with submission.session("demo", timeout=60) as session, pytest.raises(MemoryExceeded, match="1.5 GiB"):
        session.module.hog()


def test_files_in_the_private_temp_folders_count_as_memory(tmp_path):
    """A tmpfs page is memory in no process's resident set; the cap counts it all the same."""
    (tmp_path / "demo.py").write_text(STUDENT)
    limits = Limits(call_timeout=20, memory_bytes=1536 * 2**20, temp_bytes=2 * 2**30)
    with Submission(tmp_path, limits) as graded:
        with graded.session("demo") as session:
            assert session.module.keep_in_temp(2**20, 0.2) == 2**20  # a megabyte: under the cap
        with graded.session("demo") as session, pytest.raises(MemoryExceeded, match="1.5 GiB"):
            session.module.keep_in_temp(int(1.3 * 2**30), 2.0)


def test_the_cap_is_on_resident_memory_not_address_space(submission):
    """CUDA reserves huge address ranges it never touches; an RLIMIT_AS cap would break it."""
    with submission.session("demo") as session:
        assert session.module.reserve(64) == (64, True)


def test_output_is_capped(submission):
    with submission.session("demo") as session:
        assert session.module.shout(100_000) == 100_000
    assert len(session.output.encode()) < 1200
    assert "more bytes of output dropped" in session.output


def test_monkeypatching_in_one_worker_does_not_reach_the_next_or_the_grader(submission):
    with submission.session("demo") as session:
        assert session.module.patch_globals() is True
    with submission.session("demo") as session:
        assert session.module.allclose_works() is False
    assert not torch.allclose(torch.zeros(1), torch.ones(1))


def test_leftover_processes_are_killed(submission):
    name = _unique_name()
    with submission.session("demo") as session:
        session.module.fork_child(name)  # the child would sleep for 60 s
        assert named_alive(name)
    deadline = time.monotonic() + 30  # killed at once; a loaded machine may take a moment to show it
    while named_alive(name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not named_alive(name)


def test_a_daemon_left_by_one_test_is_killed_before_the_next(submission):
    """Orphans are adopted by process 1 of the submission's PID namespace, which kills them at
    the next fork request: no test's leftovers run beside the next test."""
    name = _unique_name()
    with submission.session("demo") as session:
        session.module.daemon(name)  # a double fork into its own session
    with submission.session("demo") as session:
        deadline = time.monotonic() + 30
        while named_alive(name) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not named_alive(name)


_names = iter(range(10**6))


def _unique_name() -> str:
    """A process name (at most 15 characters) no other test uses. The worker's own process ids
    mean nothing here: it lives in a PID namespace of its own."""
    return f"bc{os.getpid() % 10**6}-{next(_names)}"


def named_alive(name: str) -> bool:
    """Whether a process called `name` runs anywhere on this machine (zombies do not count)."""
    for process in psutil.process_iter(["name", "status"]):
        if process.info["name"] == name and process.info["status"] != psutil.STATUS_ZOMBIE:
            return True
    return False


def test_the_budget_ends_all_further_calls(tmp_path):
    (tmp_path / "demo.py").write_text(STUDENT)
    with Submission(tmp_path, Limits(call_timeout=5, budget=1.0)) as graded:
        with graded.session("demo") as session, pytest.raises(WorkerTimeout):
            session.module.spin()
        with pytest.raises(WorkerTimeout, match="time budget"), graded.session("demo") as session:
            session.module.relu(torch.ones(1))


def test_the_submission_folder_is_copied_not_touched(tmp_path):
    touch = "\ntry:\n    open(__file__, 'a').write('# touched')\nexcept OSError:\n    pass\n"
    (tmp_path / "demo.py").write_text(STUDENT + touch)
    with Submission(tmp_path) as graded, graded.session("demo") as session:
        session.module.relu(torch.ones(1))
    assert (tmp_path / "demo.py").read_text() == STUDENT + touch


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/proc/self/ns/mnt"),
                    reason="privilege drop and hidden folders need root on Linux")
def test_as_root_the_worker_is_unprivileged_and_cannot_read_secrets(tmp_path, mother):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "answer.txt").write_text("42")
    student = tmp_path / "student"
    student.mkdir()
    (student / "demo.py").write_text(STUDENT)
    with Submission(student, secrets=(str(secret),)) as graded:
        assert any("unprivileged" in m for m in graded.isolation)
        network = "no TCP connections (Landlock)" if graded.by_user else "no network"  # without namespaces
        assert any(network in m for m in graded.isolation)
        with graded.session("demo") as session:
            assert session.module.whoami() != 0
            with pytest.raises(StudentException, match="PermissionError|FileNotFoundError"):
                session.module.read(str(secret / "answer.txt"))
            with pytest.raises(StudentException, match="PermissionError|FileNotFoundError"):
                session.module.read(str(student / "demo.py"))


def test_the_worker_has_the_small_environment_and_its_own_folder(submission, monkeypatch):
    monkeypatch.setenv("BOOTCAMP_GRADER_TOKEN", "secret")  # after the zygote (and any mother) started
    with submission.session("demo") as session:
        environment, folder = session.module.environment()
    assert "BOOTCAMP_GRADER_TOKEN" not in environment
    assert environment["HOME"] == folder == str(submission.zygote()._config["workdir"])
    assert environment["PYTHONDONTWRITEBYTECODE"] == "1"


def test_the_spares_rehearsal_leaves_nothing_a_student_could_see(submission):
    """A spare rehearses with the grader's stand-in module while it waits (`worker.rehearsal`);
    each test still starts from the zygote's state: the same random numbers, no stand-in."""
    draws = []
    for pause in (0.0, 0.3):  # the next request arrives mid-rehearsal, or after it
        time.sleep(pause)
        with submission.session("demo") as session:
            draws.append(session.module.first_draws())
    assert draws[0] == draws[1]
    assert draws[0][1] == []


@pytest.mark.parametrize("steps", [1, 2, 99])
def test_a_rehearsal_stopped_anywhere_leaves_the_random_generator_and_modules_as_they_were(steps):
    import sys

    from grader.sandbox.worker import rehearsal

    before = torch.random.get_rng_state().clone(), set(sys.modules)
    rehearsing = rehearsal()
    for _, _ in zip(range(steps), rehearsing):
        pass
    rehearsing.close()  # what dropping it does, as a spare does when its request comes
    assert torch.equal(torch.random.get_rng_state(), before[0])
    assert not [m for m in set(sys.modules) - before[1] if "stand_in" in m]


def test_descendants_are_read_from_the_subtree_as_psutil_finds_them():
    from grader.sandbox.processes import descendants

    child = psutil.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"])
    try:
        deadline = time.monotonic() + 10
        while len(psutil.Process(child.pid).children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        found = descendants(os.getpid())
        assert child.pid in found and len(found) >= 3
        by_psutil = psutil.Process(child.pid).children(recursive=True)
        assert sorted(descendants(child.pid)) == sorted(p.pid for p in by_psutil)
    finally:
        for process in psutil.Process(child.pid).children(recursive=True) + [child]:
            process.kill()
        child.wait()


def test_a_zygote_from_the_mother_is_its_child_and_starts_warm(submission, mother):
    if mother is None:
        pytest.skip("only for zygotes forked by a mother")
    zygote = psutil.Process(submission.zygote().pid)
    assert zygote.ppid() == mother.process.pid
    assert zygote.pid != os.getpid() and zygote.ppid() != os.getpid()


def test_without_a_live_mother_zygotes_start_on_their_own(tmp_path):
    (tmp_path / "demo.py").write_text(STUDENT)
    mother = Mother()
    mother.close()  # gone before it was ever asked
    use_mother(mother)
    try:
        with Submission(tmp_path) as graded, graded.session("demo") as session:
            assert session.module.relu(torch.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]
            assert psutil.Process(graded.zygote().pid).ppid() == os.getpid()
    finally:
        use_mother(None)


@pytest.mark.parametrize("started", ["forked by a mother", "started alone"])
def test_a_killed_grader_leaves_nothing_of_the_submission_behind(tmp_path, started):
    """A grading process killed mid-test (as a batch's timeout does): the zygote, the worker and
    a daemon the student's code double-forked out of the worker's session all go."""
    (tmp_path / "demo.py").write_text(STUDENT)
    mother = Mother() if started == "forked by a mother" else None
    use_mother(mother)
    name = _unique_name()
    read_end, write_end = os.pipe()
    try:
        grader = os.fork()
        if grader == 0:
            os.close(read_end)
            with Submission(tmp_path, Limits(call_timeout=60)) as graded, graded.session("demo") as session:
                session.module.daemon(name)
                zygote = psutil.Process(graded.zygote().pid)
                pids = [zygote.pid, *(child.pid for child in zygote.children(recursive=True))]
                os.write(write_end, " ".join(map(str, pids)).encode())
                session.module.spin()
            os._exit(0)
        os.close(write_end)
        pids = [int(pid) for pid in os.read(read_end, 1000).split()]
        assert len(set(pids)) >= 3, "the zygote, its worker and the daemon"
        assert named_alive(name)
        processes = [psutil.Process(pid) for pid in set(pids)]
        os.kill(grader, signal.SIGKILL)
        os.waitpid(grader, 0)
        _, alive = psutil.wait_procs(processes, timeout=10)
        assert not alive and not named_alive(name)
        if mother is not None:
            assert mother.process.poll() is None, "the mother serves the next grading process"
    finally:
        os.close(read_end)
        use_mother(None)
        if mother is not None:
            mother.close()


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/proc/self/ns/mnt"),
                    reason="workers run as other users only when the grader runs as root on Linux")
@pytest.mark.parametrize("same_slot", [False, True], ids=["other slots", "one slot"])
def test_workers_of_two_submissions_can_neither_signal_nor_read_each_other(tmp_path, same_slot):
    """Separate users, and below them separate PID namespaces and views: even two submissions
    of one user (one slot) can neither name each other's processes nor see each other's files."""
    folders = [tmp_path / "alice", tmp_path / "bob"]
    for folder in folders:
        folder.mkdir()
        (folder / "demo.py").write_text(STUDENT)
    uids = [slot_uid(0), slot_uid(0 if same_slot else 1)]
    with (Submission(folders[0], Limits(uid=uids[0])) as alice, Submission(folders[1], Limits(uid=uids[1])) as bob,
          alice.session("demo") as alices, bob.session("demo") as bobs):
        assert alices.module.whoami() == uids[0] and bobs.module.whoami() == uids[1]
        alices_copy = str(alice._student_dir / "demo.py")
        with pytest.raises(StudentException, match="ProcessLookupError|PermissionError"):
            bobs.module.poke(alices.worker.pid)
        with pytest.raises(StudentException, match="FileNotFoundError|PermissionError"):
            bobs.module.read(alices_copy)
        with pytest.raises(StudentException, match="PermissionError|OSError"):  # nobody changes their own copy
            alices.module.write(alices_copy)


def test_a_reply_that_is_not_plain_data_is_refused():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    payload = wire.encode({"ok": Evil()})
    with pytest.raises(wire.WireError, match="not plain data"):
        wire.decode(payload)


def test_handles_are_refused_when_there_is_no_table():
    with pytest.raises(wire.Unencodable):
        wire.to_data(object())
    assert wire.to_data({"a": (torch.ones(2, requires_grad=True) * 2,)})["a"][0].requires_grad is False


def test_a_definition_from_the_worker_is_checked_before_it_is_shown():
    from grader.sandbox.proxy import _definition

    assert _definition([12, "Net.forward"]) == (12, "Net.forward")
    for bad in ([0, "f"], [10**5000, "f"], ["12", "f"], [True, "f"], [12, 'f"\nFile "x'], [12, "a" * 200], "12 f",
                None):
        assert _definition(bad) is None


def test_every_worker_starts_with_only_its_own_descriptors_and_default_signals(submission):
    seen = []
    for _ in range(3):  # the first worker is forked on request, the next ones ahead as spares
        with submission.session("demo") as session:
            seen.append((session.module.own_descriptors(), session.module.sigterm_is_default()))
    assert seen[0] == seen[1] == seen[2], seen
    assert len(seen[0][0]) <= 5 and seen[0][1]  # 0, 1, 2, its connection (and listdir's own)


def test_a_worker_that_stops_every_process_it_sees_stalls_only_itself_and_pays_for_it(tmp_path, mother):
    """The zygote, the grader and the mother are outside the worker's PID namespace: SIGSTOP
    reaches only the submission's own next worker (forked ahead), and the wait it causes is
    charged to the submission's budget."""
    (tmp_path / "demo.py").write_text(STUDENT)
    (tmp_path / "other.py").write_text(STUDENT)
    with Submission(tmp_path, Limits(call_timeout=2.0)) as graded:
        zygote = psutil.Process(graded.zygote().pid)
        with graded.session("demo") as session:
            stopped = session.module.stop_everyone()
        assert 0 not in stopped and len(stopped) <= 2, stopped  # its namespace's process 1 and its spare
        assert zygote.status() != psutil.STATUS_STOPPED
        if any("signals and traces only its own processes" in m for m in graded.isolation):  # Landlock scope
            assert stopped == [], "a worker signalled a process outside its own"
            with graded.session("demo") as session:
                assert session.module.relu(torch.tensor([-1.0])).tolist() == [0.0]
            return
        before = graded.spent
        with pytest.raises(WorkerTimeout), graded.session("demo") as session:
            pass  # the stopped spare never answers the import
        assert graded.spent - before >= 2.0, "the stall is charged to the submission"
        with pytest.raises(WorkerTimeout), graded.session("demo") as session:
            pass  # an import that timed out once fails every later session of its module at once
        with graded.session("other") as session:  # the same zygote serves the next test
            assert session.module.relu(torch.tensor([-1.0])).tolist() == [0.0]
        assert graded.zygote().pid == zygote.pid


def test_workers_never_run_as_root():
    with pytest.raises(ValueError, match="unprivileged"):
        Limits(uid=0)


def _anonymous_kib(pid: int) -> tuple[int, int]:
    """(anonymous memory, of which in huge pages) of a process, in KiB."""
    fields = dict(line.split(":") for line in open(f"/proc/{pid}/smaps_rollup").read().splitlines()[1:])
    return int(fields["Anonymous"].split()[0]), int(fields["AnonHugePages"].split()[0])


def test_a_batch_mother_moves_its_heap_into_huge_pages_while_idle():
    """A mother that forks zygote after zygote spends its idle time on huge pages (`prefork`),
    so every fork of it copies far fewer page-table entries."""
    setting = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not setting.exists() or "[never]" in setting.read_text():
        pytest.skip("transparent huge pages are off on this machine")
    mother = Mother(batch=True)
    try:
        deadline = time.monotonic() + 60
        anonymous, huge = 0, 0
        while time.monotonic() < deadline and not (anonymous > 200 * 1024 and huge > 0.6 * anonymous):
            time.sleep(0.2)
            anonymous, huge = _anonymous_kib(mother.process.pid)
        assert huge > 0.6 * anonymous, (anonymous, huge)
    finally:
        mother.close()
