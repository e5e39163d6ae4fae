"""The mutation corpus: realistic wrong solutions lose points on the task they break; correct
solutions in unusual styles get full marks.

Each mutation in `tests/mutations/<practice>/` is a complete practice module, as `tests/corpus.py`
writes it for the grader (from a patch against `solutions/<practice>.py`, or a whole module). Its
line 1 says what the grader must decide:

    # breaks: basics.1 [basics.2 ...]   lose points on each named task (graded on those tasks only)
    # correct                           full marks (convergence excluded unless line 2 is `# converges`)

New folders and files are picked up without editing this test. Each file is one sandboxed
grading run of its tasks (a few seconds), so the default run grades every `# correct` file and
the first `# breaks` file of each practice; the others are marked slow (`pytest -m slow`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import corpus
import pytest
from corpus import Mutation, materialise, mutations

from grader.check import collect, run_suites

MUTATIONS = mutations()


@functools.lru_cache(maxsize=None)
def tasks_without_training(practice: str) -> list[str]:
    """The practice's tasks that are not convergence tasks (whose tests all train a model)."""
    tests = collect([practice])
    return [task for task in dict.fromkeys(t.task for t in tests)
            if any(t.category != "convergence" for t in tests if t.task == task)]


def graded(mutation: Mutation, tmp_path: Path, tasks: list[str]):
    materialise(mutation, tmp_path)
    return run_suites(tmp_path, [mutation.practice], device="cpu", tasks=tasks)


def cases() -> list:
    """Every mutation; all but the correct ones and the first wrong one of each practice are slow."""
    chosen, seen = [], set()
    for mutation in MUTATIONS:
        correct = mutation.kind == "correct"
        quick = correct or mutation.practice not in seen
        if not correct:
            seen.add(mutation.practice)
        chosen.append(pytest.param(mutation, id=mutation.id, marks=() if quick else pytest.mark.slow))
    return chosen


@pytest.mark.parametrize("mutation", cases())
def test_the_grader_decides_as_the_file_says(mutation, tmp_path):
    kind, tasks, converges = mutation.expectation()
    if kind == "breaks":
        report = graded(mutation, tmp_path, tasks)
        results = {task.id: task for practice in report.practices for task in practice.tasks}
        assert set(results) == set(tasks), f"no tests ran for {set(tasks) - set(results)}"
        kept = [task_id for task_id in tasks if results[task_id].points >= results[task_id].max_points]
        assert not kept, f"{mutation.id} kept full marks on {kept}"
    else:
        report = graded(mutation, tmp_path, [] if converges else tasks_without_training(mutation.practice))
        for practice in report.practices:
            for task in practice.tasks:
                if not converges and all(test.category == "convergence" for test in task.tests):
                    continue
                lost = [f"{test.name}: {test.message}" for test in task.tests
                        if test.status != "passed" and (converges or test.category != "convergence")]
                assert not lost, f"{mutation.id} lost points on {task.id}: {lost}"


# The corpus's helper, `tests/corpus.py`: the modules it writes, and its strict patch applier.


@pytest.mark.parametrize("mutation", [pytest.param(m, id=m.id) for m in MUTATIONS])
def test_each_mutation_is_a_module_that_compiles_and_is_not_the_reference(mutation, tmp_path):
    reference = mutation.reference_path.read_text()
    written = materialise(mutation, tmp_path / "folder").read_text()
    assert written == mutation.text()
    header = "".join(f"{line}\n" for line in mutation.header())
    assert header and written.startswith(header)
    assert written[len(header):] != reference, f"{mutation.id} changes nothing in solutions/{mutation.practice}.py"
    compile(written, mutation.id, "exec")
    mutation.expectation()  # line 1 is '# breaks: ...' or '# correct'
    if mutation.is_patch:
        assert corpus.apply_patch(mutation.patch(), reference) == written[len(header):]


def test_a_corpus_patch_fails_loudly_when_its_solution_changes_under_it(tmp_path, monkeypatch):
    """The first patch's first context line edited in (a copy of) its solution: no module, an error
    that names the patch, the hunk and the line."""
    chosen = next(m for m in MUTATIONS if m.is_patch)
    hunk = chosen.patch().hunks[0]
    k = next(k for k, (op, _) in enumerate(hunk.lines) if op == " ")
    line = hunk.old_start + sum(op != "+" for op, _ in hunk.lines[:k])  # its number in the solution
    lines = chosen.reference_path.read_text().splitlines(keepends=True)
    assert lines[line - 1] == hunk.lines[k][1]
    lines[line - 1] = lines[line - 1].rstrip("\n") + "  # edited\n"
    monkeypatch.setattr(corpus, "SOLUTIONS", tmp_path)
    (tmp_path / f"{chosen.practice}.py").write_text("".join(lines))
    with pytest.raises(corpus.PatchError) as error:
        materialise(chosen, tmp_path / "out")
    assert str(error.value).startswith(f"tests/mutations/{chosen.id}.patch: hunk 1 ({hunk.header}): "
                                       f"context does not match line {line} of ")
    assert not (tmp_path / "out" / f"{chosen.practice}.py").exists()


REFERENCE = "".join(f"line {i}\n" for i in range(1, 31))
MUTATED = REFERENCE.replace("line 5\n", "line five\n").replace("line 20\n", "line 20\nan extra line\n")


@pytest.fixture
def small_corpus(tmp_path, monkeypatch):
    """A corpus of one practice, `tiny`, whose reference is REFERENCE: (the mutation, the reference's path)."""
    monkeypatch.setattr(corpus, "CORPUS", tmp_path / "mutations")
    monkeypatch.setattr(corpus, "SOLUTIONS", tmp_path / "solutions")
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "tiny.py").write_text(REFERENCE)
    mutation = Mutation("tiny", "two_changes")
    corpus.write_patch(mutation, "# breaks: tiny.1\n# why: two lines changed\n" + MUTATED)
    return mutation, tmp_path / "solutions" / "tiny.py"


def test_a_patch_round_trips_with_its_header_and_names_the_reference(small_corpus):
    mutation, _ = small_corpus
    text = mutation.patch_path.read_text()
    assert text.startswith("# breaks: tiny.1\n# why: two lines changed\n--- a/solutions/tiny.py\n"
                           "+++ b/solutions/tiny.py\n@@ -2,7 +2,7 @@\n")
    assert [hunk.header for hunk in mutation.patch().hunks] == ["@@ -2,7 +2,7 @@", "@@ -18,6 +18,7 @@"]
    assert mutation.text() == "# breaks: tiny.1\n# why: two lines changed\n" + MUTATED
    assert mutation.expectation() == ("breaks", ["tiny.1"], False)
    assert corpus.mutations() == [mutation]


def test_a_hunk_moved_by_an_edit_elsewhere_still_applies(small_corpus):
    mutation, reference = small_corpus
    reference.write_text("new first line\n" * 4 + REFERENCE.replace("line 12\n", "line twelve\n"))
    expected = "new first line\n" * 4 + MUTATED.replace("line 12\n", "line twelve\n")
    assert mutation.text().split("\n", 2)[2] == expected


@pytest.mark.parametrize("edit, hunk, line", [("line 7\n", 1, 7), ("line 20\n", 2, 20), ("line 21\n", 2, 21)])
def test_a_hunk_whose_lines_no_longer_match_the_reference_names_the_patch_and_the_hunk(small_corpus, edit, hunk, line):
    """A context line (7, 21) or a removed line (20) of the reference changed: the patch fails, it
    applies nothing at a guess."""
    mutation, reference = small_corpus
    reference.write_text(REFERENCE.replace(edit, edit.replace("line", "LINE")))
    with pytest.raises(corpus.PatchError) as error:
        mutation.text()
    message = str(error.value)
    assert f"two_changes.patch: hunk {hunk} (@@ -" in message
    assert f"context does not match line {line} of " in message and "tiny.py" in message
    assert repr(edit) in message and repr(edit.replace("line", "LINE")) in message
    assert "match nowhere else" in message


def test_a_hunk_that_would_fit_two_places_is_refused():
    patch = corpus.parse_patch("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n", name="twice.patch")
    assert corpus.apply_patch(patch, "x\ny\nw\n") == "x\nz\nw\n"
    with pytest.raises(corpus.PatchError, match=r"twice.patch: hunk 1 .* match at lines 2, 4 .* ambiguous"):
        corpus.apply_patch(patch, "a\nx\ny\nx\ny\n")


@pytest.mark.parametrize("text, message", [
    ("# only a header\n", "no '--- ' line"),
    ("--- a/x\n+++ b/x\n", "no hunks"),
    ("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n x\n y\n", "hunk 1 .* changes nothing"),
    ("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n x\n-y\n+z\n", "header counts 3 old and 3 new lines, the hunk has 2 and 2"),
    ("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n x\n-y\n+z\nextra\n", "line 7 should start a hunk"),
    ("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n x\n*y\n+z\n", r"line 5 begins with '\*'"),
])
def test_a_malformed_patch_is_refused(text, message):
    with pytest.raises(corpus.PatchError, match=message):
        corpus.parse_patch(text, name="bad.patch")


def test_a_file_without_a_final_newline_round_trips():
    reference, mutated = "a\nb\nc", "a\nb\nC"
    text = corpus.make_patch(reference, mutated, "x")
    assert text.endswith("-c\n\\ No newline at end of file\n+C\n\\ No newline at end of file\n")
    assert corpus.apply_patch(corpus.parse_patch(text), reference) == mutated
    with pytest.raises(corpus.PatchError, match="the reference itself"):
        corpus.make_patch(reference, reference, "x")


def test_a_patch_for_another_file_or_without_its_header_is_refused(small_corpus):
    mutation, _ = small_corpus
    text = mutation.patch_path.read_text()
    mutation.patch_path.write_text(text.replace("solutions/tiny.py", "solutions/other.py"))
    with pytest.raises(corpus.PatchError, match="not a/solutions/tiny.py -> b/solutions/tiny.py"):
        mutation.text()
    mutation.patch_path.write_text(text.split("\n", 2)[2])
    with pytest.raises(corpus.PatchError, match="must begin with its '# breaks: ...' or '# correct'"):
        mutation.text()


def test_a_mutation_is_one_file_a_patch_or_a_whole_module(small_corpus):
    mutation, _ = small_corpus
    mutation.module_path.write_text("# correct\n# why: written another way\nx = 1\n")
    with pytest.raises(FileNotFoundError, match="found 2"):
        corpus.mutation("tiny", "two_changes")
    mutation.patch_path.unlink()
    assert not mutation.is_patch and mutation.text() == mutation.module_path.read_text()
    assert mutation.expectation() == ("correct", [], False)
    with pytest.raises(FileNotFoundError, match="found neither"):
        corpus.mutation("tiny", "absent")


def test_the_command_writes_a_mutation_out_and_its_patch_back(small_corpus, tmp_path, capsys):
    mutation, _ = small_corpus
    assert corpus.main(["tiny/two_changes", "--out", str(tmp_path / "out")]) == 0
    written = tmp_path / "out" / "tiny.py"
    assert written.read_text() == mutation.text()
    written.write_text(written.read_text().replace("line five", "line 5").replace("line 30\n", "line thirty\n"))
    assert corpus.main(["tiny/two_changes", "--from", str(written)]) == 0
    assert [hunk.header for hunk in mutation.patch().hunks] == ["@@ -18,6 +18,7 @@", "@@ -27,4 +28,4 @@"]
    assert mutation.text() == written.read_text()
    assert corpus.main(["tiny/two_changes"]) == 0
    assert capsys.readouterr().out.endswith(written.read_text())
