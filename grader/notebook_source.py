"""A practice notebook (`basics.ipynb`) as the practice module it stands for (`basics.py`).

The code cells, in order, become the module; each starts with a `# cell N` comment so a line of
the module can be found in the notebook. What is not Python is dropped, with a note:

- a cell magic (`%%time`, `%%bash`, ...) drops its whole cell;
- a line magic (`%matplotlib inline`) or a shell escape (`!pip install x`) becomes a comment, or
  `pass` inside a block, so the block around it keeps its shape.

Markdown and raw cells are skipped, and so are the cells' outputs: whatever a notebook claims to
have printed or scored is never read. A cell that does not parse is a `NotebookError` naming the
cell and its line. The module is then graded in the sandbox exactly like a `.py` file.
"""

from __future__ import annotations

import ast
import json
import re

_MAGIC = re.compile(r"^(\s*)([%!])")


def grade_id(tasks: list[str]) -> str:
    """nbgrader's id for the cell of `tasks` (ids may hold only letters, digits, _ and -):
    `basics.1` -> `basics-1`; a class with two tasks, `mnist_cnn.1` and `.2` -> `mnist_cnn-1-2`."""
    practice = tasks[0].split(".")[0]
    return "-".join([practice] + [task.split(".", 1)[1] for task in tasks])


class NotebookError(Exception):
    """A notebook that cannot become a module: not a notebook, or a cell with a syntax error."""


def notebook_to_source(data: bytes | str, name: str) -> tuple[str, list[str]]:
    """The module text of the notebook `data` (called `name` in messages), and the notes."""
    try:
        notebook = json.loads(data)
        cells = notebook["cells"]
        assert isinstance(cells, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise NotebookError(f"{name}: not a Jupyter notebook (nbformat 4 JSON with a list of cells)") from None
    parts, notes = [], []
    code_number = 0
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        code_number += 1
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if source.lstrip().startswith("%%"):
            notes.append(f"{name}, cell {number}: a cell magic ({source.strip().splitlines()[0]}) was dropped")
            continue
        lines = []
        for line in source.splitlines():
            magic = _MAGIC.match(line)
            if magic:
                kind = "a shell escape" if magic.group(2) == "!" else "a line magic"
                notes.append(f"{name}, cell {number}: {kind} was dropped ({line.strip()[:60]})")
                statement = "pass  " if magic.group(1) else ""  # a block keeps a statement; the top level keeps
                line = f"{magic.group(1)}{statement}# dropped: {line.strip()[:60]}"  # `from __future__` first
            lines.append(line)
        text = "\n".join(lines)
        try:
            compile(text, name, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except SyntaxError as error:
            raise NotebookError(f"{name}, cell {number}, line {error.lineno}: syntax error: {error.msg}") from None
        parts.append(f"# cell {number}\n{text}\n")
    if not code_number:
        raise NotebookError(f"{name}: no code cell")
    return "\n".join(parts), notes
