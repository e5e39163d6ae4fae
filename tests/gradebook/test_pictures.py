"""A convergence task's pictures and measures in the gradebook: recorded, capped, migrated into
an older gradebook, read back per test, and shown in the feedback (hidden ones only after the
date). The browser test (`test_pages.py`) opens the pages; the slow test here grades a
real reference submission of cgan and finds its own grid and curves on its feedback page.
"""

from __future__ import annotations

import copy
import io
import sqlite3
from datetime import datetime, timezone

import pytest
import torch
from PIL import Image

from gan_class import GAN_STUDENT, fake_attachments, gan_report, record_class
from grader import attachments
from grader.gradebook import database, view
from grader.gradebook.exports import feedback
from grader.practices.cgan import run_pictures as cgan_pictures

REFERENCE_SHARE = f"{cgan_pictures.REFERENCE['cpu']['accuracy']:.1%}"  # the reference's share, beside the bar


@pytest.fixture(scope="module")
def rendered():
    return gan_report()


@pytest.fixture
def report(rendered):
    """A fresh copy of the module's report, for a test to change."""
    return copy.deepcopy(rendered)


def test_every_convergence_helper_renders_its_pictures_within_the_caps():
    """Each test's helper, fed what the test has (noise for the samples: the worst case for the
    compression); the sizes are printed."""
    found = fake_attachments()
    sizes = {task: [(p.name, len(p.png)) for p in pictures] for task, (pictures, _) in found.items()}
    print(sizes, sum(size for entry in sizes.values() for _, size in entry))
    assert {task: [name for name, _ in entry] for task, entry in sizes.items()} == {
        "mnist_cnn.6": ["curves", "confusion", "misclassified"], "cgan.8": ["samples", "curves"],
        "dcgan.10": ["samples", "interpolation", "curves"], "pix2pix.8": ["translations", "curves"]}
    assert all(0 < size <= attachments.PICTURE_BYTES for entry in sizes.values() for _, size in entry)
    assert sum(size for entry in sizes.values() for _, size in entry) <= attachments.SUBMISSION_BYTES
    for pictures, _ in found.values():
        for picture in pictures:
            attachments.check_png(picture.png)
    measures = {task: [(m.name, m.at_least) for m in found_measures] for task, (_, found_measures) in found.items()}
    assert measures["cgan.8"] == [("samples recognised as their digit", True),
                                  ("digits recognised in half their samples", True)]
    assert measures["dcgan.10"][1] == ("Fréchet distance to held-out digits", False)
    assert all(m.reference is not None for _, found_measures in found.values() for m in found_measures)


def test_the_gradebook_keeps_each_tests_pictures_and_measures(tmp_path, report):
    db_path = record_class(tmp_path, {GAN_STUDENT: report})
    grades = view.load(db_path)
    tasks = {t.id: t for p in grades.students[0].practices for t in p.tasks}
    assert [p.name for p in tasks["cgan.8"].pictures] == ["samples", "curves"]
    assert [(p.name, p.visibility) for p in tasks["mnist_cnn.6"].pictures][-1] == ("hidden-curves", "hidden")
    original = {p["name"]: p for t in report["practices"][1]["tasks"] for test in t["tests"] for p in test["pictures"]}
    assert tasks["cgan.8"].pictures[0] == attachments.picture_from_json(original["samples"])
    accuracy = tasks["cgan.8"].measures[0]
    assert (accuracy.value, accuracy.bar, accuracy.at_least, accuracy.fmt) == (0.42, 0.6, True, ".1%")
    assert grades.students[0].notes == []


def test_a_submissions_pictures_beyond_its_budget_are_left_out_with_a_note(tmp_path, report):
    big = io.BytesIO()
    Image.fromarray((torch.rand(440, 440) * 255).to(torch.uint8).numpy(), mode="L").save(big, format="PNG")
    assert 150_000 < big.tell() <= attachments.PICTURE_BYTES
    test = report["practices"][1]["tasks"][0]["tests"][0]
    test["pictures"] = [attachments.Picture(f"noise{n}", "noise", big.getvalue()).to_json() for n in range(16)]
    db_path = record_class(tmp_path, {"heavy": report})
    db = sqlite3.connect(db_path)
    stored = sum(size for (size,) in db.execute("SELECT length(png) FROM pictures"))
    db.close()
    assert attachments.SUBMISSION_BYTES - big.tell() < stored <= attachments.SUBMISSION_BYTES
    notes = view.load(db_path).students[0].notes
    assert len(notes) == 1 and "left out" in notes[0] and "2 MiB" in notes[0]


def test_a_schema_1_gradebook_is_brought_to_schema_2_and_keeps_its_grades(tmp_path, report):
    db_path = record_class(tmp_path, {GAN_STUDENT: report})
    db = sqlite3.connect(db_path)
    db.executescript("DROP TABLE pictures; DROP TABLE measures; UPDATE meta SET value='1' WHERE key='schema';")
    db.close()
    before = view.load  # opening it migrates it
    with pytest.raises(sqlite3.OperationalError):
        sqlite3.connect(db_path).execute("SELECT * FROM pictures")
    grades = before(db_path)
    tasks = {t.id: t for p in grades.students[0].practices for t in p.tasks}
    assert tasks["cgan.8"].score == 0 and tasks["dcgan.10"].score == 5 and tasks["cgan.8"].pictures == []
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] == database.SCHEMA_VERSION == "2"
    db.close()
    record_class(tmp_path, {"later": report})  # the migrated gradebook takes pictures again
    later = view.load(db_path).students
    assert [(s.student, len(s.practices[1].tasks[0].pictures)) for s in later] == [("gan", 0), ("later", 2)]


def test_a_gradebook_of_a_newer_schema_is_refused_and_not_changed(tmp_path, report):
    db_path = record_class(tmp_path, {GAN_STUDENT: report})
    db = sqlite3.connect(db_path)
    db.execute("UPDATE meta SET value='3' WHERE key='schema'")
    db.commit()
    db.close()
    before = db_path.read_bytes()
    with pytest.raises(database.GradebookError, match="schema 3"):
        view.load(db_path)
    assert db_path.read_bytes() == before


def test_the_feedback_shows_public_pictures_and_measures_and_hidden_ones_after_the_date(tmp_path, report):
    report["practices"][1]["tasks"][0]["tests"][0]["pictures"][0]["caption"] = "<script>x()</script>"
    grades = view.load(record_class(tmp_path, {GAN_STUDENT: report}))
    student = grades.students[0]
    page = feedback.html_page(student, grades)
    assert page.count("<img ") == 2 + 2 + 3 + 3  # cgan, pix2pix, dcgan, mnist_cnn (the hidden one left out)
    assert "&lt;script&gt;x()&lt;/script&gt;" in page and "<script>" not in page
    assert "HIDDEN" not in page and "seed 1" not in page
    assert "<td class=\"n\">42.0% ✗</td><td class=\"n\">at least 60.0%</td><td class=\"n\">" + REFERENCE_SHARE + "</td>" in page
    after = feedback.Hidden(datetime(2020, 1, 1, tzinfo=timezone.utc))
    shown = feedback.html_page(student, grades, after)
    assert shown.count("<img ") == 11 and "HIDDEN" in shown and "held-out accuracy (seed 1)" in shown
    text = feedback.markdown(student, grades)
    assert "| samples recognised as their digit | 42.0% ✗ | at least 60.0% | " + REFERENCE_SHARE + " |" in text
    assert "are in the HTML page" in text and "seed 1" not in text


def test_the_summary_charts_each_measure_across_the_class(tmp_path, report):
    from grader.gradebook.exports import summary

    other = gan_report("other")
    grades = view.load(record_class(tmp_path, {GAN_STUDENT: report, "other": other}))
    found = summary.measures(grades)
    assert found["cgan.8: samples recognised as their digit"] == [0.42, 0.42]
    assert "mnist_cnn.6: held-out accuracy (seed 1)" in found


@pytest.mark.slow
def test_a_reference_cgan_graded_into_a_gradebook_shows_its_own_grid_and_curves(tmp_path):
    """End to end, with training: the reference cgan, graded by `bootcamp grade` (its convergence
    test only), keeps its grid, curves and numbers in the gradebook and on its feedback page."""
    import base64
    import re

    from gradebook_classes import invoke, write_folder
    from grader import paths
    from grader.gradebook.cli import grade_command

    write_folder(tmp_path / "submissions" / "ref", {"cgan.py": (paths.SOLUTIONS_DIR / "cgan.py").read_text()})
    result = invoke(grade_command, [str(tmp_path / "submissions"), "--out", str(tmp_path / "out"), "-p", "cgan",
                                    "--select", "generated_digits_are_recognised", "-j", "1", "--export", "feedback"])
    assert result.exit_code == 0, result.output
    grades = view.load(tmp_path / "out" / database.FILE_NAME)
    task = next(t for t in grades.students[0].practices[0].tasks if t.id == "cgan.8")
    assert task.status == "passed", [t.message for t in task.tests]
    assert [p.name for p in task.pictures] == ["samples", "curves"]
    accuracy, digits = task.measures
    assert accuracy.met and digits.met and accuracy.reference is not None
    print({p.name: len(p.png) for p in task.pictures}, accuracy.value, digits.value)
    page = (tmp_path / "out" / "feedback" / "ref.html").read_text()
    shown = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', page)
    assert [alt for alt, _ in shown][:1] == ["what your trained weights draw: row k asks for digit k (ten samples each)"]
    for _, data in shown:
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            image.load()
            assert image.width > 300
