"""Any install works: the venv's executables by absolute path, nothing activated; CI runs the README's commands."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from student_venv import bare_env
from workflows import workflow_commands

from grader import paths
from grader.summary import markdown

ROOT = paths.REPO_ROOT


def readme_commands() -> list[str]:
    """The commands of the README's first code block, without their comments."""
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_runs_everything_through_the_venv_by_path():
    commands = readme_commands()
    assert commands[0] == "python3 -m venv .venv"
    system = [c for c in commands[1:] if c.startswith("apt-get ")]  # the browser the page tests open
    assert system == ["apt-get update && apt-get install -y chromium"], system
    assert all(c.startswith(".venv/bin/") for c in commands[1:] if c not in system) and len(commands) >= 5
    assert any("pip install -e" in c for c in commands) and any("bootcamp check" in c for c in commands)


def test_ci_runs_the_readme_commands_in_order_in_a_fresh_venv_not_activated():
    script = (ROOT / ".ci" / "run").read_text()
    assert "bin/activate" not in script and "--system-site-packages" not in script
    expected = [re.sub(r"\.venv/bin/(\S+)", r'"$VENV/bin/\1"', c).replace("-m venv .venv", '-m venv "$VENV"')
                for c in readme_commands()]
    positions = [script.find(c) for c in expected]
    assert -1 not in positions, list(zip(expected, positions))
    assert positions == sorted(positions)
    assert 'mktemp -d' in script  # a new venv each run unless BOOTCAMP_CI_VENV names one


def test_the_repository_workflow_installs_validates_and_tests():
    commands = workflow_commands(ROOT / ".github" / "workflows" / "ci.yml")
    install = [c for c in readme_commands() if "venv" in c and "bootcamp" not in c and "pytest" not in c]
    for command in install + [".venv/bin/bootcamp validate", ".venv/bin/python -m pytest"]:
        assert command in commands, command
    assert commands.index(".venv/bin/bootcamp validate") < commands.index(".venv/bin/python -m pytest")


def test_the_student_workflow_checks_and_writes_the_score_to_the_summary():
    commands = workflow_commands(paths.PACKAGE_DIR / "handout" / "templates" / "classroom.yml")
    assert ".venv/bin/bootcamp check --json report.json" in commands
    summary = [c for c in commands if "GITHUB_STEP_SUMMARY" in c]
    assert summary == ['.venv/bin/python -m grader.summary report.json >> "$GITHUB_STEP_SUMMARY"']


def test_the_summary_shows_the_score_and_each_task():
    report = {"score": 3, "max_score": 5, "errors": [], "practices": [{"name": "basics", "tasks": [
        {"id": "basics.1", "title": "relu | tanh", "score": 3, "max_score": 3, "status": "passed"},
        {"id": "basics.2", "title": "bce", "score": 0, "max_score": 2, "status": "not implemented"}]}]}
    text = markdown(report)
    assert text.startswith("## bootcamp check: 3 / 5 points")
    assert "| basics.1 | relu \\| tanh | 3 / 3 | passed |" in text and "| basics.2 | bce | 0 / 2 | not implemented |" in text


@pytest.mark.slow
def test_grade_and_every_export_from_a_venv_that_is_not_activated(tmp_path):
    bootcamp = Path(sys.executable).parent / "bootcamp"
    env = bare_env()
    assert shutil.which("alembic", path=env["PATH"]) is None and shutil.which("bootcamp", path=env["PATH"]) is None
    (tmp_path / "submissions" / "alice").mkdir(parents=True)
    shutil.copy(paths.SOLUTIONS_DIR / "basics.py", tmp_path / "submissions" / "alice" / "basics.py")
    result = subprocess.run([str(bootcamp), "grade", str(tmp_path / "submissions"), "--out", str(tmp_path / "out"),
                             "-p", "basics", "--select", "test_relu_matches", "-j", "1", "--export", "all"],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "out" / "nbgrader" / "gradebook.db").is_file()
    results = json.loads((tmp_path / "out" / "gradescope" / "alice" / "results.json").read_text())
    assert results["score"] == 1


def test_every_statement_of_the_python_version_names_the_same_minimum():
    """pyproject's requires-python is the promise; the README's sentence, the student edition's
    pyproject and README, the version both workflows test on and the Gradescope setup's check
    say the same (plugin.py's `BaseExceptionGroup` needs 3.11)."""
    import tomllib

    from grader.handout.gradescope import SETUP

    templates = paths.PACKAGE_DIR / "handout" / "templates"
    promise = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = re.fullmatch(r">=(3\.\d+)", promise).group(1)
    assert tomllib.loads((templates / "pyproject.toml").read_text())["project"]["requires-python"] == promise
    for readme in (ROOT / "README.md", templates / "README.md"):
        assert re.findall(r"Python (3\.\d+) or newer", readme.read_text()) == [minimum], readme
    for path in (ROOT / ".github" / "workflows" / "ci.yml", templates / "classroom.yml"):
        workflow = yaml.safe_load(path.read_text())
        tested = [step["with"]["python-version"] for job in workflow["jobs"].values() for step in job["steps"]
                  if step.get("uses", "").startswith("actions/setup-python@")]
        assert tested == [minimum], path
    minor = int(minimum.split(".")[1])
    assert f"sys.version_info < (3, {minor})" in SETUP and f"python{minimum}-venv" in SETUP
