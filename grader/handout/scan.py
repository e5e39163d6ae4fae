"""The leak scan: what of the instructor's material must never appear in what students get.

`secrets()` lists byte strings, each with what it is:

- the solution markers `BEGIN SOLUTION` / `END SOLUTION`;
- the name of every hidden test (unless a public test has the same name);
- every distinctive line of the reference code: a line inside a solution region of
  `solutions/<practice>.py` that is at least `MIN_LINE` characters long once stripped of its
  indentation (short lines such as `return x` are common Python, not the answer), except a line
  that a public test quotes in one of its messages (a hint every student who fails it reads).

`scan_tree` looks for them in every file under a folder, text or binary, and inside every `.zip`
(member by member, also zips in zips); `scan_files` does the same for files held in memory.
"""

from __future__ import annotations

import ast
import io
import re
import zipfile
from pathlib import Path

from grader import paths
from grader.handout.strip import Reach, graded_tests

MIN_LINE = 30
_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def solution_lines(solutions_dir: Path = paths.SOLUTIONS_DIR) -> dict[bytes, str]:
    quoted = public_messages()
    found = {}
    for path in sorted(solutions_dir.glob("*.py")):
        for region in _REGION.findall(path.read_text()):
            for line in region.splitlines():
                line = line.strip()
                if len(line) >= MIN_LINE and not any(line in message for message in quoted):
                    found[line.encode()] = f"a line of the reference solution solutions/{path.name}"
    return found


def public_messages() -> list[str]:
    """The string constants of the public tests (their messages and hints)."""
    reach = Reach(paths.PACKAGE_DIR)
    messages = []
    for module in reach.modules.values():
        public = {t.name for t in graded_tests(module) if t.visibility == "public"} if ".practices." in module.name else ()
        for node in module.tree.body:
            if getattr(node, "name", None) in public:
                messages += [c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
    return messages


def hidden_test_names() -> dict[bytes, str]:
    reach = Reach(paths.PACKAGE_DIR)
    tests = [(module.name, test) for module in reach.modules.values() if ".practices." in module.name
             for test in graded_tests(module)]
    public = {test.name for _, test in tests if test.visibility == "public"}
    return {test.name.encode(): f"the hidden test {test.task} {test.name} ({name})"
            for name, test in tests if test.visibility == "hidden" and test.name not in public}


def secrets() -> dict[bytes, str]:
    found = {b"BEGIN SOLUTION": "a solution marker", b"END SOLUTION": "a solution marker"}
    found.update(hidden_test_names())
    found.update(solution_lines())
    return found


def scan_bytes(name: str, content: bytes, patterns: dict[bytes, str], depth: int = 0) -> list[str]:
    """`name: holds <what>` for each secret in `content` (and in its members, if it is a zip)."""
    findings = [f"{name}: holds {what}" for pattern, what in patterns.items() if pattern in content]
    if content[:4] == b"PK\x03\x04" and depth < 3:
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                for info in archive.infolist():
                    if not info.is_dir():
                        findings += scan_bytes(f"{name}!{info.filename}", archive.read(info), patterns, depth + 1)
        except zipfile.BadZipFile:
            findings.append(f"{name}: a zip that cannot be read, so it cannot be scanned")
    return findings


def scan_files(files: dict[str, bytes], patterns: dict[bytes, str] | None = None) -> list[str]:
    patterns = secrets() if patterns is None else patterns
    return [finding for name, content in files.items() for finding in scan_bytes(name, content, patterns)]


def scan_tree(root: Path, patterns: dict[bytes, str] | None = None) -> list[str]:
    """Every file under `root` (or `root` itself, a file), symbolic links not followed."""
    patterns = secrets() if patterns is None else patterns
    root = Path(root)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    return [finding for path in files
            for finding in scan_bytes(path.relative_to(root.parent).as_posix(), path.read_bytes(), patterns)]
