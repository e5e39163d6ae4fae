"""The exports of a graded class: grades.csv, Gradescope, feedback, nbgrader (read back), summary."""

from __future__ import annotations

import base64
import csv
import re

import pytest
from gradebook_classes import invoke, read_json

from grader.gradebook import view
from grader.gradebook.cli import export_command
from grader.gradebook.exports import ExportError, export, safe_name


@pytest.fixture(scope="module")
def grades(graded_class):
    return {s.student: s for s in view.load(graded_class.db).students}


def hidden_messages(graded_class) -> list[str]:
    rows = graded_class.query(  # the hidden tests' own messages (not the reasons a practice was not graded)
        "SELECT t.message FROM tests t JOIN practices p ON p.run_id=t.run_id AND p.student=t.student "
        "AND p.practice=substr(t.task, 1, instr(t.task, '.') - 1) "
        "WHERE t.visibility='hidden' AND t.status!='passed' AND p.status='graded'")
    return [row["message"] for row in rows if len(row["message"]) > 20]


def test_grades_csv_has_one_row_per_student_with_late_penalty(graded_class, grades):
    with open(graded_class.out / "grades.csv", newline="") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    assert set(rows) == set(graded_class.graded) | set(graded_class.hostile)
    alice = rows["alice"]
    assert alice["status"] == "graded" and alice["days_late"] == "0"
    assert float(alice["total"]) == float(alice["max_total"]) == float(alice["final"])
    assert float(alice["basics"]) + float(alice["conv_shapes"]) == float(alice["total"])
    carol = rows["carol"]  # 36 hours late: two started days, 10% each
    assert (carol["days_late"], carol["penalty_percent"]) == ("2", "20")
    assert float(carol["final"]) == pytest.approx(0.8 * float(carol["total"]))
    assert rows["trudy"]["status"] == "rejected" and "not a readable .zip" in rows["trudy"]["reason"]
    assert "homework3.py" in rows["frank"]["notes"]


def test_gradescope_results_follow_the_spec(graded_class, grades):
    for student in grades:
        results = read_json(graded_class.out / "gradescope" / safe_name(student) / "results.json")
        assert {"score", "output", "tests", "visibility", "stdout_visibility"} <= set(results)
        for test in results["tests"]:
            assert {"name", "score", "max_score", "status", "visibility", "output"} <= set(test)
            assert test["status"] in ("passed", "failed")
            assert test["visibility"] in ("visible", "after_published")
            assert 0 <= test["score"] <= test["max_score"]
    carol = read_json(graded_class.out / "gradescope" / "carol" / "results.json")
    assert carol["score"] == pytest.approx(grades["carol"].final)  # after the late penalty
    assert carol["score"] < sum(t["score"] for t in carol["tests"])
    assert "late" in carol["output"]
    visibilities = {t["name"].split()[-1]: t["visibility"] for t in carol["tests"]}
    assert visibilities["test_relu_matches_torch"] == "visible"
    assert visibilities["test_tanh_is_stable_for_large_inputs"] == "after_published"
    trudy = read_json(graded_class.out / "gradescope" / "trudy" / "results.json")
    assert trudy["score"] == 0 and trudy["tests"] == [] and "not a readable .zip" in trudy["output"]


def test_gradescope_never_shows_hidden_messages(graded_class):
    bob = read_json(graded_class.out / "gradescope" / "bob" / "results.json")
    hidden = [t for t in bob["tests"] if t["visibility"] == "after_published"]
    assert hidden and all("hidden" in t["output"] for t in hidden)
    public = [t for t in bob["tests"] if t["visibility"] == "visible"]
    assert all("not implemented" in t["output"] or "NotImplementedError" in t["output"] or "implement" in t["output"]
               for t in public)


def test_feedback_shows_public_failures_and_only_names_hidden_tests(graded_class):
    folder = graded_class.out / "feedback"
    bob_md, bob_html = (folder / "bob.md").read_text(), (folder / "bob.html").read_text()
    assert "test_relu_matches_torch" in bob_md and "implement relu" in bob_md  # the public message, in full
    assert "### Hidden tests" in bob_md and "test_tanh_is_stable_for_large_inputs" in bob_md
    assert "hidden test <code>test_tanh_is_stable_for_large_inputs</code>" in bob_html and "implement relu" in bob_html
    secrets = hidden_messages(graded_class)
    assert secrets, "the class should have failed hidden tests with messages"
    for path in folder.iterdir():
        text = path.read_text()
        for message in secrets:
            assert message.strip().splitlines()[0] not in text, path.name
    carol = (folder / "carol.md").read_text()
    assert "2 day(s) late" in carol and "Late policy" in carol
    erin = (folder / "erin.md").read_text()
    assert "Not graded: basics.py, line 4: syntax error" in erin
    assert "not a readable .zip" in (folder / "trudy.md").read_text()


def test_feedback_html_escapes_what_students_control(graded_class):
    for path in (graded_class.out / "feedback").glob("*.html"):
        text = path.read_text()
        assert text.startswith("<!DOCTYPE html>")
        assert "<script" not in text
    assert "ren\\xe9" in (graded_class.out / "grades.csv").read_text()


def test_nbgrader_gradebook_reads_back_with_nbgrader(graded_class, grades):
    from nbgrader.api import Gradebook

    from grader.notebook_source import grade_id

    with Gradebook(f"sqlite:///{graded_class.out / 'nbgrader' / 'gradebook.db'}") as gradebook:
        assignment = gradebook.find_assignment("bootcamp")
        assert sorted(nb.name for nb in assignment.notebooks) == ["basics", "conv_shapes"]
        assert assignment.duedate is not None
        assert sorted(s.id for s in gradebook.students) == sorted(grades)
        for student, expected in grades.items():
            submission = gradebook.find_submission("bootcamp", student)
            assert submission.score == pytest.approx(expected.score), student
            for practice in expected.practices:
                for task in practice.tasks:
                    grade = gradebook.find_grade(grade_id([task.id]), practice.name, "bootcamp", student)
                    assert grade.auto_score == pytest.approx(task.score)
                    assert grade.max_score == pytest.approx(task.max_score)
                    assert not grade.needs_manual_grade
        carol = gradebook.find_submission("bootcamp", "carol")
        assert carol.late_submission_penalty == pytest.approx(0.2 * grades["carol"].score)
        assert gradebook.find_submission("bootcamp", "alice").late_submission_penalty == 0


def test_nbgrader_export_updates_a_course_gradebook_in_place(graded_class, grades, tmp_path):
    from nbgrader.api import Gradebook

    course = tmp_path / "course" / "gradebook.db"
    export(graded_class.db, ["nbgrader"], tmp_path, nbgrader_db=course, assignment="practices")
    with Gradebook(f"sqlite:///{course}") as gradebook:  # an instructor's manual grade, then a re-export
        grade = gradebook.find_grade("basics-1", "basics", "practices", "bob")
        grade.manual_score = 1.5
        gradebook.db.commit()
    export(graded_class.db, ["nbgrader"], tmp_path, nbgrader_db=course, assignment="practices")
    with Gradebook(f"sqlite:///{course}") as gradebook:
        grade = gradebook.find_grade("basics-1", "basics", "practices", "bob")
        assert grade.manual_score == 1.5 and grade.auto_score == 0
        assert gradebook.find_submission("practices", "alice").score == pytest.approx(grades["alice"].score)


def test_summary_page_has_histograms_and_pass_rates(graded_class):
    page = (graded_class.out / "summary.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 4  # basics, conv_shapes, the total; the pass rates
    assert all(base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n") for image in images)
    assert "Tasks: who passed" in page and "basics.1" in page
    assert '<a href="feedback/alice.html">alice</a>' in page
    assert "Not graded" in page and "trudy" in page and "<h2>Late</h2>" in page


def test_export_command_rewrites_with_another_late_policy(graded_class, tmp_path):
    result = invoke(export_command, ["csv", "summary", "--out", str(tmp_path), "--db", str(graded_class.db),
                                     "--deadline", "2029-12-31T00:00:00+00:00", "--late-penalty", "50"])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "grades.csv", newline="") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    assert rows["alice"]["days_late"] == "1" and rows["alice"]["penalty_percent"] == "50"
    assert rows["carol"]["penalty_percent"] == "100" and float(rows["carol"]["final"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv", "summary.html"]


def test_export_of_an_empty_or_missing_gradebook_is_one_line(tmp_path):
    result = invoke(export_command, ["all", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no such gradebook" in result.output
    assert len(result.output.strip().splitlines()) == 1
    from grader.gradebook import database

    database.connect(tmp_path / "empty.sqlite").close()
    with pytest.raises(ExportError, match="no grades yet"):
        export(tmp_path / "empty.sqlite", ["csv"], tmp_path)
