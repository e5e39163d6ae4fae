"""The trust boundary in the layout: which of the grader's packages may import which, and no circle.

    grader/sandbox/      runs student code in workers; imports nothing of the grader's but `paths`
    grader/operations/   runs in the worker on student objects; imports the sandbox's operation
                         registry and the data helpers, never the grader's side
    grader/judging/      the grader's side of convergence checks; of the worker side only the two
                         pure helpers of `operations.trained_state`
    grader/training/     the `bootcamp train` driver; finds practices through `grader.registry`

Every import counts, those inside functions too (a lazy import is still a dependency), except
those under `if TYPE_CHECKING:`, which never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader import paths

GRADER = paths.PACKAGE_DIR


def module_name(path: Path) -> str:
    parts = list(path.relative_to(GRADER.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(GRADER.rglob("*.py")) if "__pycache__" not in p.parts}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the nodes under `if TYPE_CHECKING:`."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            skipped |= {id(inner) for statement in node.body for inner in ast.walk(statement)}
    return skipped


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """The grader modules `path` imports (a `from package import submodule` counts as the submodule)."""
    tree = ast.parse(path.read_text())
    skipped = _type_checking_only(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("grader")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("grader"):
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & set(known)
            names_only = [alias for alias in node.names if f"{node.module}.{alias.name}" not in known]
            found |= submodules | ({node.module} if names_only else set())
    return found


def graph() -> dict[str, set[str]]:
    """module -> the grader modules it imports, but the packages it lives in (importing a module
    runs its packages' `__init__` first; that is not a dependency of its own)."""
    known = modules()
    return {name: {target for target in imports_of(path, known)
                   if target in known and target != name and not name.startswith(target + ".")}
            for name, path in known.items()}


def test_the_sandbox_imports_nothing_of_the_grader_but_paths():
    for name, targets in graph().items():
        if name.startswith("grader.sandbox"):
            outside = {t for t in targets if not t.startswith("grader.sandbox") and t not in ("grader", "grader.paths")}
            assert not outside, f"{name} imports {sorted(outside)}"


def test_the_worker_operations_import_only_the_sandbox_registry_and_data():
    for name, targets in graph().items():
        if name.startswith("grader.operations"):
            outside = {t for t in targets if not t.startswith(("grader.operations", "grader.data"))
                       and t not in ("grader.sandbox.ops", "grader.paths")}
            assert not outside, f"{name} imports {sorted(outside)}"


@pytest.mark.parametrize("package, forbidden", [
    ("grader.judging", ("grader.practices", "grader.training", "grader.check", "grader.plugin", "grader.cli")),
    ("grader.training", ("grader.practices", "grader.operations", "grader.check", "grader.plugin")),
    ("grader.testing", ("grader.judging", "grader.training", "grader.practices")),
])
def test_the_grader_side_packages_import_downward_only(package, forbidden):
    for name, targets in graph().items():
        if name == package or name.startswith(package + "."):
            upward = {t for t in targets if t.startswith(forbidden)}
            assert not upward, f"{name} imports {sorted(upward)}"


def test_the_grader_side_reads_only_the_pure_helpers_of_the_worker_side():
    """Shared grader code; a practice's suite may run worker functions on the reference in-process."""
    for name, targets in graph().items():
        if name.startswith(("grader.judging", "grader.training", "grader.testing", "grader.registry")):
            worker_side = {t for t in targets if t.startswith("grader.operations")}
            assert worker_side <= {"grader.operations.trained_state"}, f"{name} imports {sorted(worker_side)}"


def test_no_module_of_the_grader_imports_itself_through_others():
    edges = graph()
    state: dict[str, int] = {}
    circles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                circles.append(" -> ".join(path[path.index(target):] + [module, target]))
            elif target not in state:
                visit(target, path + [module])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [])
    assert not circles, "\n".join(circles)


def test_the_graph_sees_imports_inside_functions():
    """The checks above would pass on a graph that missed lazy imports: `grader.judging.digit_judge`
    imports `grader.testing` inside `judge_for_grading` only."""
    assert "grader.testing" in graph()["grader.judging.digit_judge"]
