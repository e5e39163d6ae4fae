"""Student text is shown safely: no escape sequence or control character of a submission reaches
a terminal, the JSON report or the feedback, and its markup is never interpreted."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from grader import paths
from grader.check import run_suites
from grader.gradebook.exports.feedback import _e, _fence
from grader.report import show
from grader.student_text import student_block, visible

CLEAR = "\x1b[2J\x1b[H"
FORGED = "Total: 41 / 41 points"
HOSTILE = [
    CLEAR, "\x1b]0;pwned\x07", "\x1b]52;c;ZWNobyBoaQ==\x07", "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "\x9b2J", "\x1b", "\a", "\b\b\b", "\r", "\u202eevil\u202c", "\u2066x\u2069", "\x00", "\x7f",
]
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


@pytest.mark.parametrize("sequence", HOSTILE)
def test_every_control_sequence_is_made_visible(sequence):
    shown = visible("before" + sequence + "after\nnext\tline")
    assert not UNSAFE.search(shown)
    assert shown.startswith("before") and shown.endswith("after\nnext\tline")
    assert "\\" in shown  # written out, not dropped silently


def test_student_output_is_set_apart_under_a_label():
    block = student_block("printed:", f"{CLEAR}{FORGED}\nsecond")
    assert block.splitlines() == ["printed:", f"  | \\x1b[2J\\x1b[H{FORGED}", "  | second"]


def test_the_feedback_escapes_html_and_controls():
    assert _e("<script>\x1b[2J") == "&lt;script&gt;\\x1b[2J"
    assert "\x1b" not in _fence("\x1b]52;c;aGk=\x07")


SUBMISSION = (paths.SOLUTIONS_DIR / "basics.py").read_text() + f'''

def relu(x):
    print({CLEAR!r} + {FORGED!r} + "\\x1b]52;c;ZWNobyBoaQ==\\x07")
    raise ValueError({CLEAR!r} + "[bold red]{FORGED}[/] \\x1b]8;;https://evil.example\\x1b\\\\link\\u202e")
'''


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "basics.py").write_text(SUBMISSION)
    return run_suites(folder, ["basics"], public_only=True, select="test_relu_matches_torch")


def test_a_hostile_submission_reaches_no_terminal(hostile_report):
    (test,) = [t for p in hostile_report.practices for task in p.tasks for t in task.tests]
    assert test.status == "error" and FORGED in test.output and FORGED in test.message
    for verbose in (False, True):
        console = Console(file=io.StringIO(), width=300, force_terminal=False, color_system=None)
        show(hostile_report, console, verbose=verbose)
        text = console.file.getvalue()
        assert not UNSAFE.search(text)
        assert "[bold red]" in text  # shown as written, not interpreted
        totals = [line for line in text.splitlines() if line.startswith("Total:")]
        assert len(totals) == 1 and totals[0].endswith("points (public tests only)") and FORGED not in totals[0]
        forged = [line for line in text.splitlines() if FORGED in line]
        assert forged and all(line.startswith("  ") for line in forged)  # indented under the grader's lines
    console = Console(file=io.StringIO(), width=300, force_terminal=True)
    show(hostile_report, console, verbose=True)
    assert "\x1b[2J" not in console.file.getvalue() and "\x1b]52" not in console.file.getvalue()


def test_the_json_report_holds_no_control_character(hostile_report):
    data = hostile_report.to_json()
    for practice in data["practices"]:
        for task in practice["tasks"]:
            for test in task["tests"]:
                assert not UNSAFE.search(test["message"]) and not UNSAFE.search(test["output"])
    assert "\\u001b" not in json.dumps(data)
