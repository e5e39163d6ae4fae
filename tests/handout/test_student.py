"""`bootcamp release --student`: the student edition, its leak scan, and `bootcamp check` in it from a fresh venv."""

from __future__ import annotations

import ast
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus import materialise, mutations
from student_venv import bare_env, install, make_venv

from grader import paths, recorded, registry
from grader.check import collect
from grader.cli import cli
from grader.handout import scan, student
from grader.handout.filling import filled
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
    return reach, reach.add("grader.practices.tiny.test_tiny", SUITE)


def test_a_public_test_that_reaches_the_reference_is_found_through_its_helpers(tiny_reach):
    reach, module = tiny_reach
    found = {t.name: (t.visibility, t.needs_reference, t.points) for t in graded_tests(module, reach)}
    assert found == {"test_relu_matches_torch": ("public", False, 1.0),
                     "test_relu_matches_the_reference": ("public", True, 2.0),
                     "test_relu_secretly": ("hidden", False, 3.0)}


def test_the_reference_is_reached_through_the_suites_helpers_not_the_judge_or_the_drawing():
    reach = Reach(paths.PACKAGE_DIR)
    assert reach.reaches("grader.testing.reference")
    assert reach.reaches("grader.practices.dcgan.judging.untrained_samples")
    assert not reach.reaches("grader.judging.digit_judge.judge")  # the grader's own classifier
    assert reach.reaches("grader.judging.drawing.exported_files")  # the zip builder exports the reference ...
    assert not reach.reaches("grader.judging.drawing.draw_source")  # ... the choice reads solutions/ where it is
    assert not reach.reaches("grader.judging.drawing.trained_model")  # ... and draws without it too
    assert not reach.reaches("grader.testing.assert_close")
    assert not reach.reaches("grader.operations.steps.reference_gan_step")  # the grader's own, no solution read


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


def test_a_filled_template_keeps_its_comment_columns_aligned():
    template = ("Run `x {p}`  # not in a block\n"
                "```bash\n"
                "bootcamp list                  # every task\n"
                "bootcamp check {p}             # one practice: {p}\n"
                "bootcamp check --path {p}.py   # a file\n"
                "bootcamp check {p} --json r.json\n"
                "bootcamp data list    # another column, no placeholder\n"
                "```\n"
                "license = { text = \"MIT\" }\n")
    assert filled(template, {"p": "abcdefgh"}) == (
        "Run `x abcdefgh`  # not in a block\n"
        "```bash\n"
        "bootcamp list                       # every task\n"
        "bootcamp check abcdefgh             # one practice: abcdefgh\n"
        "bootcamp check --path abcdefgh.py   # a file\n"
        "bootcamp check abcdefgh --json r.json\n"
        "bootcamp data list    # another column, no placeholder\n"
        "```\n"
        "license = { text = \"MIT\" }\n")
    assert filled(template, {"p": "ab"}).split("\n")[2:5] == [
        "bootcamp list                 # every task",
        "bootcamp check ab             # one practice: ab",
        "bootcamp check --path ab.py   # a file"]


def test_the_edition_s_templates_name_the_course_s_own_practices():
    """Every placeholder of the templates is filled; the README's examples name the first practice
    and the practices that train, and its aligned comments stay aligned."""
    practices = registry.names()
    values = student.template_values(practices)
    for template in student.TEMPLATES.iterdir():
        text = filled(template.read_text(), values)
        assert not re.findall(r"\{[a-z_]+\}", text), template.name
    readme = filled((student.TEMPLATES / "README.md").read_text(), values)
    assert f"bootcamp check {practices[0]} -v" in readme and f"`{practices[0]}.py`, ..." in readme
    assert f"bootcamp train {registry.trainable()[0]} " in readme
    assert ", ".join(f"`{name}`" for name in registry.trainable()) in readme
    commented = [line for line in readme.splitlines()
                 if line.startswith(("   bootcamp list", "   bootcamp check")) and "  #" in line]
    assert len(commented) == 6 and len({line.index("#") for line in commented}) == 1, commented


# ---------------------------------------------------------------- the real edition, installed (slow)


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    root = tmp_path_factory.mktemp("edition")
    result = CliRunner().invoke(cli, ["release", "--student", str(root / "student"),
                                      "--student-zip", str(root / "student.zip")])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def installed(edition, tmp_path_factory) -> Path:
    """The `bin/` folder of a fresh venv with the edition installed from its own pyproject
    (`student_venv`: torch and the other dependencies come from this interpreter's packages)."""
    bin_dir = make_venv(tmp_path_factory.mktemp("student-venv") / "venv")
    install(bin_dir, edition / "student")
    return bin_dir


@pytest.mark.slow
def test_the_edition_holds_no_secret_and_no_instructor_part(edition):
    secrets = scan.secrets()
    assert scan.scan_tree(edition / "student", secrets) == []
    assert scan.scan_tree(edition / "student.zip", secrets) == []
    folder = edition / "student"
    assert not (folder / "solutions").exists() and not (folder / "grader" / "gradebook").exists()
    assert not (folder / "grader" / "validate.py").exists() and not (folder / "grader" / "handout").exists()
    assert "STUDENT = True" in (folder / "grader" / "edition.py").read_text()
    assert {p.relative_to(folder).as_posix() for p in folder.rglob("*.pt")} == {
        f"grader/practices/{p}/{recorded.FILE}" for p in ("mnist_cnn", "cgan", "dcgan", "pix2pix")  # recorded values
    } | {"grader/judging/digit_judge.pt"}  # the grader's own digit judge, for cgan.8 and dcgan.10
    assert not list(folder.rglob("*.ipynb"))
    assert {p.name for p in (folder / "assignments").glob("*.py")} == {f"{p}.py" for p in student.released_practices()}
    for practice in student.released_practices():  # every public test runs there: only hidden ones are withheld
        withheld = json.loads((folder / "grader" / "practices" / practice / "withheld.json").read_text())
        assert {kind for kinds in withheld.values() for kind in kinds} <= {"hidden"}, (practice, withheld)
    with zipfile.ZipFile(edition / "student.zip") as archive:
        names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        assert sorted(archive.namelist()) == sorted(f"{student.ZIP_FOLDER}/{n}" for n in names)


@pytest.mark.slow
def test_the_edition_installs_and_checks_in_a_fresh_venv(edition, installed, tmp_path):
    folder, bin_dir = edition / "student", installed
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
    assert "compared with the reference solution" not in skeletons.stdout  # every public test runs here

    solutions = tmp_path / "mine"
    shutil.copytree(paths.SOLUTIONS_DIR, solutions)
    # every public test, the convergence checks included: the grader's judge and the fresh-worker draw
    graded = subprocess.run([bootcamp, "check", "--path", str(solutions), "--device", "cpu",
                             "--json", str(tmp_path / "sol.json")], capture_output=True, text=True, env=env, cwd=folder)
    report = json.loads((tmp_path / "sol.json").read_text())
    assert graded.returncode == 0, graded.stdout
    assert report["score"] == report["max_score"] > 0 and not report["errors"]
    assert {p["name"] for p in report["practices"]} == set(student.released_practices())


@pytest.mark.slow
def test_every_public_test_gives_the_instructors_verdict_in_the_edition(edition, installed, tmp_path):
    """Both graders grade the same files, public tests only, each file alone as `bootcamp check`
    grades it (`tests/grade_files.py`: `run_suites` with one warm sandbox mother), the edition's
    from the venv it is installed in, the instructor's from this interpreter, at the same time:

    - the reference solution of every practice, on every public test but the convergence tests
      (deselected with -k "not convergence": the test above grades the reference on them in the
      installed edition, and `test_validate.py` in the instructor's, both at full marks);
    - every file of the mutation corpus (`tests/mutations/`), on every public test that reads a
      recorded value (`grader.recorded`): the only tests whose code differs between the editions.
      Any other test the edition keeps runs the same text in both (the student's copy of a suite
      keeps a kept test as written), so its status on the reference shows it runs there at all;
      files of a practice with no such test (basics, conv_shapes) have nothing to compare.

    Each test's status must be equal, and the edition must hold exactly the instructor's public
    tests but the convergence ones. A file whose statuses differ is graded once more on both sides
    (a timeout on a busy machine is no verdict); a real difference is deterministic and stays.
    """
    practices = student.released_practices()
    readers = recorded.tests_using_values(practices, hidden=False)
    jobs = [{"file": str(paths.SOLUTIONS_DIR / f"{p}.py"), "practice": p, "tasks": [], "select": "not convergence"}
            for p in practices]
    jobs += [{"file": str(materialise(m, tmp_path / "corpus" / m.practice / m.name)), "practice": m.practice,
              "tasks": [], "select": " or ".join(readers[m.practice])}
             for m in mutations() if m.practice in readers]
    instructor, edition_graded = _grade_on_both_sides(jobs, installed, tmp_path / "first")
    differ = [job for job in jobs if instructor[job["file"]] != edition_graded[job["file"]]]
    if differ:
        again = _grade_on_both_sides(differ, installed, tmp_path / "again")
        instructor.update(again[0])
        edition_graded.update(again[1])
    mismatches = {file: {test: (status, edition_graded[file]["tests"].get(test))
                         for test, status in result["tests"].items() if edition_graded[file]["tests"].get(test) != status}
                  | ({"errors": (result["errors"], edition_graded[file]["errors"])} if result["errors"]
                     or edition_graded[file]["errors"] else {})
                  for file, result in instructor.items() if result != edition_graded[file]}
    assert not mismatches, f"instructor's status, edition's status: {mismatches}"
    public = {t.nodeid for t in collect(practices) if t.visibility == "public" and t.category != "convergence"}
    graded = {test for job in jobs[:len(practices)] for test in edition_graded[job["file"]]["tests"]}
    assert graded == public
    for job in jobs[len(practices):]:  # each corpus file on its practice's readers of recorded values
        assert {test.split("::")[1] for test in edition_graded[job["file"]]["tests"]} >= set(readers[job["practice"]])
    statuses = {status for result in edition_graded.values() for status in result["tests"].values()}
    assert {"passed", "failed"} <= statuses  # wrong files were caught, in both


def _grade_on_both_sides(jobs: list[dict], bin_dir: Path, folder: Path) -> tuple[dict, dict]:
    """`tests/grade_files.py` on `jobs` with this interpreter and with the edition's venv, in parallel."""
    folder.mkdir()
    (folder / "jobs.json").write_text(json.dumps(jobs))
    driver = str(Path(__file__).resolve().parents[1] / "grade_files.py")
    runs = [subprocess.Popen([python, driver, str(folder / "jobs.json"), str(folder / f"{side}.json")], env=env,
                             cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for side, python, env in (("instructor", sys.executable, None),
                                      ("edition", str(bin_dir / "python"), bare_env()))]
    for run in runs:
        output, _ = run.communicate()
        assert run.returncode == 0, output[-3000:]
    return tuple(json.loads((folder / f"{side}.json").read_text()) for side in ("instructor", "edition"))
