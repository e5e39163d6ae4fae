"""A practice notebook (`<practice>.ipynb`) as the practice module it stands for (`<practice>.py`).

The code cells, in order, become the module; each starts with a `# cell N` comment so a line of
the module can be found in the notebook. What is not Python is dropped, with a note:

- a cell magic (`%%time`, `%%bash`, ...) drops its whole cell;
- a line magic (`%matplotlib inline`) or a shell escape (`!pip install x`) becomes a comment, or
  `pass` inside a block, so the block around it keeps its shape.

Markdown and raw cells are skipped, and so are the cells' outputs: whatever a notebook claims to
have printed or scored is never read. A cell that does not parse is a `NotebookError` naming the
cell and its line. The module is then graded in the sandbox exactly like a `.py` file.

A place in the module (`File "<practice>.py", line 33` in a traceback) is given back as the place
in the notebook (`File "<practice>.ipynb", cell 4, line 3`) by `name_cells`, with the cells' lines that
`notebook_module` records while it builds the module (never read back from the module's text).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

_MAGIC = re.compile(r"^(\s*)([%!])")


def grade_id(tasks: list[str]) -> str:
    """nbgrader's id for the cell of `tasks` (ids may hold only letters, digits, _ and -):
    `<practice>.1` -> `<practice>-1`; a class with two tasks, `<practice>.1` and `.2` ->
    `<practice>-1-2`."""
    practice = tasks[0].split(".")[0]
    return "-".join([practice] + [task.split(".", 1)[1] for task in tasks])


class NotebookError(Exception):
    """A notebook that cannot become a module: not a notebook, or a cell with a syntax error."""


@dataclass
class NotebookModule:
    """A notebook as its practice module: the text, the notes, and where each code cell lies in it:
    (the module's line of the cell's first line, the cell's number in the notebook, its lines)."""

    text: str
    notes: list[str] = field(default_factory=list)
    cells: list[tuple[int, int, int]] = field(default_factory=list)

    def place(self, line: int) -> tuple[int, int] | None:
        """(cell number, line in the cell) of the module's `line`; None for a line no cell wrote."""
        for first, cell, count in self.cells:
            if first <= line < first + count:
                return cell, line - first + 1
        return None


def notebook_to_source(data: bytes | str, name: str) -> tuple[str, list[str]]:
    """The module text of the notebook `data` (called `name` in messages), and the notes."""
    module = notebook_module(data, name)
    return module.text, module.notes


def notebook_module(data: bytes | str, name: str) -> NotebookModule:
    """The notebook `data` (called `name` in messages) as a module; `NotebookError` if it cannot be."""
    try:
        notebook = json.loads(data)
        cells = notebook["cells"]
        assert isinstance(cells, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise NotebookError(f"{name}: not a Jupyter notebook (nbformat 4 JSON with a list of cells)") from None
    parts, notes, places = [], [], []
    code_number = 0
    line = 1  # the module's line where the next part starts
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
        for text_line in source.splitlines():
            magic = _MAGIC.match(text_line)
            if magic:
                kind = "a shell escape" if magic.group(2) == "!" else "a line magic"
                notes.append(f"{name}, cell {number}: {kind} was dropped ({text_line.strip()[:60]})")
                statement = "pass  " if magic.group(1) else ""  # a block keeps a statement; the top level keeps
                text_line = f"{magic.group(1)}{statement}# dropped: {text_line.strip()[:60]}"  # `from __future__` first
            lines.append(text_line)
        text = "\n".join(lines)
        try:
            compile(text, name, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except SyntaxError as error:
            raise NotebookError(f"{name}, cell {number}, line {error.lineno}: syntax error: {error.msg}") from None
        part = f"# cell {number}\n{text}\n"
        places.append((line + 1, number, len(lines)))  # the cell's lines follow its `# cell N` line
        parts.append(part)
        line += part.count("\n") + 1  # parts are joined by one more newline
    if not code_number:
        raise NotebookError(f"{name}: no code cell")
    return NotebookModule("\n".join(parts), notes, places)


def name_cells(text: str, module_files: list[str] | tuple[str, ...], notebook: str,
               module: NotebookModule) -> str:
    """`text` with each place in the module (`File "<module file>", line 33`, or `<module file>,
    line 33`, where the module file is any of `module_files`) named as the notebook's cell:
    `File "<practice>.ipynb", cell 4, line 3`."""
    if not text or not module_files:
        return text
    files = "|".join(re.escape(name) for name in sorted(set(module_files), key=len, reverse=True))
    pattern = re.compile(rf'(?<![\w./\\-])(?P<quote>"?)(?:{files})(?P=quote), line (?P<line>\d+)')

    def named(match: re.Match) -> str:
        place = module.place(int(match["line"]))
        if place is None:
            return match.group(0)
        quote = match["quote"]
        return f"{quote}{notebook}{quote}, cell {place[0]}, line {place[1]}"

    return pattern.sub(named, text)
