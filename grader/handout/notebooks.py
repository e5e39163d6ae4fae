"""Jupyter notebooks, nbgrader style: `bootcamp release --notebooks DIR`.

For each practice, from `solutions/<practice>.py`:

- `DIR/source/<practice>.ipynb`, the instructor's version for nbgrader (`nbgrader generate_assignment`
  turns it into the students' version, as for any nbgrader course): the module docstring as a
  markdown cell (the lecture's explanation and formulas); then the module top to bottom, each
  top-level definition that holds a task as a markdown cell (its task ids, what to do, and its
  docstring) followed by its code cell, an nbgrader *solution cell* whose `grade_id` is the task
  id as nbgrader allows it (`<practice>-1`; a class with two tasks, `<practice>-1-2`), with the `### BEGIN/END SOLUTION`
  region inside; the code between them (imports, constants, helpers) as plain code cells;
- `DIR/release/<practice>.ipynb`, the same notebook with each solution region replaced by the
  stub the skeleton has (`raise NotImplementedError("<practice>.1: ...")`), ready to hand out;
- both end with a cell that runs `bootcamp check` on the saved notebook. It is guarded by
  `if __name__ == "__main__":`, true in a Jupyter kernel and false when the grader imports the
  notebook's code as the practice module, so grading never runs it.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from grader import paths, registry
from grader.notebook_source import grade_id as nbgrader_id
from grader.atomic import write_atomically
from grader.release import skeleton_source

_TODO = re.compile(r"^\s*# TODO (?P<task>[a-z0-9_]+\.\d+): (?P<what>.+?)\s*$")

CHECK_CELL = '''# Check your work (save the notebook first: the check reads the saved file).
if __name__ == "__main__":
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "grader", "check", "{practice}", "--path", "{practice}.ipynb"])'''


def chunks(source: str) -> list[dict]:
    """The module as cells: {"kind": "markdown"|"code"|"task", "text", "tasks", "doc"}."""
    tree = ast.parse(source)
    lines = source.split("\n")
    cells: list[dict] = []
    body = tree.body
    start = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        cells.append({"kind": "markdown", "text": ast.get_docstring(tree) or ""})
        start, body = body[0].end_lineno, body[1:]
    firsts = [min([n.lineno] + [d.lineno for d in getattr(n, "decorator_list", [])]) - 1 for n in body]
    pending: list[str] = lines[start:firsts[0]] if firsts else []
    for index, node in enumerate(body):
        # a definition runs to the next one: the comments after its last statement (### END SOLUTION) are its own
        text = lines[firsts[index]:firsts[index + 1] if index + 1 < len(body) else len(lines)]
        todos = [m for m in (_TODO.match(line) for line in text) if m]
        if not todos:
            pending += text
            continue
        tasks = list(dict.fromkeys(m["task"] for m in todos))
        whats = list(dict.fromkeys(f"`{m['task']}`: {m['what']}" for m in todos))
        doc = ast.get_docstring(node) if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else None
        doc = f"`{getattr(node, 'name', '')}`: {doc}" if doc else ""
        last = cells[-1] if cells else {}
        if last.get("kind") == "task" and set(tasks) <= set(last["tasks"]):  # one cell per task
            last["text"] += "\n" + "\n".join(pending + text).rstrip("\n")
            last["doc"] += ("\n\n" + doc) if doc else ""
            pending = []
            continue
        if "".join(pending).strip():
            cells.append({"kind": "code", "text": "\n".join(pending).strip("\n")})
        pending = []
        cells.append({"kind": "task", "text": "\n".join(text).strip("\n"), "tasks": tasks, "whats": whats,
                      "doc": doc})
    if "".join(pending).strip():
        cells.append({"kind": "code", "text": "\n".join(pending).strip("\n")})
    return cells


def notebook(practice: str, source: str, *, student: bool) -> dict:
    """The notebook of one practice (as nbformat 4 JSON); `student`: solution regions cleared."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    cells, used = [], set()
    for chunk in chunks(source):
        if chunk["kind"] == "markdown":
            cells.append(new_markdown_cell(chunk["text"]))
        elif chunk["kind"] == "code":
            cells.append(new_code_cell(chunk["text"], metadata={"editable": False}))
        else:
            heading = "### " + "; ".join(chunk["whats"])
            cells.append(new_markdown_cell(heading + ("\n\n" + chunk["doc"] if chunk["doc"] else "")))
            text = skeleton_source(chunk["text"] + "\n", practice).rstrip("\n") if student else chunk["text"]
            grade_id = nbgrader_id(chunk["tasks"])
            while grade_id in used:  # a task whose code is split by another task's
                grade_id += "-more"
            used.add(grade_id)
            cells.append(new_code_cell(text, metadata={"nbgrader": {
                "solution": True, "grade": False, "locked": False, "task": False, "grade_id": grade_id,
                "schema_version": 3}}))
    cells.append(new_markdown_cell("### Check your work\n\nRun the cell below after saving the notebook: it "
                                   f"grades the code cells of `{practice}.ipynb` with `bootcamp check`."))
    cells.append(new_code_cell(CHECK_CELL.format(practice=practice), metadata={"editable": False}))
    book = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    return book


def write_notebooks(folder: Path, practices: list[str] | None = None) -> list[str]:
    """Write `folder/source/<p>.ipynb` and `folder/release/<p>.ipynb` for each practice; their names."""
    import nbformat

    written = []
    for practice in practices or registry.names():
        source = (paths.SOLUTIONS_DIR / f"{practice}.py").read_text()
        for version, student in (("source", False), ("release", True)):
            target = Path(folder) / version / f"{practice}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            book = nbformat.from_dict(notebook(practice, source, student=student))
            nbformat.validate(book)
            write_atomically(target, json.dumps(book, indent=1, ensure_ascii=False) + "\n")
            written.append(f"{version}/{practice}.ipynb")
    return written
