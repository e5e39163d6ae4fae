"""Expected values as data (`grader.recorded`): keys, data files, what the release finds, equal verdicts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from corpus import materialise, mutation

from grader import paths, recorded, testing
from grader.check import run_suites
from grader.handout.strip import Reach, graded_tests
from grader.sandbox.mother import Mother, use_mother
from grader.practices.mnist_cnn import reference_model

SUITE = '''"""A tiny suite whose public test reads the reference only through a recorded value."""
from grader.recorded import recorded
from grader.testing import assert_close, reference, task


@recorded
def reference_relu(values: list) -> object:
    return reference("tiny").relu(values)


@task("tiny.1", points=1, category="values", visibility="public")
def test_relu_matches_the_recorded_reference(student):
    assert_close(student.relu([1.0]), reference_relu([1.0]), call="relu")


@task("tiny.1", points=1, category="values", visibility="public")
def test_relu_matches_the_live_reference(student):
    assert_close(student.relu([1.0]), reference("tiny").relu([1.0]), call="relu")
'''


@pytest.fixture
def no_solutions(tmp_path, monkeypatch):
    """This edition as one without `solutions/`: values come from `tmp_path/data/<practice>/expected.pt`."""
    monkeypatch.setattr(paths, "SOLUTIONS_DIR", tmp_path / "no-solutions")
    monkeypatch.setattr(testing, "_references", {})  # no reference module imported earlier may answer
    monkeypatch.setattr(recorded, "DATA_DIR", tmp_path / "data")
    recorded._read.cache_clear()
    yield tmp_path / "data"
    recorded._read.cache_clear()


def write_book(folder: Path, practice: str, values: dict, fingerprint: str | None = None) -> Path:
    path = folder / practice / recorded.FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(recorded.data_file(practice, values, fingerprint or recorded.installed_fingerprint()))
    return path


def test_arguments_are_literals_in_one_order_and_values_plain_data():
    assert recorded._literal({"b": 1, "a": (2,)}, "kwargs") == "{'a': (2,), 'b': 1}"
    with pytest.raises(TypeError, match="must be a literal"):
        recorded._literal(torch.zeros(1), "x")
    with pytest.raises(TypeError, match="plain data"):
        recorded.plain({"model": torch.nn.Linear(1, 1)}, "key")
    with pytest.raises(ValueError, match="grader/practices/<practice>/"):
        recorded.recorded(write_book)  # not in a suite folder


def test_recorded_values_are_read_by_key_where_the_reference_is_not(no_solutions):
    live = torch.randn(2, 10)
    key = "reference_model.reference_logits(seed=0, batch=2, data_seed=1, train=False)"
    write_book(no_solutions, "mnist_cnn", {key: live, "reference_model.reference_parameter_count()": 7})
    got = reference_model.reference_logits(0, 2, data_seed=1, train=False)
    assert torch.equal(got, live) and reference_model.reference_parameter_count() == 7
    got.zero_()  # a test that changes what it got changes no later test's value
    assert torch.equal(reference_model.reference_logits(0, 2, data_seed=1, train=False), live)
    with pytest.raises(recorded.RecordedError, match="no recorded value reference_model.reference_weights"):
        reference_model.reference_weights(seed=9)


@pytest.mark.parametrize("damage", ["stale", "missing", "pickled object", "not a file of ours"])
def test_a_stale_missing_or_foreign_file_is_one_line_that_blames_the_grader(no_solutions, damage):
    path = no_solutions / "mnist_cnn" / recorded.FILE
    if damage == "stale":
        write_book(no_solutions, "mnist_cnn", {}, fingerprint="0" * 64)
    elif damage == "pickled object":
        path.parent.mkdir(parents=True)
        torch.save({"format": recorded.FORMAT, "values": {"k": torch.nn.Linear(1, 1)}}, path)
    elif damage == "not a file of ours":
        path.parent.mkdir(parents=True)
        torch.save({"values": {}}, path)
    with pytest.raises(recorded.RecordedError) as error:
        reference_model.reference_parameter_count()
    message = str(error.value)
    assert "\n" not in message and "not of your code" in message and str(path) in message
    assert {"stale": "stale", "missing": "missing", "pickled object": "cannot be read",
            "not a file of ours": "not format"}[damage] in message


def test_reach_stops_at_recorded_values_and_finds_the_tests_that_use_them():
    reach = Reach(paths.PACKAGE_DIR)
    module = reach.add("grader.practices.tiny.test_tiny", SUITE)
    found = {t.name: (t.needs_reference, sorted(t.recorded)) for t in graded_tests(module, reach)}
    assert found == {"test_relu_matches_the_recorded_reference":
                     (False, ["grader.practices.tiny.test_tiny.reference_relu"]),
                     "test_relu_matches_the_live_reference": (True, [])}
    tests = recorded.tests_using_values(["mnist_cnn", "basics"], hidden=False)
    assert "test_same_logits_as_the_reference_in_eval_mode" in tests["mnist_cnn"]
    assert "test_same_logits_as_the_reference_in_train_mode" not in tests["mnist_cnn"]  # hidden
    assert "basics" not in tests  # its one user of recorded values is hidden
    assert "test_gradient_descent_fits_least_squares" in recorded.tests_using_values(["basics"], hidden=True)["basics"]


@pytest.fixture(scope="module")
def mother():
    use_mother(Mother(batch=True))
    yield
    use_mother(None)


def statuses(folder: Path, select: str) -> dict[str, str]:
    report = run_suites(folder, ["mnist_cnn"], device="cpu", select=select, weak_sandbox=True)
    return {t.nodeid: t.status for p in report.practices for task in p.tasks for t in task.tests}


def test_recorded_and_live_values_give_the_same_verdicts(mother, tmp_path, monkeypatch):
    """mnist_cnn's tests that read recorded values, public and hidden, on the reference and two
    wrong models (one with other layers, one with other batch-norm settings): the same statuses
    with the reference present and with only the values the release records."""
    names = recorded.tests_using_values(["mnist_cnn"], hidden=True)["mnist_cnn"]
    select = " or ".join(names)
    books = recorded.record(["mnist_cnn"], hidden=True)
    files = {}
    for name in ("reference", "no_batch_norm_in_second_block", "batch_norm_keras_momentum"):
        files[name] = tmp_path / name
        files[name].mkdir()
        if name == "reference":
            shutil.copyfile(paths.SOLUTIONS_DIR / "mnist_cnn.py", files[name] / "mnist_cnn.py")
        else:
            materialise(mutation("mnist_cnn", name), files[name])
    live = {name: statuses(folder, select) for name, folder in files.items()}

    monkeypatch.setattr(paths, "SOLUTIONS_DIR", tmp_path / "no-solutions")
    monkeypatch.setattr(testing, "_references", {})
    monkeypatch.setattr(recorded, "DATA_DIR", tmp_path / "data")
    write_book(tmp_path / "data", "mnist_cnn", books["mnist_cnn"])
    from_data = {name: statuses(folder, select) for name, folder in files.items()}

    assert from_data == live
    assert len(live["reference"]) >= len(names) and set(live["reference"].values()) == {"passed"}
    for wrong in ("no_batch_norm_in_second_block", "batch_norm_keras_momentum"):
        assert "failed" in live[wrong].values(), wrong  # the comparison is not between two passes
