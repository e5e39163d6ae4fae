"""What was handed in, and what may be shown: not submitted is never failed; LMS renamings;
hidden tests' details only after the date the instructor sets."""

from __future__ import annotations

import csv
from datetime import datetime, timezone

from gradebook_classes import SOLUTION, read_json, write_folder, write_zip
from test_exports import hidden_messages

from grader.gradebook.exports import export
from grader.gradebook.exports.summary import histogram_axes
from grader.gradebook.renamed import lms_name, lookalike, moodle_student
from grader.gradebook.submissions import discover, unpack

KNOWN = ["basics", "conv_shapes", "mnist_cnn"]
AFTER = datetime(2030, 1, 10, tzinfo=timezone.utc)


def test_lms_names_stand_for_their_practice():
    assert lms_name("basics (1).py", KNOWN).practice == "basics"
    assert lms_name("basics-2.py", KNOWN).copy == 2
    assert lms_name("smithjane_12345_67890_conv_shapes.py", KNOWN).practice == "conv_shapes"
    assert lms_name("smithjane_LATE_1_2_basics-1.ipynb", KNOWN).suffix == ".ipynb"
    assert all(lms_name(n, KNOWN) is None for n in ("basics.py", "homework.py", "basics_final.py", "x_1_2_y.py"))
    assert moodle_student("Jane Smith_4321_assignsubmission_file_") == ("Jane Smith_4321", "file")


def test_a_renamed_upload_is_graded_with_a_note_and_the_latest_copy_wins(tmp_path):
    write_folder(tmp_path / "ann", {"basics (1).py": "x = 1\n", "basics (2).py": "x = 2\n",
                                    "ann_1_2_conv_shapes.py": "y = 1\n"})
    found, _ = discover(tmp_path)
    unpacked = unpack(found[0], ["basics", "conv_shapes"], KNOWN)
    assert unpacked.files == {"basics.py": b"x = 2\n", "conv_shapes.py": b"y = 1\n"}
    assert "graded basics (2).py as basics.py (a copy suffix)" in unpacked.notes
    assert not any("not a practice" in note for note in unpacked.notes)


def test_the_exact_name_wins_over_a_renamed_copy(tmp_path):
    write_folder(tmp_path / "ann", {"basics.py": "x = 1\n", "basics-1.py": "x = 2\n"})
    unpacked = unpack(discover(tmp_path)[0][0], ["basics"], KNOWN)
    assert unpacked.files == {"basics.py": b"x = 1\n"}
    assert "ignored basics-1.py: basics.py is graded" in unpacked.notes


def test_a_moodle_folder_is_its_student_and_online_text_is_ignored(tmp_path):
    write_folder(tmp_path / "Jane Smith_4321_assignsubmission_file_", {"basics.py": "x = 1\n"})
    write_folder(tmp_path / "Jane Smith_4321_assignsubmission_onlinetext_", {"onlinetext.html": "<p>hi</p>"})
    found, ignored = discover(tmp_path)
    assert [f.student for f in found] == ["Jane Smith_4321"]
    assert ignored == ["Jane Smith_4321_assignsubmission_onlinetext_"]
    assert "Moodle" in unpack(found[0], ["basics"], KNOWN).notes[0]


def test_a_practice_under_another_name_is_named_in_the_note(tmp_path):
    assert lookalike(SOLUTION["conv_shapes"].encode(), ["basics", "conv_shapes"])[0] == "conv_shapes"
    assert lookalike(b"def relu(x):\n    return x\n", ["basics"]) is None  # one name is not a practice
    write_zip(tmp_path / "ann.zip", {"hw/my_basics_final.py": SOLUTION["basics"]})
    found, _ = discover(tmp_path)
    try:
        unpack(found[0], ["basics"], KNOWN)
    except Exception as error:  # nothing graded: the reason names the file
        assert "my_basics_final.py looks like basics.py" in str(error) and "rename it" in str(error)
    else:
        raise AssertionError("a submission with no practice file is rejected")


def test_a_practice_not_handed_in_is_not_submitted_everywhere(graded_class, tmp_path):
    export(graded_class.db, ["csv", "gradescope", "feedback", "summary"], tmp_path)
    with open(tmp_path / "grades.csv", newline="") as file:
        carol = {row["student"]: row for row in csv.DictReader(file)}["carol"]  # basics only
    assert carol["notes"].startswith("conv_shapes: not submitted")
    md = (tmp_path / "feedback" / "carol.md").read_text()
    conv = md[md.index("## conv_shapes"):]
    assert "Not submitted: no conv_shapes.py in the submission" in conv
    assert "not submitted |" in conv and "failed" not in conv
    results = read_json(tmp_path / "gradescope" / "carol" / "results.json")
    tests = [t for t in results["tests"] if t["number"].startswith("conv_shapes")]
    assert tests and all(t["output"].startswith("not submitted: ") for t in tests)
    assert "conv_shapes: 0 / 1 (not submitted" in results["output"]
    assert "not submitted" in (tmp_path / "summary.html").read_text()


def test_hidden_details_appear_only_after_the_date(graded_class, tmp_path):
    secrets = [m.strip().splitlines()[0] for m in hidden_messages(graded_class)]
    assert secrets
    before, after = tmp_path / "before", tmp_path / "after"
    export(graded_class.db, ["feedback", "gradescope"], before, show_hidden_after=AFTER,
           now=datetime(2030, 1, 9, tzinfo=timezone.utc))
    export(graded_class.db, ["feedback"], after, show_hidden_after=AFTER,
           now=datetime(2030, 1, 11, tzinfo=timezone.utc))
    early = "".join(p.read_text() for p in (before / "feedback").iterdir())
    late = "".join(p.read_text() for p in (after / "feedback").iterdir())
    assert not any(secret in early for secret in secrets) and "shown here after 2030-01-10" in early
    assert all(secret in late for secret in secrets) and "(hidden)" in late
    hidden = [t for p in (before / "gradescope").glob("*/results.json") for t in read_json(p)["tests"]
              if t["visibility"] not in ("visible",)]
    assert hidden and all(t["visibility"] == "after_due_date" for t in hidden)
    assert any(secret in t["output"] for t in hidden for secret in secrets)
    default = read_json(graded_class.out / "gradescope" / "bob" / "results.json")["tests"]
    assert {t["visibility"] for t in default} == {"visible", "after_published"}


def test_count_axes_are_whole_students():
    axes = histogram_axes("basics", [0.0, 1.5, 3.0], 3.0)
    assert all(float(tick).is_integer() for tick in axes.get_yticks())
