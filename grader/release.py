"""Generate the student skeletons in `assignments/` from the reference solutions in `solutions/`.

A solution marks each part the student writes:

    # TODO basics.1: implement relu
    ### BEGIN SOLUTION
    return torch.where(x > 0, x, torch.zeros_like(x))
    ### END SOLUTION

nbgrader's `ClearSolutions` preprocessor replaces every marked region by a stub; the stub is then
given the task id and the file from the TODO line above it:

    # TODO basics.1: implement relu
    raise NotImplementedError("basics.1: implement relu in assignments/basics.py")

`release()` writes the skeletons (each through a temporary file and a rename); `stale()` lists
the ones that differ from what `release()` would write, for `bootcamp release --check`.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from grader import paths

_PLACEHOLDER = "__BOOTCAMP_TODO__"
_TODO = re.compile(r"^\s*# TODO (?P<task>[a-z0-9_]+\.\d+): (?P<what>.+?)\s*$")


class ReleaseError(Exception):
    """A solution file whose markers are malformed (no TODO line, unclosed region, ...)."""


def skeleton_source(solution: str, practice: str) -> str:
    """The skeleton text for one solution file's text."""
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


def practices(solutions_dir: Path | None = None) -> list[str]:
    """Every practice with a reference solution, in course order where known, else by name.

    Where there is no `solutions/` (the student edition), the practices of `assignments/`.
    """
    if solutions_dir is None:
        solutions_dir = paths.SOLUTIONS_DIR if paths.SOLUTIONS_DIR.is_dir() else paths.ASSIGNMENTS_DIR
    found = sorted(p.stem for p in solutions_dir.glob("*.py") if not p.name.startswith("_"))
    order = ["basics", "conv_shapes", "mnist_cnn", "cgan", "dcgan", "pix2pix"]
    return sorted(found, key=lambda name: (order.index(name) if name in order else len(order), name))


def planned(solutions_dir: Path = paths.SOLUTIONS_DIR) -> dict[str, str]:
    """Skeleton file name -> the text `release()` writes."""
    return {f"{practice}.py": skeleton_source((solutions_dir / f"{practice}.py").read_text(), practice)
            for practice in practices(solutions_dir)}


def stale(solutions_dir: Path = paths.SOLUTIONS_DIR, assignments_dir: Path = paths.ASSIGNMENTS_DIR) -> list[str]:
    """Skeleton files that are missing or differ from the solutions they come from."""
    return [name for name, text in planned(solutions_dir).items()
            if not (assignments_dir / name).is_file() or (assignments_dir / name).read_text() != text]


def release(solutions_dir: Path = paths.SOLUTIONS_DIR, assignments_dir: Path = paths.ASSIGNMENTS_DIR) -> list[str]:
    """Write every skeleton that changed; return their names."""
    assignments_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in planned(solutions_dir).items():
        target = assignments_dir / name
        if target.is_file() and target.read_text() == text:
            continue
        write_atomically(target, text)
        written.append(name)
    return written


def write_atomically(target: Path, text: str) -> None:
    """Write `text` to a temporary file beside `target`, then rename it over `target`."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
