"""The student's copy of a grading suite: the public tests that can run without the instructor's files.

Two kinds of test leave a suite module when it is copied into the student edition:

- **hidden** tests (`@task(..., visibility="hidden")`): their names, inputs and checks are the
  instructor's;
- **public tests that need the reference**: a test whose code reaches the reference solutions
  (`grader.testing.reference`, or any other function that reads `solutions/`) other than through
  a `@recorded` function cannot run where `solutions/` does not exist. They are graded by the
  instructor, like hidden tests.

A test that reaches the reference only through `@recorded` functions (`grader.recorded`: values
such as the reference's outputs or weights, which the release records as data) stays: the edition
ships the values its public tests use.

"Reaches the reference" is decided from the code, not from a list: `Reach` indexes the top-level
definitions of every module of the `grader` package, resolves the names each one uses (imports,
also those inside functions, and `module.attribute` chains), and follows them; a definition that
names `SOLUTIONS_DIR` is where the solutions are read, and a definition decorated `@recorded` is
where the walk stops (it is noted in `GradedTest.recorded`). A definition decorated
`@solutions_optional` (`grader.paths`) reads the solutions only where they exist and has another
way without them (the convergence checks' drawing, `grader.judging.drawing`): the walk stops
there too. A test reaches them when its body, its decorators or a fixture of its module does,
through any chain of grader functions.

`strip_module` then deletes those tests from the module's text, then every top-level definition
and import that only they used (repeatedly), and keeps the rest of the text as it is.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

ROOTS = frozenset({"SOLUTIONS_DIR"})  # the names through which code reads the reference solutions
OPTIONAL = "solutions_optional"  # the decorator of a function that works without them too
RECORDED = "grader.recorded.recorded"  # the decorator of values that travel as data (the walk stops there)


@dataclass
class _Module:
    name: str
    tree: ast.Module
    aliases: dict[str, str]  # local name -> dotted target
    defs: dict[str, ast.AST] = field(default_factory=dict)  # top-level name -> its statement


def import_aliases(nodes: list[ast.stmt], module: str, is_package: bool) -> dict[str, str]:
    aliases = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                parts = parts if is_package else parts[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
    return aliases


def _top_level_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [t.id for t in targets if isinstance(t, ast.Name)]
    return []


class Reach:
    """Which definitions of a package reach the reference solutions (see the module docstring)."""

    def __init__(self, package_dir: Path, package: str = "grader"):
        self.modules: dict[str, _Module] = {}
        for path in sorted(package_dir.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            relative = path.relative_to(package_dir).with_suffix("")
            parts = [package, *relative.parts]
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            self.add(name, path.read_text(), is_package=is_package)
        self._memo: dict[str, tuple[bool, set[str]]] = {}

    def add(self, name: str, source: str, *, is_package: bool = False) -> _Module:
        tree = ast.parse(source)
        module = _Module(name, tree, import_aliases(tree.body, name, is_package))
        for node in tree.body:
            for top in _top_level_names(node):
                module.defs[top] = node
        self.modules[name] = module
        return module

    def uses(self, node: ast.AST, module: _Module) -> set[str]:
        """The dotted names `node` uses, resolved through `module`'s imports (and its own)."""
        local = dict(module.aliases)
        inner = [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
        local.update(import_aliases(inner, module.name, False))
        found = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute):
                chain, base = [sub.attr], sub.value
                while isinstance(base, ast.Attribute):
                    chain.append(base.attr)
                    base = base.value
                if sub.attr in ROOTS:
                    found.add("<solutions>")
                if isinstance(base, ast.Name) and base.id in local:
                    found.add(".".join([local[base.id], *reversed(chain)]))
            elif isinstance(sub, ast.Name):
                if sub.id in ROOTS:
                    found.add("<solutions>")
                elif sub.id in local:
                    found.add(local[sub.id])
                elif sub.id in module.defs and module.defs[sub.id] is not node:
                    found.add(f"{module.name}.{sub.id}")
        return found

    def _definition(self, dotted: str) -> tuple[_Module, ast.AST] | None:
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self.modules.get(".".join(parts[:cut]))
            if module is not None:
                node = module.defs.get(parts[cut])
                return (module, node) if node is not None else None
        return None

    def _edges(self, dotted: str) -> tuple[bool, set[str]]:
        """(whether `dotted` is a `@recorded` definition, the names its definition uses)."""
        if dotted not in self._memo:
            found = self._definition(dotted)
            if found is None:
                self._memo[dotted] = (False, set())
            else:
                module, node = found
                recorded = any(RECORDED in self.uses(d, module) for d in getattr(node, "decorator_list", []))
                self._memo[dotted] = (recorded, set() if _optional(node) else self.uses(node, module))
        return self._memo[dotted]

    def walk(self, names: set[str]) -> tuple[bool, frozenset[str]]:
        """From the definitions `names`: (whether a chain reaches the solutions other than through a
        `@recorded` definition, the `@recorded` definitions met)."""
        stack, seen, solutions, recorded = list(names), set(), False, set()
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            if name == "<solutions>":
                solutions = True
                continue
            is_recorded, uses = self._edges(name)
            if is_recorded:
                recorded.add(name)
            else:
                stack.extend(uses)
        return solutions, frozenset(recorded)

    def reaches(self, dotted: str) -> bool:
        """Whether the definition `dotted` (e.g. `grader.testing.reference`) reaches the solutions
        other than through `@recorded` values."""
        return self.walk({dotted})[0]

    def test_walk(self, test: ast.FunctionDef, module: _Module) -> tuple[bool, frozenset[str]]:
        """`walk` from a test's code, its decorators and its module's fixtures it requests."""
        names = self.uses(test, module)
        names |= {f"{module.name}.{a.arg}" for a in test.args.args if a.arg in module.defs}
        return self.walk(names)

    def test_reaches(self, test: ast.FunctionDef, module: _Module) -> bool:
        """A test reaches the solutions through its code, its decorators, or its module's fixtures."""
        return self.test_walk(test, module)[0]


def _optional(node: ast.AST) -> bool:
    """Whether a definition carries the `@solutions_optional` decorator (by name or attribute)."""
    return any((isinstance(d, ast.Name) and d.id == OPTIONAL) or (isinstance(d, ast.Attribute) and d.attr == OPTIONAL)
               for d in getattr(node, "decorator_list", []))


@dataclass
class GradedTest:
    """One test function of a suite module, as its `@task` marker declares it."""

    name: str
    task: str
    points: float
    visibility: str
    needs_reference: bool = False  # reaches the solutions other than through @recorded values
    items: int = 1  # the tests pytest collects from it (a literal `parametrize` list makes several)
    recorded: frozenset[str] = frozenset()  # the @recorded definitions it reaches


def graded_tests(module: _Module, reach: Reach | None = None) -> list[GradedTest]:
    """The module's test functions that carry a `task(...)` marker."""
    tests = []
    for node in module.tree.body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test"):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "task" and decorator.args:
                fields = {k.arg: k.value.value for k in decorator.keywords if isinstance(k.value, ast.Constant)}
                solutions, recorded = reach.test_walk(node, module) if reach else (False, frozenset())
                tests.append(GradedTest(node.name, decorator.args[0].value, float(fields.get("points", 1)),
                                        fields.get("visibility", "public"), solutions, _items(node), recorded))
    return tests


def suite_tests(reach: Reach, practices: list[str]) -> Iterator[tuple[str, _Module, GradedTest]]:
    """(practice, test module, test) for every graded test of the suites of `practices`."""
    for module in list(reach.modules.values()):
        parts = module.name.split(".")
        if parts[:2] == ["grader", "practices"] and len(parts) == 4 and parts[2] in practices \
                and parts[3].startswith("test_"):
            for test in graded_tests(module, reach):
                yield parts[2], module, test


def _items(test: ast.FunctionDef) -> int:
    count = 1
    for decorator in test.decorator_list:
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", None) == "parametrize" \
                and len(decorator.args) >= 2 and isinstance(decorator.args[1], (ast.List, ast.Tuple)):
            count *= len(decorator.args[1].elts)
    return count


def strip_module(source: str, withheld: set[str]) -> str:
    """`source` without the test functions named in `withheld` and whatever only they used."""
    tree = ast.parse(source)
    removed = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in withheld]
    while True:
        kept = [node for node in tree.body if node not in removed]
        used = _used_names(kept)
        unused = [node for node in kept if _prunable(node) and not (set(_top_level_names(node)) & used)]
        if not unused:
            break
        removed += unused
    lines = source.split("\n")
    replace: dict[int, list[str]] = {}  # first line index -> new lines, for the nodes being cut or shrunk
    cut: set[int] = set()
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        span = range(start, node.end_lineno)
        if node in removed:
            cut.update(span)
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and not (isinstance(node, ast.ImportFrom)
                                                                      and node.module == "__future__"):
            used = _used_names([n for n in tree.body if n not in removed and n is not node])
            names = [a for a in node.names if (a.asname or a.name.split(".")[0]) in used]
            if len(names) != len(node.names):
                cut.update(span)
                if names:
                    replace[start] = _import_text(node, names)
    out = []
    for index, line in enumerate(lines):
        if index in replace:
            out += replace[index]
        if index not in cut:
            out.append(line)
    return re.sub(r"\n{4,}", "\n\n\n", "\n".join(out)).rstrip("\n") + "\n"


def _prunable(node: ast.stmt) -> bool:
    names = _top_level_names(node)
    return bool(names) and not any(n.startswith("test") or n.startswith("__") for n in names)


def _used_names(nodes: list[ast.stmt]) -> set[str]:
    used = set()
    for node in nodes:
        own = set(_top_level_names(node))
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and (sub.id not in own or not isinstance(sub.ctx, ast.Store)):
                used.add(sub.id)
            elif isinstance(sub, ast.arg):
                used.add(sub.arg)  # fixtures are requested by parameter name
    return used


def _import_text(node: ast.Import | ast.ImportFrom, names: list[ast.alias]) -> list[str]:
    shrunk = ast.ImportFrom(module=node.module, names=names, level=node.level) if isinstance(node, ast.ImportFrom) \
        else ast.Import(names=names)
    text = ast.unparse(shrunk)
    if len(text) <= 110 or not isinstance(node, ast.ImportFrom):
        return [text]
    head = text.split(" import ")[0]
    return [f"{head} import ("] + [f"    {ast.unparse(a)}," for a in names] + [")"]
