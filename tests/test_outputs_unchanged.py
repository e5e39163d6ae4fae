"""The grader's outputs are those of the golden files in tests/golden/: the `bootcamp check` reports
of the skeletons and of the reference, the student edition, and the exports of a small gradebook.

The golden files were first made before the grader was reorganised into one folder per practice
(f6cc529) and remade once after it, with the intended differences listed in tests/golden/README.md;
these tests show that each change keeps every output. What they hold and how they are normalised: tests/golden/README.md. After an intended
change of an output, regenerate them with `python tests/golden/make.py` and commit the diff.

Numbers compare within a tolerance where a machine's floating point may differ (the recorded
values' sums, `make.value_digest`); everything else compares exactly.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest

from grader import registry

GOLDEN = Path(__file__).resolve().parent / "golden"
_spec = importlib.util.spec_from_file_location("golden_make", GOLDEN / "make.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)

REGENERATE = "if the change is intended, regenerate with `python tests/golden/make.py` and commit the diff"
DIGEST_TOLERANCE = 1e-4  # of a recorded float tensor's sum |x|, or of a recorded float
EXACT_TOLERANCE = 1e-9  # any other number (points, scores)
SHOWN = 60  # differences, and lines of the unified diff, shown in a failure


def differences(golden: Any, now: Any, where: str = "") -> list[str]:
    """Where `now` differs from `golden`, one line each: `where: golden ..., now ...`."""
    if isinstance(golden, dict) and isinstance(now, dict):
        if "tensor" in golden and "sum_abs" in golden and golden.keys() == now.keys():
            return _tensor_differences(golden, now, where)
        if golden.keys() == {"float"} == now.keys():
            return [] if _close(golden["float"], now["float"], DIGEST_TOLERANCE) else [
                f"{where}: golden {golden['float']!r}, now {now['float']!r}"]
        found = [f"{where}/{key}: only in the golden file" for key in golden if key not in now]
        found += [f"{where}/{key}: new, not in the golden file" for key in now if key not in golden]
        for key in golden:
            if key in now:
                found += differences(golden[key], now[key], f"{where}/{key}")
        return found
    if isinstance(golden, list) and isinstance(now, list):
        if len(golden) != len(now):
            return [f"{where}: golden has {len(golden)} items, now {len(now)}"]
        return [line for index, (g, n) in enumerate(zip(golden, now))
                for line in differences(g, n, f"{where}[{_label(g, index)}]")]
    numbers = (int, float)
    if isinstance(golden, numbers) and isinstance(now, numbers) and not isinstance(golden, bool) \
            and not isinstance(now, bool):
        return [] if _close(golden, now, EXACT_TOLERANCE) else [f"{where}: golden {golden!r}, now {now!r}"]
    if isinstance(golden, str) and isinstance(now, str) and golden != now:
        return [f"{where}: {_first_difference(golden, now)}"]
    return [] if golden == now else [f"{where}: golden {golden!r}, now {now!r}"]


def _label(item: Any, index: int) -> str:
    """How a list item is named in a difference: its node id, id or name, else its index."""
    if isinstance(item, dict):
        for key in ("nodeid", "id", "name"):
            if isinstance(item.get(key), str):
                return item[key]
    return str(index)


def _first_difference(golden: str, now: str, context: int = 60) -> str:
    """Two texts around where they first differ: `golden '...x...', now '...y...'`."""
    at = next((i for i, (a, b) in enumerate(zip(golden, now)) if a != b), min(len(golden), len(now)))
    start, end = max(0, at - context), at + context

    def cut(text: str) -> str:
        return ("..." if start else "") + text[start:end] + ("..." if len(text) > end else "")

    return f"golden {cut(golden)!r}, now {cut(now)!r} (from character {at})"


def _close(a: float, b: float, tolerance: float) -> bool:
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance * 1e-3)


def _tensor_differences(golden: dict, now: dict, where: str) -> list[str]:
    """A float tensor's digest: dtype and shape exactly, its sums within DIGEST_TOLERANCE of sum |x|
    (sum x and sum x cos(i) may cancel to about 0, so a relative tolerance of their own is too tight)."""
    found = [f"{where}/{key}: golden {golden[key]!r}, now {now[key]!r}" for key in ("tensor", "shape")
             if golden[key] != now[key]]
    scale = max(abs(golden["sum_abs"]), abs(now["sum_abs"]), 1e-30)
    for key in ("sum", "sum_abs", "sum_sq", "sum_cos"):
        size = scale if key != "sum_sq" else max(abs(golden[key]), 1e-30)
        if abs(golden[key] - now[key]) > DIGEST_TOLERANCE * size:
            found.append(f"{where}/{key}: golden {golden[key]!r}, now {now[key]!r}")
    return found


def assert_unchanged(name: str, now: Any) -> None:
    golden = json.loads((GOLDEN / name).read_text())
    found = differences(golden, now)
    if found:
        diff = list(difflib.unified_diff(make.dumped(golden).splitlines(), make.dumped(now).splitlines(),
                                         f"tests/golden/{name}", "now", lineterm="", n=4))
        more = lambda lines: [f"... {len(lines) - SHOWN} more"] if len(lines) > SHOWN else []  # noqa: E731
        pytest.fail(f"{len(found)} difference(s) from tests/golden/{name} ({REGENERATE}):\n"
                    + "\n".join(found[:SHOWN] + more(found))
                    + "\n\nunified diff:\n" + "\n".join(diff[:SHOWN * 4] + more(diff[:SHOWN * 4] + diff)),
                    pytrace=False)


# ------------------------------------------------------------------------------------------ the outputs


@pytest.fixture(scope="module")
def tree() -> Any:
    return make.Tree()


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["assignments", "solutions"])
def test_check_report_is_unchanged(tree, tmp_path, folder):
    assert_unchanged(f"check_{folder}.json", make.check_report(tree, tmp_path, folder))


@pytest.mark.slow
def test_student_edition_is_unchanged(tree, tmp_path):
    assert_unchanged("student_edition.json", make.student_edition(tree, tmp_path))


@pytest.mark.slow
def test_exports_are_unchanged(tree, tmp_path):
    assert_unchanged("exports.json", make.exports(tree, tmp_path))


# ------------------------------------------------------------------------------------------ the golden files


def test_the_golden_reports_cover_every_practice_and_every_verdict():
    """The reference scores full marks and the skeletons none, in every practice the registry has."""
    for folder, passed in (("solutions", True), ("assignments", False)):
        report = json.loads((GOLDEN / f"check_{folder}.json").read_text())
        assert [p["name"] for p in report["practices"]] == registry.names()
        statuses = {test["status"] for p in report["practices"] for t in p["tasks"] for test in t["tests"]}
        assert statuses == ({"passed"} if passed else {"not implemented"}), folder
        assert (report["score"] == report["max_score"] > 0) if passed else report["score"] == 0
    edition = json.loads((GOLDEN / "student_edition.json").read_text())
    assert sorted(edition["practices"]) == sorted(registry.names())
    assert all(entry["public tests"] and entry["withheld.json"] for entry in edition["practices"].values())


def test_the_golden_exports_hold_every_student_and_format():
    exports = json.loads((GOLDEN / "exports.json").read_text())
    grades = {row[0]: row for row in exports["all/grades.csv"][1:]}
    assert sorted(grades) == sorted(make.SUBMITTED_AT)
    for folder in ("gradescope", "feedback"):
        assert all(any(name.startswith(f"{stage}/{folder}/{student}") for name in exports)
                   for stage in ("all", "show-hidden-after") for student in make.SUBMITTED_AT)
    for name in ("all/summary.html", "all/nbgrader/gradebook.db", "all/similarity/index.html",
                 "all/similarity/pairs.csv"):
        assert name in exports


# ------------------------------------------------------------------------------------------ the normaliser


def test_normalised_text_writes_what_varies_the_same_way():
    places = [("/srv/course", "<root>"), ("/tmp/golden-x1", "<work>")]
    text = ('File "/srv/course/grader/suites/basics/test_losses.py", line 41, in test_mse\n'
            "graded with grader 0.1.0 (suites 9e444485904e) in /tmp/golden-x1/grading\n"
            'File "basics.py", line 146, in mse_loss')
    assert make.normalised_text(text, places) == (
        'File "<root>/grader/practices/basics/test_losses.py", line <n>, in test_mse\n'
        "graded with grader <version> (suites <hash>) in <work>/grading\n"
        'File "basics.py", line 146, in mse_loss')  # the student's own line numbers stay


def test_a_report_keeps_what_a_student_reads_and_drops_timings():
    test = {"nodeid": "basics/test_losses.py::test_mse", "name": "test_mse", "task": "basics.4", "points": 1.0,
            "category": "values", "visibility": "public", "status": "failed", "message": "expected 1.0, got 2.0",
            "output": "", "seconds": 0.25, "style": False, "pictures": [], "measures": []}
    report = {"submission": "/srv/course/solutions", "grader_version": "0.1.0", "created": "2026-01-01T00:00:00",
              "public_only": False, "device": "cpu", "seconds": 3.5, "isolation": ["uid 65537"], "errors": [],
              "score": 0.0, "max_score": 1.0,
              "practices": [{"name": "basics", "score": 0.0, "max_score": 1.0, "tasks": [
                  {"id": "basics.4", "title": "losses", "status": "failed", "score": 0.0, "max_score": 1.0,
                   "where": "", "tests": [test]}]}]}
    kept = make.normalised_report(report, [("/srv/course", "<root>")])
    assert kept["submission"] == "<root>/solutions"
    assert "seconds" not in kept and "created" not in kept and "isolation" not in kept
    (kept_test,) = kept["practices"][0]["tasks"][0]["tests"]
    assert kept_test["message"] == "expected 1.0, got 2.0" and "seconds" not in kept_test
    assert kept_test["practice"] == "basics" and kept_test["status"] == "failed"


def test_a_recorded_tensor_compares_within_float_noise_only():
    import torch

    values = torch.linspace(-1, 1, 101, dtype=torch.float32)
    golden = make.value_digest({"key": values})
    assert differences(golden, make.value_digest({"key": values.clone()})) == []
    noisy = values * (1 + 1e-7 * torch.randn(101, generator=torch.Generator().manual_seed(0)))
    assert differences(golden, make.value_digest({"key": noisy})) == []
    assert differences(golden, make.value_digest({"key": values.flip(0)}))  # same values, other order
    assert differences(golden, make.value_digest({"key": values + 1e-3}))
    assert differences(golden, make.value_digest({"key": values.double()}))
    assert differences(make.value_digest([1, 2]), make.value_digest((1, 2)))


def test_differences_name_the_field_that_changed():
    golden = {"practices": [{"tasks": [{"message": "expected 1", "points": 1.0}]}]}
    now = {"practices": [{"tasks": [{"message": "expected 2", "points": 1.0}]}]}
    assert differences(golden, now) == [
        "/practices[0]/tasks[0]/message: golden 'expected 1', now 'expected 2' (from character 9)"]
    def named(message: str) -> dict:
        return {"practices": [{"name": "basics", "tasks": [{"id": "basics.4", "message": message}]}]}

    around = lambda last: repr("..." + "x" * 60 + last)  # noqa: E731
    assert differences(named("x" * 100 + "a"), named("x" * 100 + "b")) == [
        f"/practices[basics]/tasks[basics.4]/message: golden {around('a')}, now {around('b')} (from character 100)"]
    assert differences({"a": 1}, {"b": 1}) == ["/a: only in the golden file", "/b: new, not in the golden file"]


def test_visible_text_reads_a_page_as_a_reader_sees_it():
    page = ('<html><head><style>td{color:red}</style><title>Feedback</title></head><body><h1>alice</h1>'
            '<img alt="scores" src="data:image/png;base64,AAAA"><p>3 &lt; 4\n  points</p></body></html>')
    assert make.visible_text(page) == ["Feedback", "alice", "[picture: scores]", "3 < 4 points"]
