"""Adding a practice is adding its folder and its solution: the toy practice `linreg`, installed
into a copy of the course, is listed, checked, validated, released, batch-graded and trained by the
copy's own `bootcamp`, and nothing else in the copy changes."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from course_copy import changed_files, file_hashes

HERE = Path(__file__).resolve().parent
PRACTICE, SOLUTION = HERE / "linreg", HERE / "solutions" / "linreg.py"  # as conftest installs them
PUBLIC_TESTS = ("test_predict_matches_the_reference", "test_fit_reaches_the_noise_floor_on_held_out_data")
HIDDEN_TESTS = ("test_predict_any_sizes_with_a_number_for_b", "test_fit_takes_the_steps_of_gradient_descent_from_zero")
MAX_POINTS = {"linreg.1": 2.0, "linreg.2": 3.0}
PUBLIC_POINTS = {"linreg.1": 1.0, "linreg.2": 2.0}
TODO = re.compile(r"^\s*# TODO (?P<task>[a-z0-9_]+\.\d+): ")  # the line above each solution region
# what adding linreg may change in the course: its folder, its solution, and what `bootcamp release` writes
ADDED = ("grader/practices/linreg/", "solutions/linreg.py", "assignments/linreg.py", "assignments/.released.json")


def _output(result) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def _report(path: Path) -> dict[str, dict]:
    """task id -> its entry of a `bootcamp check --json` report, for practice linreg."""
    practice = next(p for p in json.loads(path.read_text())["practices"] if p["name"] == "linreg")
    return {task["id"]: task for task in practice["tasks"]}


def test_the_solutions_todo_lines_name_the_tasks_of_tasks_py():
    namespace: dict = {}
    exec((PRACTICE / "tasks.py").read_text(), namespace)
    todos = [match["task"] for line in SOLUTION.read_text().splitlines() if (match := TODO.match(line))]
    assert todos == sorted(namespace["TASKS"]) == ["linreg.1", "linreg.2"]
    assert SOLUTION.read_text().count("### BEGIN SOLUTION") == SOLUTION.read_text().count("### END SOLUTION") == 2


@pytest.mark.slow
def test_the_copy_runs_its_own_grader_which_finds_linreg(linreg_course):
    found = linreg_course.course.python(
        "-c", "import grader, grader.paths, grader.registry; print(grader.__file__); "
              "print(grader.paths.REPO_ROOT); print(grader.registry.names()); print(grader.registry.trainable())")
    assert found.returncode == 0, _output(found)
    file, root, names, trainable = found.stdout.splitlines()
    assert Path(file) == linreg_course.root / "grader" / "__init__.py"
    assert Path(root) == linreg_course.root
    assert names == "['basics', 'linreg']" and trainable == "['linreg']"
    assert "assignments/linreg.py" in linreg_course.release


@pytest.mark.slow
def test_release_wrote_the_skeleton_with_a_stub_per_task(linreg_course):
    skeleton = (linreg_course.root / "assignments" / "linreg.py").read_text()
    assert 'raise NotImplementedError("linreg.1: implement predict in assignments/linreg.py")' in skeleton
    assert 'raise NotImplementedError("linreg.2: implement fit in assignments/linreg.py")' in skeleton
    assert "BEGIN SOLUTION" not in skeleton and "x @ w + b" not in skeleton


@pytest.mark.slow
def test_list_shows_linregs_tasks_with_their_public_and_hidden_tests(linreg_course):
    listed = linreg_course.course.bootcamp("list", "linreg")
    assert listed.returncode == 0, _output(listed)
    rows = {cells[0]: cells[1:] for line in listed.stdout.splitlines()
            if len(cells := [c.strip() for c in re.split(r"[│┃|]", line)[1:-1]]) == 5}
    assert rows["linreg.1"] == ["predict: y_hat = x w + b", "2", "1", "1"]
    assert rows["linreg.2"] == ["fit: gradient descent on the mean squared error, from zero", "3", "1", "1"]


@pytest.mark.slow
def test_check_gives_the_skeleton_not_implemented_and_the_solution_full_marks(linreg_course, tmp_path):
    course = linreg_course.course
    skeleton = course.bootcamp("check", "linreg", "--json", str(tmp_path / "skeleton.json"))
    assert skeleton.returncode == 1, _output(skeleton)
    tasks = _report(tmp_path / "skeleton.json")
    assert {task_id: task["status"] for task_id, task in tasks.items()} == {
        "linreg.1": "not implemented", "linreg.2": "not implemented"}
    assert {test["status"] for task in tasks.values() for test in task["tests"]} == {"not implemented"}
    assert sum(task["score"] for task in tasks.values()) == 0

    solution = course.bootcamp("check", "linreg", "--path", "solutions", "--json", str(tmp_path / "solution.json"))
    assert solution.returncode == 0, _output(solution)
    tasks = _report(tmp_path / "solution.json")
    assert {task_id: task["score"] for task_id, task in tasks.items()} == MAX_POINTS
    assert {test["name"].split("[")[0] for task in tasks.values() for test in task["tests"]} == {
        *PUBLIC_TESTS, *HIDDEN_TESTS}


@pytest.mark.slow
def test_validate_passes_with_linreg_in_the_course(linreg_course):
    validated = linreg_course.course.bootcamp("validate", "--device", "cpu")
    assert validated.returncode == 0, _output(validated)
    assert "solutions score 100%" in validated.stdout


@pytest.mark.slow
def test_the_student_edition_has_linregs_public_tests_only_and_grades_them(linreg_course, tmp_path):
    course, edition = linreg_course.course, tmp_path / "edition"
    released = course.bootcamp("release", "--student", str(edition))
    assert released.returncode == 0, _output(released)
    assert (edition / "assignments" / "linreg.py").read_bytes() == (
        linreg_course.root / "assignments" / "linreg.py").read_bytes()
    suite = (edition / "grader" / "practices" / "linreg" / "test_linreg.py").read_text()
    assert all(f"def {name}(" in suite for name in PUBLIC_TESTS)
    for path in edition.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(name.encode() in content for name in HIDDEN_TESTS), path
    assert not (edition / "solutions").exists()
    withheld = json.loads((edition / "grader" / "practices" / "linreg" / "withheld.json").read_text())
    assert {task: counts["hidden"]["tests"] for task, counts in withheld.items()} == {"linreg.1": 1, "linreg.2": 1}

    solutions = tmp_path / "reference"
    solutions.mkdir()
    shutil.copy2(linreg_course.root / "solutions" / "linreg.py", solutions / "linreg.py")
    imported = course.python("-c", "import grader, grader.edition; print(grader.__file__, grader.edition.STUDENT)",
                             root=edition)
    assert imported.stdout.split() == [str(edition / "grader" / "__init__.py"), "True"], _output(imported)
    checked = course.bootcamp("check", "linreg", "--path", str(solutions), "--json", str(tmp_path / "report.json"),
                              root=edition)
    assert checked.returncode == 0, _output(checked)
    tasks = _report(tmp_path / "report.json")
    assert {task_id: task["score"] for task_id, task in tasks.items()} == PUBLIC_POINTS
    assert {test["name"] for task in tasks.values() for test in task["tests"]} == set(PUBLIC_TESTS)
    assert {test["status"] for task in tasks.values() for test in task["tests"]} == {"passed"}


@pytest.mark.slow
def test_grade_gives_the_reference_full_marks_and_the_skeleton_zero(linreg_course, tmp_path):
    course, submissions = linreg_course.course, tmp_path / "submissions"
    for student, folder in (("reference", "solutions"), ("skeleton", "assignments")):
        (submissions / student).mkdir(parents=True)
        shutil.copy2(linreg_course.root / folder / "linreg.py", submissions / student / "linreg.py")
    graded = course.bootcamp("grade", str(submissions), "-p", "linreg", "-o", str(tmp_path / "grading"), "-j", "1",
                             "--device", "cpu")
    assert graded.returncode == 0, _output(graded)
    with open(tmp_path / "grading" / "grades.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"reference", "skeleton"}
    assert float(rows["reference"]["linreg"]) == float(rows["reference"]["max_total"]) == sum(MAX_POINTS.values())
    assert float(rows["skeleton"]["linreg"]) == 0 and rows["skeleton"]["status"] == "graded"


@pytest.mark.slow
def test_train_fits_the_reference_and_writes_a_run_folder(linreg_course, tmp_path):
    trained = linreg_course.course.bootcamp("train", "linreg", "--path", "solutions", "--epochs", "2",
                                            "--out", str(tmp_path / "runs"))
    assert trained.returncode == 0, _output(trained)
    [folder] = (tmp_path / "runs" / "linreg").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["practice"] == "linreg" and metrics["interrupted"] is False
    assert metrics["options"]["epochs"] == 2 and [epoch["steps"] for epoch in metrics["epochs"]] == [20, 40]
    assert metrics["epochs"][-1]["held_out_mse"] < metrics["epochs"][0]["held_out_mse"]
    assert (folder / "checkpoint.pt").is_file() and not list(folder.glob(".*"))


@pytest.mark.slow
def test_nothing_else_in_the_course_changed(linreg_course):
    """Run last in this module: after every command above, only linreg's files differ."""
    changed = changed_files(linreg_course.before, file_hashes(linreg_course.root))
    assert changed, "adding linreg changed nothing: the copy was not the course the commands ran"
    assert {name for name in changed if not name.startswith(ADDED)} == set()
    assert {"solutions/linreg.py", "assignments/linreg.py", "grader/practices/linreg/tasks.py"} <= changed
