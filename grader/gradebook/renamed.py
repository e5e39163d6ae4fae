"""Practice files under other names: what LMSs and browsers do to an upload, and files that look like one.

A learning management system or a second download renames a file; the grader still finds it:

    <practice> (1).py, <practice>(2).py     a copy suffix (a browser's second download, Moodle, Blackboard)
    <practice>-1.py                         Canvas's suffix for a resubmission
    alice_12345_67890_<practice>.py         Canvas's "download submissions" prefix (name, ids; `_LATE_` too)
    alice_LATE_12345_67890_<practice>-2.py

`lms_name` says which practice such a name stands for. A file under any other name is never
graded, but when its content is recognisably a practice (it defines most of the functions and
classes of that practice's skeleton, read with `ast`, never run), `lookalike` names the practice,
so the student's note can say which file to rename.

Moodle's per-student folders (`Alice Smith_123_assignsubmission_file_/`) are recognised by
`moodle_student`, which gives the student id the folder stands for.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache

from grader import paths

SUFFIXES = (".py", ".ipynb")
_CANVAS = re.compile(r"^[^_]+_(?:late_)?\d+_\d+_(?P<rest>.+)$", re.IGNORECASE)
_COPY = re.compile(r"^(?P<stem>.+?)(?: ?\((?P<paren>\d+)\)|-(?P<dash>\d+))$")
_MOODLE = re.compile(r"^(?P<student>.+)_assignsubmission_(?P<kind>file|onlinetext)_?$")
LOOKALIKE_SHARE = 0.5  # a file defining at least half of a skeleton's names looks like that practice


@dataclass(frozen=True)
class Renamed:
    """A file name that stands for `<practice><suffix>`; `copy` orders copies (the highest is the latest)."""

    practice: str
    suffix: str
    copy: int
    how: str  # "a copy suffix", "Canvas's name for an upload", ...

    def note(self, shown: str) -> str:
        return f"graded {shown} as {self.practice}{self.suffix} ({self.how})"


def lms_name(name: str, known: list[str] | tuple[str, ...]) -> Renamed | None:
    """The practice a renamed upload stands for, or None (also for the exact name `<practice>.py`)."""
    suffix = next((s for s in SUFFIXES if name.endswith(s)), None)
    if suffix is None:
        return None
    stem = name[: -len(suffix)]
    hows = []
    canvas = _CANVAS.match(stem)
    if canvas and (canvas["rest"] in known or _strip_copy(canvas["rest"])[0] in known):
        stem = canvas["rest"]
        hows.append("Canvas's name for an upload")
    bare, copy = _strip_copy(stem)
    if copy is not None and bare in known:
        stem = bare
        hows.append("a copy suffix")
    if stem not in known or not hows:
        return None
    return Renamed(stem, suffix, copy or 0, " with ".join(hows))


def _strip_copy(stem: str) -> tuple[str, int | None]:
    match = _COPY.match(stem)
    if not match:
        return stem, None
    return match["stem"], int(match["paren"] or match["dash"])


def moodle_student(folder_name: str) -> tuple[str, str] | None:
    """(student id, kind) for a Moodle folder `<Full Name>_<id>_assignsubmission_<kind>_`; else None."""
    match = _MOODLE.match(folder_name)
    return (match["student"], match["kind"]) if match else None


@lru_cache(maxsize=None)
def skeleton_names(practice: str) -> frozenset[str]:
    """The top-level functions and classes of `assignments/<practice>.py` (a trusted file)."""
    path = paths.ASSIGNMENTS_DIR / f"{practice}.py"
    if not path.is_file():
        return frozenset()
    return frozenset(_defined(path.read_bytes()) or ())


def _defined(source: bytes) -> set[str] | None:
    """Names of the top-level defs and classes of `source`, parsed (never run); None if it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and not node.name.startswith("_")}


def lookalike(source: bytes, practices: list[str]) -> tuple[str, list[str]] | None:
    """(practice, the skeleton's names it defines) when `source` is recognisably one of `practices`."""
    defined = _defined(source)
    if not defined:
        return None
    best = None
    for practice in practices:
        wanted = skeleton_names(practice)
        shared = sorted(wanted & defined)
        if wanted and len(shared) >= max(2, LOOKALIKE_SHARE * len(wanted)):
            if best is None or len(shared) / len(wanted) > len(best[1]) / len(skeleton_names(best[0])):
                best = (practice, shared)
    return best
