"""Generate the student skeletons in `assignments/` from the reference solutions in `solutions/`.

A solution marks each part the student writes:

    # TODO <practice>.1: implement relu
    ### BEGIN SOLUTION
    return torch.where(x > 0, x, torch.zeros_like(x))
    ### END SOLUTION

nbgrader's `ClearSolutions` preprocessor replaces every marked region by a stub; the stub is then
given the task id and the file from the TODO line above it:

    # TODO <practice>.1: implement relu
    raise NotImplementedError("<practice>.1: implement relu in assignments/<practice>.py")

`release()` writes the skeletons (each through a temporary file and a rename); `stale()` lists
the ones that differ from what `release()` would write, for `bootcamp release --check`.

`release()` records what it wrote in `assignments/.released.json` (the SHA-256 of each skeleton,
written atomically, committed with the skeletons). A skeleton that differs both from what it
should become and from that record was edited by hand: `release()` refuses to overwrite it
(`EditedSkeleton`, one line naming it) unless `force`, which first keeps the edited text beside
it as `<name>.bak`.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Callable

from grader import paths, registry
from grader.atomic import write_atomically, write_bytes_atomically

_PLACEHOLDER = "__BOOTCAMP_TODO__"
RECORD = ".released.json"  # in assignments/: sha256 of each skeleton the last release wrote
_TODO = re.compile(r"^\s*# TODO (?P<task>[a-z0-9_]+\.\d+): (?P<what>.+?)\s*$")


class ReleaseError(Exception):
    """A solution file whose markers are malformed (no TODO line, unclosed region, ...)."""


class EditedSkeleton(ReleaseError):
    """A skeleton edited by hand since the last release, which `release()` will not overwrite."""


def skeleton_source(solution: str, practice: str) -> str:
    """The skeleton text for one solution file's text."""
    from grader.extras import missing

    if problem := missing("nbgrader", "bootcamp release"):
        raise ReleaseError(problem)
    from nbformat.v4 import new_code_cell
    from nbgrader.preprocessors import ClearSolutions

    cell = new_code_cell(solution, metadata={"nbgrader": {"solution": True, "grade": False,
                                                           "locked": False, "grade_id": practice}})
    clear = ClearSolutions(code_stub={"python": f"raise NotImplementedError({_PLACEHOLDER})"})
    try:
        cell, _ = clear.preprocess_cell(cell, {"language": "python"}, 0)
    except RuntimeError as error:
        raise ReleaseError(f"solutions/{practice}.py: {error}") from None
    return _fill_placeholders(cell.source, practice)


def _fill_placeholders(source: str, practice: str) -> str:
    lines = source.split("\n")
    for number, line in enumerate(lines):
        if _PLACEHOLDER not in line:
            continue
        todo = _TODO.match(lines[number - 1]) if number else None
        if todo is None:
            raise ReleaseError(f"solutions/{practice}.py: a solution region (stub at skeleton line {number + 1}) "
                               "needs a '# TODO <task id>: <what to do>' line right above its BEGIN SOLUTION")
        message = f"{todo['task']}: {todo['what']} in assignments/{practice}.py"
        lines[number] = line.replace(_PLACEHOLDER, json.dumps(message))
    return "\n".join(lines)


def _solved(solutions_dir: Path) -> list[str]:
    """The solution files' practices, in course order (`grader.registry`), then any other by name."""
    order = {name: index for index, name in enumerate(p.name for p in registry.all_practices())}
    found = [p.stem for p in solutions_dir.glob("*.py") if not p.name.startswith("_")]
    return sorted(found, key=lambda name: (order.get(name, len(order)), name))


def planned(solutions_dir: Path = paths.SOLUTIONS_DIR) -> dict[str, str]:
    """Skeleton file name -> the text `release()` writes."""
    return {f"{practice}.py": skeleton_source((solutions_dir / f"{practice}.py").read_text(), practice)
            for practice in _solved(solutions_dir)}


def stale(solutions_dir: Path = paths.SOLUTIONS_DIR, assignments_dir: Path = paths.ASSIGNMENTS_DIR) -> list[str]:
    """Skeleton files that are missing or differ from the solutions they come from; when none
    does, the record (`RECORD`) if it does not hold exactly those skeletons."""
    texts = planned(solutions_dir)
    found = [name for name, text in texts.items()
             if not (assignments_dir / name).is_file() or (assignments_dir / name).read_text() != text]
    if not found and read_record(assignments_dir) != _hashes(texts):
        found.append(RECORD)
    return found


def release(solutions_dir: Path = paths.SOLUTIONS_DIR, assignments_dir: Path = paths.ASSIGNMENTS_DIR, *,
            force: bool = False, say: Callable[[str], None] = print) -> list[str]:
    """Write every skeleton that changed; return their names.

    Nothing is written when a skeleton was edited by hand (see `edited`): `EditedSkeleton`, unless
    `force`, which keeps each edited file as `<name>.bak` (`say` tells where) and overwrites it.
    """
    texts = planned(solutions_dir)
    assignments_dir.mkdir(parents=True, exist_ok=True)
    changed = edited(texts, assignments_dir)
    if changed and not force:
        first = assignments_dir / changed[0]
        backup = _free_name(first.with_name(f"{first.name}.bak"))
        raise EditedSkeleton(
            f"{_shown(first)} was edited since `bootcamp release` wrote it"
            f"{f' (and {len(changed) - 1} more: ' + ', '.join(changed[1:]) + ')' if len(changed) > 1 else ''}; "
            f"move the change into {_shown(solutions_dir / changed[0])}, or run `bootcamp release --force` to "
            f"overwrite it (a copy is kept as {backup.name})")
    written = []
    for name, text in texts.items():
        target = assignments_dir / name
        if target.is_file() and target.read_text() == text:
            continue
        if name in changed:
            backup = _keep_copy(target)
            say(f"kept the edited {_shown(target)} as {_shown(backup)}")
        write_atomically(target, text)
        written.append(name)
    record = {"about": "the sha256 of each skeleton `bootcamp release` wrote: one that differs from its hash "
                       "was edited by hand, and `bootcamp release` does not overwrite it without --force",
              "skeletons": _hashes(texts)}
    if read_record(assignments_dir) != record["skeletons"]:
        write_atomically(assignments_dir / RECORD, json.dumps(record, indent=1) + "\n")
    return written


def edited(texts: dict[str, str], assignments_dir: Path) -> list[str]:
    """The skeletons (of `texts`, name -> planned text) that differ from what they should become
    and from what the last release wrote: edited by hand. Without a record, every one that differs."""
    record = read_record(assignments_dir)
    found = []
    for name, text in texts.items():
        target = assignments_dir / name
        if not target.is_file():
            continue
        current = target.read_text()
        if current != text and record.get(name) != _sha256(current):
            found.append(name)
    return found


def read_record(assignments_dir: Path) -> dict[str, str]:
    """Skeleton name -> sha256 of what the last release wrote; empty without a readable record."""
    try:
        skeletons = json.loads((assignments_dir / RECORD).read_text())["skeletons"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {str(k): str(v) for k, v in skeletons.items()} if isinstance(skeletons, dict) else {}


def _hashes(texts: dict[str, str]) -> dict[str, str]:
    return {name: _sha256(text) for name, text in sorted(texts.items())}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _keep_copy(target: Path) -> Path:
    """Copy `target`, byte for byte, to a free `<name>.bak` beside it (atomically); return the copy."""
    backup = _free_name(target.with_name(f"{target.name}.bak"))
    write_bytes_atomically(backup, target.read_bytes())
    return backup


def _free_name(path: Path) -> Path:
    """`path`, or `path` with a number after it when that is taken (`<practice>.py.bak1`)."""
    number = 0
    candidate = path
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}{number}")
    return candidate


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
