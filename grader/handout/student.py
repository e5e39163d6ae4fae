"""The student edition: what a student installs, built from this repository by `bootcamp release --student`.

It holds the skeletons (`assignments/`), the grader without its instructor parts (no `gradebook/`,
`handout/`, `validate.py`, `autograder.py`; `grader/edition.py` says `STUDENT = True`, so the CLI
offers only `check`, `list`, `train` and `data`), each practice's suite with only the tests that
can run there (see `grader.handout.strip`), the values of the reference its public tests compare
with (`grader/practices/<practice>/expected.pt`, recorded by grading `solutions/` with them:
`grader.recorded.record(..., hidden=False)`, fingerprinted with the grader's code as shipped), the
datasets' manifest, its own README (the student guide), `pyproject.toml`, `.gitignore` and a
GitHub Classroom workflow. No `solutions/`. The convergence checks run there too: the edition
ships the digit judge's weights and the declared layers of the models they draw with
(`edition_data`), and draws in a fresh worker (`grader.judging.drawing`).

`grader/practices/<practice>/withheld.json` tells `bootcamp check` and `bootcamp list` how many tests
of each task, and how many points, only the instructor's grader runs: counts and points, never
names. `planned()` is the whole edition as {relative path: bytes}, so that writing it, zipping it
and checking a built copy for staleness all compare the same thing.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import tempfile
from pathlib import Path

from grader import paths, recorded, registry
from grader.handout import zips
from grader.handout.filling import filled
from grader.handout.strip import Reach, graded_tests, import_aliases, strip_module, suite_tests
from grader.release import ReleaseError, planned as planned_skeletons

TEMPLATES = Path(__file__).resolve().parent / "templates"
INSTRUCTOR_ONLY = ("gradebook", "handout", "validate.py", "autograder.py", "extras.py", "release.py")  # under grader/
EDITION_FLAG = ("STUDENT = False", "STUDENT = True")
ZIP_FOLDER = "bootcamp-student"


def released_practices() -> list[str]:
    """The practices that have both a reference solution and a suite."""
    return registry.names()


def withheld_tests(practices: list[str], reach: Reach | None = None) -> dict[str, dict[str, dict[str, dict]]]:
    """practice -> task -> {"hidden"|"reference": {"tests": n, "points": p}}: the tests only the
    instructor's grader runs, counted as pytest collects them."""
    reach = reach or Reach(paths.PACKAGE_DIR)
    counts: dict[str, dict] = {p: {} for p in practices}
    for practice, _, test in suite_tests(reach, practices):
        kind = "hidden" if test.visibility == "hidden" else "reference" if test.needs_reference else None
        if kind:
            entry = counts[practice].setdefault(test.task, {}).setdefault(kind, {"tests": 0, "points": 0.0})
            entry["tests"] += test.items
            entry["points"] += test.points * test.items
    return counts


def planned() -> dict[str, bytes]:
    """Every file of the student edition: relative path -> content."""
    practices = released_practices()
    files: dict[str, bytes] = {}
    for name, text in planned_skeletons().items():
        if Path(name).stem in practices:
            files[f"assignments/{name}"] = text.encode()
    for name in ("manifest.json", "README.md"):
        if (paths.DATASETS_DIR / name).is_file():
            files[f"datasets/{name}"] = (paths.DATASETS_DIR / name).read_bytes()
    files.update(_grader_files(practices))
    files.update(edition_data(practices))
    files.update(recorded.data_files(recorded.record(practices, hidden=False), files))
    for template, target in (("README.md", "README.md"), ("pyproject.toml", "pyproject.toml"),
                             ("gitignore", ".gitignore"), ("classroom.yml", ".github/workflows/classroom.yml")):
        files[target] = filled((TEMPLATES / template).read_text(), template_values(practices)).encode()
    return dict(sorted(files.items()))


def template_values(practices: list[str]) -> dict[str, str]:
    """What the templates' placeholders stand for in an edition of `practices` (in course order):
    `{practices}` all of them, `{practice}` the first (the README's examples), `{trainable}` those
    `bootcamp train` trains, `{trained}` the first of these."""
    trainable = [name for name in registry.trainable() if name in practices]
    return {"practices": ", ".join(practices), "practice": next(iter(practices), "<practice>"),
            "trainable": ", ".join(f"`{name}`" for name in trainable),
            "trained": next(iter(trainable), "<practice>")}


def edition_data(practices: list[str]) -> dict[str, bytes]:
    """What the convergence checks need where there is no `solutions/`: the digit judge's weights
    with their sha256 (`grader.judging.digit_judge`) and the declared layers of the models they draw
    with (`grader.judging.declared`); {relative path: bytes}."""
    from grader.judging import declared
    from grader.judging.drawing import drawn_models
    from grader.judging.digit_judge import shipped_files

    return {**shipped_files(), **declared.recorded_files(drawn_models(practices))}


def _grader_files(practices: list[str]) -> dict[str, bytes]:
    reach = Reach(paths.PACKAGE_DIR)
    withheld = withheld_tests(practices, reach)
    files = {}
    for path in sorted(paths.PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(paths.PACKAGE_DIR)
        if "__pycache__" in relative.parts or relative.parts[0] in INSTRUCTOR_ONLY:
            continue
        if relative.parts[0] == "practices" and len(relative.parts) > 2 and relative.parts[1] not in practices:
            continue
        text = path.read_text()
        if relative.as_posix() == "edition.py":
            text = text.replace(*EDITION_FLAG)
        files[f"grader/{relative.as_posix()}"] = text.encode()
    for practice in practices:
        suite = f"grader/practices/{practice}"
        for name in [n for n in files if n.startswith(f"{suite}/test_")]:
            module = reach.modules[name[:-3].replace("/", ".")]
            tests = graded_tests(module, reach)
            drop = {t.name for t in tests if t.visibility == "hidden" or t.needs_reference}
            kept = [t for t in tests if t.name not in drop]
            if not kept:
                del files[name]
                continue
            text = strip_module(files[name].decode(), drop)
            try:
                compile(text, name, "exec")
            except SyntaxError as error:
                raise ReleaseError(f"{name}: the student's copy does not parse ({error})") from None
            files[name] = text.encode()
        _drop_unused_helpers(files, suite)
        files[f"{suite}/withheld.json"] = (json.dumps(withheld[practice], indent=2, sort_keys=True) + "\n").encode()
    return files


def _drop_unused_helpers(files: dict[str, bytes], suite: str) -> None:
    """Remove the suite's helper modules that no remaining file imports."""
    keep = {"__init__.py", "tasks.py", "conftest.py", "train.py"}  # train.py: `bootcamp train` (grader.registry)
    while True:
        imported = {target for name, content in files.items() if name.endswith(".py")
                    for target in _imports(name, content)}
        unused = [n for n in files if n.startswith(f"{suite}/") and n.endswith(".py")
                  and not Path(n).name.startswith("test_") and Path(n).name not in keep
                  and not any(t == _dotted(n) or t.startswith(_dotted(n) + ".") for t in imported)]
        if not unused:
            return
        for name in unused:
            del files[name]


def _dotted(name: str) -> str:
    return name[:-3].replace("/", ".")


def _imports(name: str, content: bytes) -> set[str]:
    tree = ast.parse(content)
    nodes = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    found = set(import_aliases(nodes, _dotted(name), name.endswith("__init__.py")).values())
    return found | {n.module for n in nodes if isinstance(n, ast.ImportFrom) and n.module}


def write(target: Path, files: dict[str, bytes] | None = None) -> None:
    """Write the edition into `target` (created, or replaced when it holds an earlier edition)."""
    files = planned() if files is None else files
    target = Path(target)
    if target.exists() and any(target.iterdir()) and not (target / "grader" / "edition.py").is_file():
        raise ReleaseError(f"{target}: not empty and not a student edition; choose a new folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name, content in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        os.chmod(staging, 0o755)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_zip(target: Path, files: dict[str, bytes] | None = None) -> None:
    """The edition as one `.zip`, with a folder `bootcamp-student/` inside."""
    files = planned() if files is None else files
    zips.write_zip(target, {f"{ZIP_FOLDER}/{name}": (content, 0o644) for name, content in files.items()})


def stale(target: Path, files: dict[str, bytes] | None = None) -> list[str]:
    """The files of a built edition that are missing, different, or not part of the edition."""
    files = planned() if files is None else files
    target = Path(target)
    present = {p.relative_to(target).as_posix() for p in target.rglob("*")
               if p.is_file() and not _generated(p.relative_to(target).parts)}
    return sorted({n for n, c in files.items() if n not in present or (target / n).read_bytes() != c}
                  | (present - set(files)))


def _generated(parts: tuple[str, ...]) -> bool:
    """What an installed, used edition adds (a venv, caches, runs, a Git folder): not part of it."""
    return bool({".git", ".venv", "runs", "build", "__pycache__", ".pytest_cache", ".hypothesis"} & set(parts)) \
        or any(part.endswith(".egg-info") for part in parts) or parts[-1] == "report.json"
