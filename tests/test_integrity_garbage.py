"""No free points: three kinds of code that does nothing right score 0 on every practice.

- the skeleton (every TODO still raises NotImplementedError);
- a module whose every public name (from the reference solution) returns None;
- a module whose every public name returns an object that compares equal to everything, has
  every attribute, and is callable (a class becomes a factory of that object).

The modules are generated from each reference solution's public names, so a practice added to
`solutions/` is covered without editing this file. Each kind is graded once, all practices in one
run (one folder holds every practice's module).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader import paths
from grader.check import resolve_practices, run_suites

PRACTICES = [p for p in resolve_practices([]) if (paths.SOLUTIONS_DIR / f"{p}.py").is_file()]

EVERYTHING = '''
class _Everything:
    """Equal to everything, every attribute, every call: the laziest way to pass a check."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    __hash__ = object.__hash__

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __bool__(self):
        return True

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0

    def __float__(self):
        return 0.0

    def __int__(self):
        return 0

    __index__ = __int__

    def __getitem__(self, key):
        return self

    def __setitem__(self, key, value):
        pass

    def __contains__(self, item):
        return True


_ANSWER = _Everything()
'''


def public_names(practice: str) -> tuple[list[str], list[str]]:
    """The reference solution's public functions and classes, and its top-level constants' source."""
    path = paths.SOLUTIONS_DIR / f"{practice}.py"
    source = path.read_text()
    tree = ast.parse(source)
    names = [node.name for node in tree.body
             if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")]
    constants = [ast.get_source_segment(source, node) for node in tree.body
                 if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper()
                                                          for t in node.targets)
                 and isinstance(node.value, ast.Constant)]
    return names, constants


def garbage_module(practice: str, kind: str) -> str:
    """A module for `practice` whose every public name returns None ("none") or _ANSWER ("everything")."""
    names, constants = public_names(practice)
    answer = "None" if kind == "none" else "_ANSWER"
    lines = [EVERYTHING if kind == "everything" else "", *constants, ""]
    for name in names:  # a class becomes a callable that returns the answer when constructed
        lines.append(f"def {name}(*args, **kwargs):\n    return {answer}\n")
    return "\n".join(lines)


def write_submission(folder: Path, kind: str) -> Path:
    folder.mkdir()
    for practice in PRACTICES:
        source = ((paths.ASSIGNMENTS_DIR / f"{practice}.py").read_text() if kind == "skeleton"
                  else garbage_module(practice, kind))
        (folder / f"{practice}.py").write_text(source)
    return folder


@pytest.fixture(scope="module", params=["skeleton", "none", "everything"])
def graded(request, tmp_path_factory):
    folder = write_submission(tmp_path_factory.mktemp("garbage") / request.param, request.param)
    return request.param, run_suites(folder, PRACTICES, device="cpu", call_timeout=20)


@pytest.mark.parametrize("practice", PRACTICES)
def test_code_that_does_nothing_right_scores_zero(graded, practice):
    kind, report = graded
    (result,) = [p for p in report.practices if p.name == practice]
    assert result.max_points > 0
    earned = {f"{t.id} {test.name}": test.status for t in result.tasks for test in t.tests if test.earned}
    assert result.points == 0, f"{kind} module earned points on {practice}: {earned}"
    assert not report.errors


def test_a_style_check_passed_alone_earns_nothing_and_says_why(graded):
    kind, report = graded
    style = [test for p in report.practices for t in p.tasks for test in t.tests if test.style]
    assert style, "no style test was graded"
    assert all(test.status != "passed" for test in style)
    if kind != "skeleton":  # the garbage passes some of them: those say why they count for nothing
        assert any("counts only once" in test.message for test in style)


def test_what_came_back_is_named_in_the_message(graded):
    kind, report = graded
    (relu,) = [test for p in report.practices for t in p.tasks for test in t.tests
               if test.name == "test_relu_matches_torch"]
    shown = {"skeleton": "not implemented", "none": "returned None", "everything": "_Everything"}[kind]
    assert shown in relu.message or shown == relu.status
