"""`bootcamp release --student`: the student edition, its leak scan, and `bootcamp check` in it from a fresh venv."""

from __future__ import annotations

import ast
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from student_venv import bare_env, install, make_venv

from grader import paths
from grader.cli import cli
from grader.handout import scan, student
from grader.handout.strip import Reach, graded_tests, strip_module

SUITE = '''"""A tiny suite."""
from __future__ import annotations

import torch
from hypothesis import given

from grader.testing import assert_close, reference, task

HINT = "relu is max(0, x)."
SECRET_HINT = "a hint only the hidden test uses"


def _expected(x):
    return reference("tiny").relu(x)


def _only_hidden(x):
    return x * 2


@task("tiny.1", points=1, category="values", visibility="public")
def test_relu_matches_torch(student):
    assert_close(student.relu(torch.ones(2)), torch.relu(torch.ones(2)), call="relu", hint=HINT)


@task("tiny.1", points=2, category="values", visibility="public")
def test_relu_matches_the_reference(student):
    assert_close(student.relu(torch.ones(2)), _expected(torch.ones(2)), call="relu")


@task("tiny.1", points=3, category="values", visibility="hidden")
@given(seed=None)
def test_relu_secretly(student):
    assert_close(student.relu(torch.ones(2)), _only_hidden(torch.ones(2)), call="relu", hint=SECRET_HINT)
'''


@pytest.fixture(scope="module")
def tiny_reach():
    reach = Reach(paths.PACKAGE_DIR)
    return reach, reach.add("grader.suites.tiny.test_tiny", SUITE)


def test_a_public_test_that_reaches_the_reference_is_found_through_its_helpers(tiny_reach):
    reach, module = tiny_reach
    found = {t.name: (t.visibility, t.needs_reference, t.points) for t in graded_tests(module, reach)}
    assert found == {"test_relu_matches_torch": ("public", False, 1.0),
                     "test_relu_matches_the_reference": ("public", True, 2.0),
                     "test_relu_secretly": ("hidden", False, 3.0)}


def test_the_reference_is_reached_through_the_suites_helpers_not_the_judge_or_the_drawing():
    reach = Reach(paths.PACKAGE_DIR)
    assert reach.reaches("grader.testing.reference")
    assert reach.reaches("grader.suites.dcgan.judging.untrained_samples")
    assert not reach.reaches("grader.training.judge.judge")  # the grader's own classifier
    assert reach.reaches("grader.training.drawing.draw_source")  # reads solutions/ where it exists ...
    assert not reach.reaches("grader.training.drawing.trained_model")  # ... and draws without it too
    assert not reach.reaches("grader.testing.assert_close")
    assert not reach.reaches("grader.training.gan.reference_train_step")  # the grader's own, no solution read


def test_stripping_removes_the_tests_and_what_only_they_used():
    text = strip_module(SUITE, {"test_relu_matches_the_reference", "test_relu_secretly"})
    ast.parse(text)
    assert "def test_relu_matches_torch" in text and 'HINT = "relu is max(0, x)."' in text
    for gone in ("test_relu_secretly", "test_relu_matches_the_reference", "_only_hidden", "_expected",
                 "SECRET_HINT", "given", "reference"):
        assert gone not in text, gone
    assert "from grader.testing import assert_close, task" in text


def test_the_scan_finds_secrets_in_text_binary_and_zips_in_zips(tmp_path):
    patterns = {b"test_relu_secretly": "a hidden test"}
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("deep/notes.txt", "see test_relu_secretly")
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as archive:  # deflated: not visible as plain bytes
        archive.writestr("inner.zip", inner.getvalue())
    (tmp_path / "clean.py").write_text("x = 1\n")
    (tmp_path / "cache.pyc").write_bytes(b"\x00\x01test_relu_secretly\xff")
    (tmp_path / "bundle.zip").write_bytes(outer.getvalue())
    findings = scan.scan_tree(tmp_path, patterns)
    assert sorted(f.split(":")[0] for f in findings) == [f"{tmp_path.name}/bundle.zip!inner.zip!deep/notes.txt",
                                                        f"{tmp_path.name}/cache.pyc"]


def test_the_secrets_cover_markers_hidden_names_and_reference_lines():
    secrets = scan.secrets()
    assert b"BEGIN SOLUTION" in secrets
    assert b"test_tanh_is_stable_for_large_inputs" in secrets  # a hidden basics test
    assert b"test_relu_matches_torch" not in secrets  # a public one
    lines = [s for s, what in secrets.items() if "reference solution" in what]
    assert len(lines) > 20 and all(len(line) >= scan.MIN_LINE for line in lines)


def test_a_built_edition_that_differs_is_stale(tmp_path):
    files = {"grader/edition.py": b"STUDENT = True\n", "assignments/tiny.py": b"x = 1\n"}
    target = tmp_path / "student"
    student.write(target, files)
    assert student.stale(target, files) == []
    (target / "assignments" / "tiny.py").write_text("x = 2\n")
    (target / "extra.py").write_text("")
    (target / ".venv" / "bin").mkdir(parents=True)
    (target / ".venv" / "bin" / "python").write_text("")
    assert student.stale(target, files) == ["assignments/tiny.py", "extra.py"]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine.txt").write_text("keep me")
    with pytest.raises(Exception, match="not a student edition"):
        student.write(tmp_path / "other", files)
    assert (tmp_path / "other" / "mine.txt").read_text() == "keep me"


def test_release_check_fails_for_a_folder_that_is_no_student_edition(tmp_path):
    result = CliRunner().invoke(cli, ["release", "--check", "--student", str(tmp_path)])
    assert result.exit_code == 1 and "no student edition here" in result.output


# ---------------------------------------------------------------- the real edition, installed (slow)


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    root = tmp_path_factory.mktemp("edition")
    result = CliRunner().invoke(cli, ["release", "--student", str(root / "student"),
                                      "--student-zip", str(root / "student.zip")])
    assert result.exit_code == 0, result.output
    return root


@pytest.mark.slow
def test_the_edition_holds_no_secret_and_no_instructor_part(edition):
    secrets = scan.secrets()
    assert scan.scan_tree(edition / "student", secrets) == []
    assert scan.scan_tree(edition / "student.zip", secrets) == []
    folder = edition / "student"
    assert not (folder / "solutions").exists() and not (folder / "grader" / "gradebook").exists()
    assert not (folder / "grader" / "validate.py").exists() and not (folder / "grader" / "handout").exists()
    assert "STUDENT = True" in (folder / "grader" / "edition.py").read_text()
    assert not list(folder.rglob("*.pt")) and not list(folder.rglob("*.ipynb"))
    assert {p.name for p in (folder / "assignments").glob("*.py")} == {f"{p}.py" for p in student.released_practices()}
    withheld = json.loads((folder / "grader" / "suites" / "mnist_cnn" / "withheld.json").read_text())
    assert withheld["mnist_cnn.1"]["reference"]["tests"] >= 1  # its public tests compare with the reference
    with zipfile.ZipFile(edition / "student.zip") as archive:
        names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        assert sorted(archive.namelist()) == sorted(f"{student.ZIP_FOLDER}/{n}" for n in names)


@pytest.mark.slow
def test_the_edition_installs_and_checks_in_a_fresh_venv(edition, tmp_path):
    folder = edition / "student"
    bin_dir = make_venv(tmp_path / "venv")
    install(bin_dir, folder)
    env = bare_env()
    where = subprocess.run([str(bin_dir / "python"), "-c", "import grader; print(grader.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert where.stdout.strip() == str(folder / "grader" / "__init__.py")
    bootcamp = str(bin_dir / "bootcamp")

    help_text = subprocess.run([bootcamp, "--help"], capture_output=True, text=True, env=env).stdout
    commands = help_text.split("Commands:")[1].split()
    assert {"check", "list", "train", "data"} <= set(commands)
    assert not {"grade", "gradebook", "validate", "release", "export"} & set(commands)
    assert "solutions" not in subprocess.run([bootcamp, "train", "--help"], capture_output=True, text=True,
                                             env=env).stdout

    skeletons = subprocess.run([bootcamp, "check", "basics", "mnist_cnn", "--json", str(tmp_path / "skel.json")],
                               capture_output=True, text=True, env=env, cwd=folder)
    assert skeletons.returncode == 1, skeletons.stdout + skeletons.stderr
    report = json.loads((tmp_path / "skel.json").read_text())
    statuses = {t["status"] for p in report["practices"] for task in p["tasks"] for t in task["tests"]}
    assert statuses == {"not implemented"} and report["max_score"] > 0
    assert re.search(r"basics\.1: (\d+) more tests graded by the instructor: \1 hidden \(\d+ points\)", skeletons.stdout)
    assert "compared with the reference solution" in skeletons.stdout

    solutions = tmp_path / "mine"
    shutil.copytree(paths.SOLUTIONS_DIR, solutions)
    graded = subprocess.run([bootcamp, "check", "--path", str(solutions), "-k", "not convergence and not reaches",
                             "--json", str(tmp_path / "sol.json")], capture_output=True, text=True, env=env, cwd=folder)
    report = json.loads((tmp_path / "sol.json").read_text())
    assert graded.returncode == 0, graded.stdout
    assert report["score"] == report["max_score"] > 0 and not report["errors"]
    assert {p["name"] for p in report["practices"]} == set(student.released_practices())
