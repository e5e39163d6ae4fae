"""`bootcamp release --gradescope`: the zip, and its `run_autograder` on a simulated /autograder tree.

Each kind of upload is graded by the zip's own `run_autograder`, with the zip's grader installed
into a fresh venv at `<root>/venv` as `setup.sh` would (reusing this interpreter's torch), and every
results.json is validated against Gradescope's documented format (SCHEMA, from
https://gradescope-autograders.readthedocs.io/en/latest/specs/).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import jsonschema
import pytest
import torch
from student_venv import bare_env, install, make_venv

from grader import paths, recorded
from grader.handout.gradescope import write_autograder

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "score": {"type": "number"},
                "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]},
                "name": {"type": "string"},
                "name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
                "number": {"type": "string"},
                "output": {"type": "string"},
                "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY,
                "extra_data": {"type": "object"},
            },
            "required": ["name", "max_score", "score", "status", "visibility", "output", "number"],
        }},
        "leaderboard": {"type": "array"},
    },
    "anyOf": [{"required": ["score"]}, {"required": ["tests"]}],
    "required": ["execution_time", "output", "visibility", "stdout_visibility", "tests"],
}

# a few public and hidden basics tests keep each run short
SELECT = "test_relu_matches or tanh_is_stable or mse_loss_matches or sgd_step_moves"
SOLUTION = (paths.SOLUTIONS_DIR / "basics.py").read_text()
HERE = Path(__file__).resolve().parents[1]  # tests/, where the helper scripts are


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gradescope")
    write_autograder(root / "autograder.zip", ["basics"], select=SELECT)
    tree = root / "autograder"
    unpack(root, tree)
    return tree


def unpack(root: Path, tree: Path) -> None:
    """The zip at `root`/autograder.zip unpacked as Gradescope does, into `tree`/source, and
    installed into `tree`/venv as its setup.sh would."""
    with zipfile.ZipFile(root / "autograder.zip") as archive:
        archive.extractall(tree / "source")
        for info in archive.infolist():
            os.chmod(tree / "source" / info.filename, info.external_attr >> 16)
    install(make_venv(tree / "venv"), tree / "source")


def run(tree: Path, files: dict[str, bytes], *, container: bool = False) -> dict:
    """Upload `files` as the submission, run `run_autograder`, return the validated results.json.
    `container`: as Gradescope runs it, as root under Docker's defaults (`docker_defaults`)."""
    submission, results = tree / "submission", tree / "results" / "results.json"
    subprocess.run(["rm", "-rf", str(submission), str(results)], check=True)
    for name, content in files.items():
        (submission / name).parent.mkdir(parents=True, exist_ok=True)
        (submission / name).write_bytes(content)
    submission.mkdir(exist_ok=True)
    command = [str(tree / "source" / "run_autograder")]
    if container:
        reachable = [arg for path in (sys.prefix, sys.base_prefix, str(tree)) for arg in ("--reachable", path)]
        command = [sys.executable, str(HERE / "docker_defaults.py"), *reachable, *command]
    done = subprocess.run(command, capture_output=True, text=True,
                          env=bare_env(BOOTCAMP_AUTOGRADER_ROOT=str(tree)), cwd=tree, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(results.read_text())
    jsonschema.validate(found, SCHEMA)
    return found


def by_name(found: dict) -> dict[str, dict]:
    return {test["name"].split()[-1]: test for test in found["tests"]}


def test_the_zip_has_what_gradescope_expects_at_its_root(autograder):
    source = autograder / "source"
    for name in ("setup.sh", "run_autograder"):
        assert os.access(source / name, os.X_OK), name
    setup = (source / "setup.sh").read_text()
    assert "download.pytorch.org/whl/cpu torch==" in setup and "pip install -e /autograder/source" in setup
    assert json.loads((source / "autograder.json").read_text())["practices"] == ["basics"]
    assert not (source / "solutions").exists()  # nothing in the zip needs the reference at run time
    assert "visibility=\"hidden\"" in (source / "grader" / "practices" / "basics" / "test_activations.py").read_text()
    values = torch.load(source / "grader" / "practices" / "basics" / recorded.FILE, weights_only=True)
    assert list(values["values"]) == ["test_linear.reference_descent(steps=60, lr=0.3)"]  # a hidden test's value
    assert not (source / "grader" / "practices" / "mnist_cnn" / recorded.FILE).exists()  # not graded by this zip


@pytest.mark.slow
def test_full_marks_from_a_nested_zip(autograder):
    upload = io.BytesIO()
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr("homework/week1/basics.py", SOLUTION)
    found = run(autograder, {"handin.zip": upload.getvalue()})
    tests = by_name(found)
    assert found["score"] == sum(t["max_score"] for t in found["tests"]) > 0
    assert tests["test_tanh_is_stable_for_large_inputs"]["visibility"] == "after_due_date"
    assert tests["test_relu_matches_torch"]["visibility"] == "visible"


@pytest.mark.slow
def test_partial_marks_explain_the_public_failure_and_hide_the_hidden_one(autograder):
    broken = SOLUTION + "\n\ndef relu(x):\n    return x * 1.0\n\n\ndef tanh(x):\n    return x\n"
    found = run(autograder, {"basics.py": broken.encode()})
    tests = by_name(found)
    assert 0 < found["score"] < sum(t["max_score"] for t in found["tests"])
    assert tests["test_relu_matches_torch"]["status"] == "failed" and "relu" in tests["test_relu_matches_torch"]["output"]
    hidden = tests["test_tanh_is_stable_for_large_inputs"]
    assert hidden["status"] == "failed" and "hidden" in hidden["output"] and "expected" not in hidden["output"]
    assert tests["test_mse_loss_matches_torch"]["status"] == "passed"


@pytest.mark.slow
def test_a_syntax_error_and_an_empty_upload_score_zero_with_a_reason(autograder):
    found = run(autograder, {"basics.py": b"import torch\n\ndef relu(x):\n    return x +\n"})
    assert found["score"] == 0 and "line 4" in found["output"]
    empty = run(autograder, {})
    assert empty["score"] == 0 and empty["tests"] == [] and "no practice file" in empty["output"]


@pytest.mark.slow
def test_a_hostile_upload_cannot_read_the_hidden_suite_or_write_its_own_results(autograder):
    results = autograder / "results" / "results.json"
    hostile = f'''
import pathlib
for target in [{str(results)!r}, "/autograder/results/results.json"]:
    try:
        pathlib.Path(target).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(target).write_text('{{"score": 999, "tests": []}}')
    except OSError:
        pass
try:
    LEAK = pathlib.Path({str(autograder / "source" / "grader" / "practices" / "basics" / "test_activations.py")!r}).read_text()
except OSError as error:
    LEAK = "unreadable: " + type(error).__name__


def relu(x):
    raise ValueError(LEAK[:3000])
'''
    found = run(autograder, {"basics.py": (SOLUTION + hostile).encode()})
    assert found["score"] < sum(t["max_score"] for t in found["tests"]) and found["score"] != 999
    relu = by_name(found)["test_relu_matches_torch"]
    assert relu["status"] == "failed"
    if os.geteuid() == 0:  # as on Gradescope: the workers run as another user, the hidden suites covered
        assert "unreadable" in relu["output"] and 'visibility=\\"hidden\\"' not in json.dumps(found)


HOSTILE = """
import os, pathlib, tempfile
SOURCE = pathlib.Path({source!r})
TARGETS = [SOURCE / "grader" / "practices" / "basics" / "expected.pt",
           SOURCE / "grader" / "practices" / "basics" / "test_activations.py",
           SOURCE / "autograder.json", SOURCE.parent / "submission" / "basics.py", pathlib.Path({other!r})]
LEAKS = []
for target in TARGETS:
    try:
        LEAKS.append(str(target) + ": " + repr(target.read_bytes()[:200]))
    except OSError:
        pass
for folder in ("/tmp", "/dev/shm", "/var/tmp", tempfile.gettempdir()):
    try:
        pathlib.Path(folder, "bootcamp-upload-left").write_text("left behind")
    except OSError:
        pass
try:
    pathlib.Path({results!r}).write_text('{{"score": 999, "tests": []}}')
except OSError:
    pass


def relu(x):
    if LEAKS:
        raise ValueError("LEAKED " + " | ".join(LEAKS))
    return x.clamp(min=0)
"""


@pytest.fixture(scope="module")
def container_tree():
    """An unpacked autograder in a folder every user may enter (as /autograder is), not under
    pytest's 0700 temp folder: its workers run as another user."""
    root = Path(tempfile.mkdtemp(prefix="bootcamp-gradescope-"))
    root.chmod(0o755)
    try:
        write_autograder(root / "autograder.zip", ["basics"], select=SELECT)
        unpack(root, root / "autograder")
        yield root / "autograder"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs run_autograder as root")
def test_in_a_container_with_dockers_defaults_a_hostile_upload_reads_nothing_and_leaves_nothing(container_tree):
    """As Gradescope runs it: root, no namespaces, Docker's capabilities. The upload tries to read
    the recorded values of the hidden tests, a hidden suite, the configuration, its own upload and
    another checkout's reference solution, to
    leave files in the temp folders and to write its own results; the reference's other
    functions score as they should."""
    results = container_tree / "results" / "results.json"
    hostile = HOSTILE.format(source=str(container_tree / "source"), other=str(paths.SOLUTIONS_DIR / "basics.py"),
                             results=str(results))
    found = run(container_tree, {"basics.py": (SOLUTION + hostile).encode()}, container=True)
    tests = by_name(found)
    relu = tests["test_relu_matches_torch"]
    assert relu["status"] == "passed", relu["output"]  # nothing leaked, so relu is the reference's
    assert "LEAKED" not in json.dumps(found)
    assert found["score"] == sum(t["max_score"] for t in found["tests"]) > 0  # its own results.json was not kept
    source = container_tree / "source"
    for closed in (source / "grader" / "practices", source / "autograder.json",
                   container_tree / "submission"):
        assert not closed.stat().st_mode & 0o007, f"{closed} is open to other users"
    for folder in ("/tmp", "/dev/shm", "/var/tmp"):
        assert not Path(folder, "bootcamp-upload-left").exists()
