"""Helpers for the batch grader's tests: classes of submissions built from solutions/ and assignments/.

Grading runs the real suites through the real sandbox, so each graded submission costs seconds.
To keep the tests quick they grade a few tests only (`SELECT`, a pytest -k expression with public
and hidden tests of two practices), and one mixed class is graded once per session
(`graded_class` in conftest.py) and inspected by many tests.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from grader import paths

PRACTICES = ["basics", "conv_shapes"]
# public: relu (basics.1), mse (basics.4), conv output size (conv_shapes.1); hidden: tanh stability (basics.1)
SELECT = "test_relu_matches or tanh_is_stable or mse_loss_matches or conv_output_size_examples"
DEADLINE = "2030-01-01T00:00:00+00:00"


def source(folder: Path, practice: str) -> str:
    return (folder / f"{practice}.py").read_text()


SOLUTION = {p: source(paths.SOLUTIONS_DIR, p) for p in PRACTICES}
SKELETON = {p: source(paths.ASSIGNMENTS_DIR, p) for p in PRACTICES}
PARTIAL_BASICS = SOLUTION["basics"] + "\n\ndef relu(x):\n    return x * 1.0  # wrong on purpose\n"
SYNTAX_ERROR = "import torch\n\ndef relu(x):\n    return x +\n"


def write_folder(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True)
    for name, text in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode() if isinstance(text, str) else text)
    return folder


def write_zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def build_graded_students(folder: Path) -> dict[str, str]:
    """The six submissions that get graded; returns student -> what it is."""
    write_folder(folder / "alice", {"basics.py": SOLUTION["basics"], "conv_shapes.py": SOLUTION["conv_shapes"]})
    write_folder(folder / "bob", {"basics.py": SKELETON["basics"], "conv_shapes.py": SKELETON["conv_shapes"]})
    write_folder(folder / "carol", {"basics.py": PARTIAL_BASICS})
    write_zip(folder / "dave.zip", {"dave/basics.py": SOLUTION["basics"],
                                    "dave/conv_shapes.py": SOLUTION["conv_shapes"], "dave/README.txt": "my work"})
    write_folder(folder / "erin", {"basics.py": SYNTAX_ERROR, "conv_shapes.py": SOLUTION["conv_shapes"]})
    frank = write_folder(folder / "frank", {"basics.py": SOLUTION["basics"], "homework3.py": "x = 1\n"})
    (frank / os.fsdecode(b"notes-\xff.txt")).write_text("not UTF-8")
    return {"alice": "complete", "bob": "skeleton", "carol": "partial", "dave": "complete zip",
            "erin": "syntax error in basics", "frank": "basics only, extra files"}


def build_hostile_students(folder: Path) -> dict[str, str]:
    """Submissions rejected before grading; returns student -> a phrase of the expected reason."""
    write_zip(folder / "mallory.zip", {"basics.py": SOLUTION["basics"], "../../evil.py": "print('escaped')"})
    write_zip(folder / "oscar.zip", {"/tmp/evil.py": "x = 1", "basics.py": SOLUTION["basics"]})
    (folder / "trudy.zip").write_bytes(b"PK\x03\x04 this is not really a zip file")
    (folder / "peggy").mkdir()
    (folder / "[bold]x").mkdir()  # rich markup in an id must be printed as it is
    write_folder(folder / "victor", {"basics.py": SOLUTION["basics"]})
    write_zip(folder / "victor.zip", {"basics.py": SOLUTION["basics"]})
    walter = write_folder(folder / "walter", {"homework.py": "x = 1\n"})
    (walter / "basics.py").symlink_to(paths.SOLUTIONS_DIR / "basics.py")
    write_zip(folder / "zoe.zip", {"basics.py": SOLUTION["basics"], "weights.bin": bytes(3 * 2**20)})
    write_folder(folder / os.fsdecode(b"ren\xe9"), {"basics.py": SOLUTION["basics"]})
    return {"mallory": "leads outside the submission", "oscar": "is absolute", "trudy": "not a readable .zip",
            "peggy": "no practice file", "[bold]x": "no practice file",
            "victor": "two submissions with this id", "walter": "symbolic link",
            "zoe": "MiB allowed", "ren\\xe9": "not valid UTF-8"}


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every entry under `folder` with its mode, size and content (links: their target)."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            info = path.lstat()
            if path.is_symlink():
                content = os.readlink(path).encode()
            else:
                content = path.read_bytes() if path.is_file() else b""
            found[os.fsencode(path.relative_to(folder)).hex()] = (info.st_mode, info.st_size, content)
    return found


def grade_args(submissions: Path, out: Path, *extra: str) -> list[str]:
    return [str(submissions), "--out", str(out), "-p", "basics", "-p", "conv_shapes", "--select", SELECT,
            "-j", "2", *extra]


def invoke(command, args: list[str]):
    return CliRunner().invoke(command, args, env={"COLUMNS": "200"}, catch_exceptions=False)


@dataclass
class GradedClass:
    root: Path
    submissions: Path
    out: Path
    output: str
    exit_code: int
    graded: dict[str, str]
    hostile: dict[str, str]
    before: dict
    after: dict

    @property
    def db(self) -> Path:
        return self.out / "gradebook.sqlite"

    def query(self, sql: str, *args) -> list[sqlite3.Row]:
        connection = sqlite3.connect(self.db)
        connection.row_factory = sqlite3.Row
        try:
            return connection.execute(sql, args).fetchall()
        finally:
            connection.close()


def task_scores(db: Path) -> dict[tuple[str, str], float]:
    """(student, task) -> points, from the current grades of a gradebook."""
    from grader.gradebook import view

    return view.task_scores(view.load(db, tests=False))


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
