"""A report saved by `bootcamp check --json` as Markdown: the score, and each task's points and status.

`python -m grader.summary report.json` prints it; the student edition's CI workflow appends it to
the run's summary page (`$GITHUB_STEP_SUMMARY`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grader import withheld


def markdown(report: dict) -> str:
    lines = [f"## bootcamp check: {report['score']:g} / {report['max_score']:g} points", ""]
    lines += ["| task | what | points | status |", "| --- | --- | --- | --- |"]
    for practice in report["practices"]:
        for task in practice["tasks"]:
            title = task["title"].replace("|", "\\|")
            lines.append(f"| {task['id']} | {title} | {task['score']:g} / {task['max_score']:g} | {task['status']} |")
    lines += [f"- error: {error}" for error in report.get("errors", [])]
    extra = withheld.lines([p["name"] for p in report["practices"]])
    if extra:
        lines += ["", "Graded by the instructor (not run here):", ""] + [f"- {line}" for line in extra]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m grader.summary REPORT.json", file=sys.stderr)
        return 2
    path = Path(args[0])
    if not path.is_file():
        print(f"## bootcamp check\n\nNo report: {path} was not written (did the install or the check fail?).")
        return 0
    print(markdown(json.loads(path.read_text())), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
