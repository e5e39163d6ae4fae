"""Notebooks: `bootcamp release --notebooks`, real nbgrader on them, and `.ipynb` submissions graded like `.py`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from grader import paths
from grader.cli import cli
from grader.gradebook.submissions import Found, unpack
from grader.handout.notebooks import write_notebooks
from grader.gradebook.executors import Job, grade_job
from grader.notebook_source import NotebookError, grade_id, name_cells, notebook_module, notebook_to_source

SOLUTION = (paths.SOLUTIONS_DIR / "basics.py").read_text()
SELECT = "test_relu_matches or tanh_is_stable or mse_loss_matches or sgd_step_moves or linear_forward_is_written"


def as_notebook(*cells) -> str:
    return nbformat.writes(new_notebook(cells=list(cells)))


def test_code_cells_in_order_magics_and_shell_escapes_dropped_with_a_note():
    text, notes = notebook_to_source(as_notebook(
        new_markdown_cell("x = 'markdown is not code'"),
        new_code_cell("%matplotlib inline\nimport torch\nif True:\n    !pip install nothing\n"),
        new_code_cell("%%bash\necho hi"),
        new_code_cell("def relu(x):\n    return x.clamp(min=0)")), "basics.ipynb")
    assert "markdown is not code" not in text and "echo hi" not in text
    assert text.index("# cell 2") < text.index("import torch") < text.index("# cell 4") < text.index("def relu")
    assert "    pass  # dropped: !pip install nothing" in text and "\n# dropped: %matplotlib inline\n" in text
    compile(text, "basics.py", "exec")
    assert [n.split(": ")[1].split(" ")[1] for n in notes] == ["line", "shell", "cell"]
    assert all(n.startswith("basics.ipynb, cell ") for n in notes)


def test_a_syntax_error_names_its_cell_and_line():
    with pytest.raises(NotebookError, match=r"basics.ipynb, cell 3, line 2: syntax error"):
        notebook_to_source(as_notebook(new_code_cell("x = 1"), new_markdown_cell("m"),
                                       new_code_cell("def f():\n    return (")), "basics.ipynb")
    with pytest.raises(NotebookError, match="not a Jupyter notebook"):
        notebook_to_source(b"print('hello')", "basics.ipynb")


def test_each_line_of_the_module_knows_its_cell_and_line():
    cells = [new_markdown_cell("# intro"), new_code_cell("import torch\n%matplotlib inline\nx = 1"),
             new_code_cell("%%time\ny = 2"), new_markdown_cell("m"), new_code_cell(""),
             new_code_cell("def relu(x):\n    if True:\n        !ls\n    return x")]
    module = notebook_module(as_notebook(*cells), "basics.ipynb")
    lines = module.text.split("\n")
    assert [cell for _, cell, _ in module.cells] == [2, 5, 6]  # the cell magic's cell is dropped
    for first, cell, count in module.cells:
        source = cells[cell - 1].source.splitlines()
        assert count == len(source)
        for number, text in enumerate(source, start=1):
            assert module.place(first + number - 1) == (cell, number)
            assert lines[first + number - 2] == text or "# dropped: " in lines[first + number - 2]
    assert module.place(1) is None  # the `# cell 2` line: no cell wrote it
    assert module.place(len(lines) + 1) is None


def test_places_in_the_module_are_named_as_cells():
    module = notebook_module(as_notebook(new_markdown_cell("m"), new_code_cell("a = 1"),
                                         new_code_cell("def relu(x):\n    raise ValueError(x)")), "basics.ipynb")
    line = module.text.split("\n").index("    raise ValueError(x)") + 1
    text = (f'File "/tmp/bootcamp-notebooks-x/basics.py", line {line}, in relu\n'
            f'basics.py, line {line}: syntax error\n'
            f'File "/srv/grader/practices/basics/test_relu.py", line {line}, in test\n'
            f'File "my_basics.py", line {line}, in f')
    named = name_cells(text, ["/tmp/bootcamp-notebooks-x/basics.py", "basics.py"], "work/basics.ipynb", module)
    assert named.splitlines() == ['File "work/basics.ipynb", cell 3, line 2, in relu',
                                  "work/basics.ipynb, cell 3, line 2: syntax error",
                                  f'File "/srv/grader/practices/basics/test_relu.py", line {line}, in test',
                                  f'File "my_basics.py", line {line}, in f']


def test_nbgrader_ids_hold_no_dots():
    assert grade_id(["basics.1"]) == "basics-1" and grade_id(["mnist_cnn.1", "mnist_cnn.2"]) == "mnist_cnn-1-2"


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("notebooks")
    assert write_notebooks(folder, ["basics"]) == ["source/basics.ipynb", "release/basics.ipynb"]
    return folder


def test_one_solution_cell_per_task_with_the_lectures_text(notebooks):
    source = nbformat.read(notebooks / "source" / "basics.ipynb", as_version=4)
    nbformat.validate(source)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in source.cells if "nbgrader" in c.metadata]
    assert ids == [f"basics-{n}" for n in range(1, 8)]
    assert source.cells[0].cell_type == "markdown" and source.cells[0].source.split("\n")[0] in SOLUTION
    assert any("max(0, x)" in c.source for c in source.cells if c.cell_type == "markdown")
    assert "### BEGIN SOLUTION" in "".join(c.source for c in source.cells)
    released = nbformat.read(notebooks / "release" / "basics.ipynb", as_version=4)
    text = "".join(c.source for c in released.cells)
    assert "BEGIN SOLUTION" not in text and 'raise NotImplementedError("basics.1: implement relu' in text
    assert 'if __name__ == "__main__":' in released.cells[-1].source and '"check", "basics"' in released.cells[-1].source


@pytest.mark.slow
def test_nbgrader_generate_assignment_accepts_the_source_version(notebooks, tmp_path):
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "source" / "ps1" / "basics.ipynb").write_bytes((notebooks / "source" / "basics.ipynb").read_bytes())
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n")
    # nbgrader's own command, as an instructor runs it: from the environment nbgrader is installed in
    # (it shells out to that environment's `alembic`)
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "ps1", "--force"],
                          capture_output=True, text=True, cwd=course, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    generated = nbformat.read(course / "release" / "ps1" / "basics.ipynb", as_version=4)
    text = "".join(c.source for c in generated.cells)
    assert "BEGIN SOLUTION" not in text and "torch.where(x > 0, x, torch.zeros_like(x))" not in text \
        and "NotImplementedError" in text


def check(path: Path, *args: str) -> tuple[int, dict, str]:
    report = path.parent / f"{path.name}.json"
    result = CliRunner().invoke(cli, ["check", "basics", "--path", str(path), "-k", SELECT, "--json", str(report),
                                      *args], env={"COLUMNS": "200"})
    return result.exit_code, json.loads(report.read_text()) if report.exists() else {}, result.output


def statuses(report: dict) -> dict[str, str]:
    return {t["name"]: t["status"] for p in report["practices"] for task in p["tasks"] for t in task["tests"]}


@pytest.mark.slow
def test_a_notebook_grades_the_same_as_the_module_with_the_same_code(tmp_path):
    broken = SOLUTION + "\n\ndef relu(x):\n    return x * 1.0\n"
    (tmp_path / "module").mkdir()
    (tmp_path / "module" / "basics.py").write_text(broken)
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "basics.ipynb").write_text(as_notebook(
        new_markdown_cell("# my work"), new_code_cell("%load_ext autoreload\n" + SOLUTION),
        new_code_cell("def relu(x):\n    return x * 1.0")))
    code_py, report_py, _ = check(tmp_path / "module")
    code_nb, report_nb, output = check(tmp_path / "book")  # a folder holding basics.ipynb
    assert statuses(report_py) == statuses(report_nb)
    assert set(statuses(report_py).values()) == {"passed", "failed"} and code_py == code_nb == 1
    assert report_py["score"] == report_nb["score"]
    assert "a line magic was dropped" in output


@pytest.mark.slow
def test_forged_outputs_are_never_trusted(tmp_path):
    skeleton = (paths.ASSIGNMENTS_DIR / "basics.py").read_text()
    forged = new_code_cell(skeleton, execution_count=3, outputs=[
        new_output("stream", name="stdout", text="Total: 41 / 41 points\nbasics.1 passed\n"),
        new_output("execute_result", data={"text/plain": "{'score': 41, 'max_score': 41}"}, execution_count=3)])
    notebook = tmp_path / "basics.ipynb"
    notebook.write_text(as_notebook(forged))
    code, report, _ = check(notebook)  # --path basics.ipynb
    assert code == 1 and report["score"] == 0 and set(statuses(report).values()) == {"not implemented"}


def test_a_broken_notebook_is_one_line_with_its_cell(tmp_path):
    notebook = tmp_path / "basics.ipynb"
    notebook.write_text(as_notebook(new_code_cell("x = 1"), new_code_cell("def relu(x)\n    return x")))
    result = CliRunner().invoke(cli, ["check", "--path", str(notebook)])
    assert result.exit_code == 2 and "cell 2, line 1: syntax error" in result.output
    assert "Traceback" not in result.output


def test_a_batch_takes_the_notebook_when_there_is_no_module(tmp_path):
    (tmp_path / "alice" / "work").mkdir(parents=True)
    (tmp_path / "alice" / "work" / "basics.ipynb").write_text(as_notebook(new_code_cell("%time x = 1\ny = 2")))
    (tmp_path / "alice" / "conv_shapes.ipynb").write_text(as_notebook(new_code_cell("def f(:\n    pass")))
    unpacked = unpack(Found("alice", tmp_path / "alice", "folder"), ["basics", "conv_shapes"], ["basics", "conv_shapes"])
    module = unpacked.files["basics.py"].decode()
    assert "y = 2" in module and not any(line.startswith("%") for line in module.splitlines())
    assert "conv_shapes.py" not in unpacked.files and "cell 1, line 1" in unpacked.problems["conv_shapes"]
    assert any("line magic was dropped" in note for note in unpacked.notes)


BOOM = new_code_cell("def relu(x):\n    y = x * 1.0\n    raise ValueError('boom')")  # raises at its line 3


def test_a_notebooks_places_name_its_cells_in_the_check_and_its_json(tmp_path):
    notebook = tmp_path / "basics.ipynb"
    notebook.write_text(as_notebook(new_markdown_cell("# basics"), new_code_cell(SOLUTION), new_markdown_cell("m"),
                                    BOOM))
    result = CliRunner().invoke(cli, ["check", "--path", str(notebook), "-k", "test_relu_matches", "--json",
                                      str(tmp_path / "report.json")], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    task = report["practices"][0]["tasks"][0]
    shown = str(notebook)  # the notebook outside the working folder: its full path
    assert task["id"] == "basics.1" and task["status"] == "error"
    assert task["where"] == f"{shown}, cell 4, line 3"
    message = task["tests"][0]["message"]
    assert f'File "{shown}", cell 4, line 3, in relu' in message and "ValueError: boom" in message
    assert "cell 4, line 3" in result.output
    assert "bootcamp-notebooks-" not in json.dumps(report["practices"]) and "basics.py" not in message


def test_a_batch_names_the_cells_of_a_submitted_notebook(tmp_path):
    (tmp_path / "alice" / "work").mkdir(parents=True)
    (tmp_path / "alice" / "work" / "basics.ipynb").write_text(as_notebook(new_code_cell(SOLUTION), BOOM))
    unpacked = unpack(Found("alice", tmp_path / "alice", "folder"), ["basics"], ["basics"])
    assert unpacked.notebooks["basics"]["name"] == "work/basics.ipynb"
    result = grade_job(Job("alice", unpacked.files, ["basics"], select="test_relu_matches",
                           notebooks=unpacked.notebooks))
    task = result["report"]["practices"][0]["tasks"][0]
    assert result["status"] == "graded" and task["status"] == "error"
    assert task["where"] == "work/basics.ipynb, cell 2, line 3"
    assert 'File "work/basics.ipynb", cell 2, line 3, in relu' in task["tests"][0]["message"]
