"""The grader's outputs, normalised, as the golden files of `tests/test_outputs_unchanged.py`.

The one command that regenerates the golden files after an intended change of an output:

    python tests/golden/make.py

(from the repository root, with the project's venv; a few minutes). It grades with the `grader`
package that Python imports, so the golden files of another checkout are made with

    PYTHONPATH=/path/to/checkout BOOTCAMP_ROOT=/path/to/checkout python tests/golden/make.py

(run the script by its path, not with `-m`: `-m` puts the current folder first on `sys.path`).
Each `bootcamp` command runs in a child process with the same `grader` (`PYTHONPATH`), the same
course (`BOOTCAMP_ROOT`), `TZ=UTC` and `--device cpu`. What each golden file holds, and what is
normalised in it (`normalised_text`, `MOVED`, `VARYING_KEYS`): tests/golden/README.md.
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import io
import json
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SKIP_CONVERGENCE = "not convergence"
CLASS_PRACTICES = ("basics", "conv_shapes")
# The third student's basics.py: the reference with one change (absolute error where the square is
# asked, as tests/mutations/basics/mse_without_square), made here so that the class does not
# depend on how the mutation corpus stores its files: (practice, reference line, mutated line).
MUTANT = ("basics", "return _reduce((pred - target) ** 2, reduction)",
          "return _reduce((pred - target).abs() * 2, reduction)")
DEADLINE = "2025-03-01T23:59"
SHOW_HIDDEN_AFTER = "2025-03-08T00:00"
SUBMITTED_AT = {"reference": "2025-03-01T12:00", "skeleton": "2025-03-01T23:00", "mutant": "2025-03-03T10:00"}
SUITE_FOLDERS = ("grader/suites/", "grader/practices/")  # before and after the reorganisation
# What the reorganisation moved, as the student edition's README and pyproject.toml name it:
# (before, after); `normalised_text` writes the first as the second.
MOVED = (SUITE_FOLDERS, ("grader/training/digit_judge.pt", "grader/judging/digit_judge.pt"),
         ('"suites/**/', '"practices/**/'))
VARYING_KEYS = {"suites_hash": "<hash>", "grader_version": "<version>"}  # in an export's JSON
FILES = ("check_assignments.json", "check_solutions.json", "student_edition.json", "exports.json")


# ------------------------------------------------------------------------------------------ running


class Tree:
    """The checkout being graded: the folder of the `grader` package Python imports, and the course
    root it grades (`grader.paths.REPO_ROOT`)."""

    def __init__(self) -> None:
        import grader
        from grader import paths

        self.code = Path(grader.__file__).resolve().parent.parent
        self.root = Path(paths.REPO_ROOT)

    def bootcamp(self, *args: str, cwd: Path, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
        """Run `bootcamp ARGS` with this tree's grader; raise with its output if the exit code is not in `ok`."""
        env = {**os.environ, "PYTHONPATH": str(self.code), "BOOTCAMP_ROOT": str(self.root), "TZ": "UTC"}
        program = "import sys; sys.argv[0] = 'bootcamp'; from grader.launch import main; main()"
        done = subprocess.run([sys.executable, "-c", program, *args], cwd=cwd, env=env, capture_output=True,
                              text=True)
        if done.returncode not in ok:
            raise RuntimeError(f"bootcamp {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def places(self, work: Path) -> list[tuple[str, str]]:
        """(absolute path, placeholder), longest first, for `normalised_text`."""
        found = {str(self.root): "<root>", str(self.code): "<root>", str(work): "<work>",
                 str(Path(work).resolve()): "<work>", sys.prefix: "<venv>"}
        return sorted(found.items(), key=lambda item: -len(item[0]))


# ------------------------------------------------------------------------------------------ normalising


GRADER_LINE = re.compile(r'(File "[^"]*grader/[^"]*\.py", line )\d+')
SUITES_HASH = re.compile(r"\b(suites?[ =:]+)[0-9a-f]{8,64}\b")
VERSION = re.compile(r"\b(grader )\d+\.\d+\.\d+[\w.+-]*")


def normalised_text(text: str, places: list[tuple[str, str]]) -> str:
    """`text` with what varies between runs and machines written the same way every time."""
    for path, placeholder in places:
        text = text.replace(path, placeholder)
    for before, after in MOVED:
        text = text.replace(before, after)
    text = GRADER_LINE.sub(r"\1<n>", text)
    text = SUITES_HASH.sub(r"\1<hash>", text)
    return VERSION.sub(r"\1<version>", text)


def normalised_report(report: dict, places: list[tuple[str, str]]) -> dict:
    """A `bootcamp check --json` report without timings, dates, versions and the machine's isolation."""
    def text(value: str) -> str:
        return normalised_text(value, places)

    return {
        "submission": text(report["submission"]), "public_only": report["public_only"],
        "device": report["device"], "errors": [text(e) for e in report["errors"]],
        "score": report["score"], "max_score": report["max_score"],
        "practices": [{
            "name": practice["name"], "score": practice["score"], "max_score": practice["max_score"],
            "tasks": [{
                "id": task["id"], "title": task["title"], "status": task["status"], "score": task["score"],
                "max_score": task["max_score"], "where": text(task["where"]),
                "tests": [{
                    "practice": practice["name"], "task": test["task"], "nodeid": text(test["nodeid"]),
                    "name": test["name"], "status": test["status"], "points": test["points"],
                    "category": test["category"], "visibility": test["visibility"], "style": test["style"],
                    "message": text(test["message"]), "output": text(test["output"]),
                    "pictures": [picture["name"] for picture in test["pictures"]],
                    "measures": [measure.get("name") for measure in test["measures"]],
                } for test in task["tests"]],
            } for task in practice["tasks"]],
        } for practice in report["practices"]],
    }


def value_digest(value: Any) -> Any:
    """A recorded value as plain JSON that two runs on any machine agree on: a float tensor as its
    dtype, shape and four sums in float64 (sum x, sum |x|, sum x^2 and sum x_i cos(i), the last
    one sensitive to order), rounded to 9 significant digits, for `tests/test_outputs_unchanged.py`
    to compare within a tolerance; an integer or boolean tensor as dtype, shape and the sha256 of
    its bytes; containers element by element."""
    import torch

    if isinstance(value, torch.Tensor):
        shape = list(value.shape)
        if value.is_floating_point() or value.is_complex():
            x = value.detach().to(torch.float64 if value.is_floating_point() else torch.complex128).flatten()
            x = torch.view_as_real(x).flatten() if x.is_complex() else x
            weights = torch.cos(torch.arange(x.numel(), dtype=torch.float64))
            sums = {"sum": x.sum(), "sum_abs": x.abs().sum(), "sum_sq": (x * x).sum(), "sum_cos": (x * weights).sum()}
            return {"tensor": str(value.dtype), "shape": shape,
                    **{name: _rounded(float(total)) for name, total in sums.items()}}
        data = value.detach().contiguous().cpu().numpy().tobytes()
        return {"tensor": str(value.dtype), "shape": shape, "sha256": hashlib.sha256(data).hexdigest()}
    if isinstance(value, float):
        return {"float": _rounded(value)}
    if isinstance(value, dict):
        return {str(key): value_digest(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return {type(value).__name__: [value_digest(item) for item in value]}
    return value


def _rounded(number: float) -> float | str:
    if not math.isfinite(number):
        return repr(number)
    return float(f"{number:.9g}")


class VisibleText(HTMLParser):
    """The text a reader sees on a page, one line per text run, with each picture's alt text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._hidden += 1
        if tag == "img":
            self.lines.append(f"[picture: {dict(attrs).get('alt', '')}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.lines.append(" ".join(data.split()))


def visible_text(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser.lines


def nbgrader_rows(database: Path) -> dict[str, Any]:
    """nbgrader's gradebook as the grades it holds, its random ids replaced by what they name."""
    with sqlite3.connect(database) as connection:
        query = lambda sql: [list(row) for row in connection.execute(sql)]  # noqa: E731
        tables = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'alembic_version' ORDER BY name")]
        return {
            "rows per table": {table: connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
                               for table in tables},
            "assignments": query("SELECT name, duedate, course_id FROM assignment ORDER BY name"),
            "students": query("SELECT id, first_name, last_name, email, lms_user_id FROM student ORDER BY id"),
            "grade cells": query(
                "SELECT a.name, n.name, c.name, c.type, g.max_score, g.cell_type FROM base_cell c "
                "JOIN notebook n ON c.notebook_id = n.id JOIN assignment a ON n.assignment_id = a.id "
                "LEFT JOIN grade_cells g ON g.id = c.id ORDER BY a.name, n.name, c.name"),
            "submissions": query(
                "SELECT a.name, s.student_id, s.timestamp, s.extension FROM submitted_assignment s "
                "JOIN assignment a ON s.assignment_id = a.id ORDER BY a.name, s.student_id"),
            "submitted notebooks": query(
                "SELECT s.student_id, n.name, sn.flagged, sn.late_submission_penalty FROM submitted_notebook sn "
                "JOIN submitted_assignment s ON sn.assignment_id = s.id JOIN notebook n ON sn.notebook_id = n.id "
                "ORDER BY s.student_id, n.name"),
            "grades": query(
                "SELECT s.student_id, n.name, c.name, g.auto_score, g.manual_score, g.extra_credit, "
                "g.needs_manual_grade FROM grade g JOIN submitted_notebook sn ON g.notebook_id = sn.id "
                "JOIN submitted_assignment s ON sn.assignment_id = s.id JOIN notebook n ON sn.notebook_id = n.id "
                "JOIN base_cell c ON g.cell_id = c.id ORDER BY s.student_id, n.name, c.name"),
            "comments": query("SELECT auto_comment, manual_comment FROM comment ORDER BY auto_comment"),
        }


def normalised_strings(data: Any, places: list[tuple[str, str]]) -> Any:
    """`data` (parsed JSON, rows, lines) with `normalised_text` applied to every string in it."""
    if isinstance(data, str):
        return normalised_text(data, places)
    if isinstance(data, dict):
        return {key: VARYING_KEYS.get(key) or normalised_strings(value, places) for key, value in data.items()}
    if isinstance(data, list):
        return [normalised_strings(item, places) for item in data]
    return data


def exported_file(path: Path, places: list[tuple[str, str]]) -> Any:
    """One exported file as comparable data (see the module docstring); normalised once parsed, so
    that a placeholder such as `<work>` is never read as markup."""
    if path.suffix == ".db":
        return normalised_strings(nbgrader_rows(path), places)
    text = path.read_text()
    if path.suffix == ".json":
        return normalised_strings(json.loads(text), places)
    if path.suffix == ".html":
        return normalised_strings(visible_text(text), places)
    if path.suffix == ".csv":
        return normalised_strings(list(csv.reader(io.StringIO(text))), places)
    return normalised_strings(text.splitlines(), places)


# ------------------------------------------------------------------------------------------ the outputs


def check_report(tree: Tree, work: Path, folder: str) -> dict:
    """`bootcamp check --json` of the course's `folder` (assignments, solutions), every test but convergence."""
    report = work / f"{folder}.json"
    tree.bootcamp("check", "--path", str(tree.root / folder), "-k", SKIP_CONVERGENCE, "--device", "cpu",
                  "--json", str(report), cwd=work, ok=(0, 1))
    return normalised_report(json.loads(report.read_text()), tree.places(work))


def public_tests(module: str) -> dict[str, dict]:
    """test name -> its `@task` decorator's task, points and visibility, for a suite module's source."""
    tests = {}
    for node in ast.walk(ast.parse(module)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
            marker = {}
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "task":
                    marker = {"task": ast.literal_eval(decorator.args[0]),
                              **{k.arg: ast.literal_eval(k.value) for k in decorator.keywords
                                 if k.arg in ("points", "visibility", "category")}}
            tests[node.name] = marker
    return dict(sorted(tests.items()))


def student_edition(tree: Tree, work: Path) -> dict:
    """What `bootcamp release --student` writes, as described in the module docstring."""
    stale = tree.bootcamp("release", "--check", cwd=work, ok=(0, 1))
    if stale.returncode:
        raise RuntimeError(f"assignments/ is stale, and `bootcamp release` would rewrite it:\n{stale.stderr}")
    edition = work / "student"
    tree.bootcamp("release", "--student", str(edition), cwd=work)
    return edition_contents(edition, tree.places(work))


def edition_contents(edition: Path, places: list[tuple[str, str]]) -> dict:
    """A built student edition as comparable data (see the module docstring)."""
    import torch

    files = sorted(p.relative_to(edition).as_posix() for p in edition.rglob("*") if p.is_file())
    practices: dict[str, dict] = {}
    grader_data = {}
    for name in files:
        path = edition / name
        if not name.startswith("grader/"):
            continue
        suite = next((folder for folder in SUITE_FOLDERS if name.startswith(folder) and name.count("/") == 3), None)
        if suite is None:
            if not name.endswith(".py"):
                grader_data[Path(name).name] = _data_file(path)
            continue
        practice, file = name[len(suite):].split("/")
        entry = practices.setdefault(practice, {"withheld.json": None, "public tests": {}, "recorded values": None})
        if file == "withheld.json":
            entry["withheld.json"] = json.loads(path.read_text())
        elif file == "expected.pt":
            stored = torch.load(path, weights_only=True)
            entry["recorded values"] = {"format": stored["format"], "practice": stored["practice"],
                                        "values": {key: value_digest(value)
                                                   for key, value in sorted(stored["values"].items())}}
        elif file.startswith("test_") and file.endswith(".py"):
            entry["public tests"][file] = public_tests(path.read_text())
        elif not file.endswith(".py"):
            entry[file] = _data_file(path)
    skeletons = {name: hashlib.sha256((edition / name).read_bytes()).hexdigest()
                 for name in files if name.startswith("assignments/")}
    others = {name: exported_file(edition / name, places) for name in files
              if not name.startswith(("assignments/", "grader/"))}
    return {"assignments (sha256)": skeletons, "other files": others,
            "practices": dict(sorted(practices.items())), "grader data files": dict(sorted(grader_data.items()))}


def _data_file(path: Path) -> Any:
    """A data file of the edition: a JSON file as its content, a torch file as `value_digest` of
    what `torch.load(weights_only=True)` reads, anything else as its sha256."""
    import torch

    if path.suffix == ".json":
        return json.loads(path.read_text())
    if path.suffix in (".pt", ".pth"):
        return value_digest(torch.load(path, weights_only=True))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def class_submissions(tree: Tree, folder: Path) -> Path:
    """Write the small class into `folder`; return the CSV of its submission times."""
    for student, source in (("reference", "solutions"), ("skeleton", "assignments"), ("mutant", "solutions")):
        (folder / student).mkdir(parents=True)
        for practice in CLASS_PRACTICES:
            shutil.copyfile(tree.root / source / f"{practice}.py", folder / student / f"{practice}.py")
    practice, line, mutated = MUTANT
    module = folder / "mutant" / f"{practice}.py"
    text = module.read_text()
    if text.count(line) != 1:
        raise RuntimeError(f"solutions/{practice}.py has {text.count(line)} lines `{line}`, not one: update MUTANT")
    module.write_text(text.replace(line, mutated))
    times = folder.parent / "times.csv"
    times.write_text("student,submitted_at\n" + "".join(f"{s},{t}\n" for s, t in SUBMITTED_AT.items()))
    return times


def exports(tree: Tree, work: Path) -> dict[str, Any]:
    """Every file `bootcamp export` writes for the small class: {"<export folder>/<file>": data}."""
    submissions = work / "submissions"
    times = class_submissions(tree, submissions)
    grading, later = work / "grading", work / "grading-after-deadline"
    practices = [option for practice in CLASS_PRACTICES for option in ("-p", practice)]
    tree.bootcamp("grade", str(submissions), *practices, "--out", str(grading), "-j", "1", "--device", "cpu",
                  "--deadline", DEADLINE, "--times", str(times), "--export", "none", cwd=work)
    tree.bootcamp("export", "all", "--out", str(grading), "--submissions", str(submissions), cwd=work)
    tree.bootcamp("export", "feedback", "gradescope", "--out", str(later), "--db", str(grading / "gradebook.sqlite"),
                  "--show-hidden-after", SHOW_HIDDEN_AFTER, cwd=work)
    return exported_files({"all": grading, "show-hidden-after": later}, tree.places(work))


def exported_files(folders: dict[str, Path], places: list[tuple[str, str]]) -> dict[str, Any]:
    """Every export in `folders` (name -> the `--out` folder an export wrote) as comparable data."""
    found = {}
    for name, folder in folders.items():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            if relative.startswith(".") or relative == "gradebook.sqlite" or "/." in relative:
                continue  # the gradebook itself, its lock and work folders: not exports
            found[f"{name}/{relative}"] = exported_file(path, places)
    return found


def generate(work: Path) -> dict[str, Any]:
    """Every golden file's content: {file name: data}, made with the `grader` Python imports."""
    tree = Tree()
    return {"check_assignments.json": check_report(tree, work, "assignments"),
            "check_solutions.json": check_report(tree, work, "solutions"),
            "student_edition.json": student_edition(tree, work),
            "exports.json": exports(tree, work)}


def dumped(data: Any) -> str:
    """The text of a golden file: JSON, one value per line, keys in order."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the golden files (default: this one)")
    parser.add_argument("--work", type=Path,
                        help="a new folder to grade in, kept afterwards (default: a temporary one)")
    arguments = parser.parse_args()
    tree = Tree()
    print(f"grading with {tree.code / 'grader'}, course {tree.root}", file=sys.stderr)
    if arguments.work:
        arguments.work.mkdir(parents=True)
        outputs = generate(arguments.work.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="golden-") as work:
            outputs = generate(Path(work))
    arguments.out.mkdir(parents=True, exist_ok=True)
    for name, data in outputs.items():
        (arguments.out / name).write_text(dumped(data))
        print(f"wrote {arguments.out / name}", file=sys.stderr)


if __name__ == "__main__":
    main()
