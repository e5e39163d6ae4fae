"""A small graded class for the pages' tests: the six kinds of submission an instructor meets.

Only the fast practices (basics, conv_shapes) and a few of their tests (`gradebook_classes.SELECT`)
are graded, so the class grades in seconds; every export is written, similarity included.
"""

from __future__ import annotations

from pathlib import Path

from gradebook_classes import PARTIAL_BASICS, SKELETON, SOLUTION, grade_args, invoke, write_folder

SCRIPT = "<script>document.title='pwned'</script>"
IMG = "<img src=x onerror=\"document.title='pwned'\">"
HOSTILE_BASICS = SOLUTION["basics"] + (
    "\n\ndef relu(x):\n"
    f"    print({SCRIPT + IMG!r})\n"
    f"    raise ValueError({IMG + SCRIPT!r})\n")
STUDENTS = {"reference": "the solutions", "skeleton": "the untouched skeletons", "partial": "a wrong relu",
            "hostile": "markup in its messages and output", "missing": "no conv_shapes.py; a lookalike under "
            "another name", "renamed": "files renamed by an LMS"}


def build(folder: Path) -> None:
    write_folder(folder / "reference", {"basics.py": SOLUTION["basics"], "conv_shapes.py": SOLUTION["conv_shapes"]})
    write_folder(folder / "skeleton", {"basics.py": SKELETON["basics"], "conv_shapes.py": SKELETON["conv_shapes"]})
    write_folder(folder / "partial", {"basics.py": PARTIAL_BASICS, "conv_shapes.py": SKELETON["conv_shapes"]})
    write_folder(folder / "hostile", {"basics.py": HOSTILE_BASICS, "conv_shapes.py": SOLUTION["conv_shapes"]})
    write_folder(folder / "missing", {"basics.py": SOLUTION["basics"], "my_shapes.py": SOLUTION["conv_shapes"]})
    write_folder(folder / "renamed", {"basics (1).py": SOLUTION["basics"],
                                      "renamed_12345_67890_conv_shapes.py": SOLUTION["conv_shapes"]})


def grade_class(root: Path, *extra: str):
    """Build the class under `root/submissions`, grade it into `root/out` with every export."""
    submissions = root / "submissions"
    build(submissions)
    result = invoke(_grade_command(), grade_args(submissions, root / "out", "--export", "all", *extra))
    return submissions, root / "out", result


def _grade_command():
    from grader.gradebook.cli import grade_command

    return grade_command
