"""Shared by the training tests: start `bootcamp train`, press Ctrl-C after an epoch, check the run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from grader import paths


def interrupt_after_one_epoch(practice: str, out: Path) -> tuple[dict, Path]:
    """Train the reference of `practice` into `out`, SIGINT it once metrics.json shows an epoch.

    Asserts the clean stop (exit 130, the message, no temporary file, no sandbox process left)
    and returns the run's final metrics and its folder.
    """
    command = [sys.executable, "-c", "from grader.launch import main; main()", "train", practice, "--path",
               str(paths.SOLUTIONS_DIR), "--epochs", "50", "--threads", "1", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=_as_in_a_terminal)
    metrics = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        found = list(out.glob(f"{practice}/*/metrics.json"))
        if found and json.loads(found[0].read_text())["epochs"]:
            metrics = found[0]
            break
        time.sleep(0.5)
    assert metrics is not None, "no epoch finished in time"
    sandbox = psutil.Process(process.pid).children(recursive=True)
    assert sandbox, "the training should run in sandbox processes"
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert "stopped by Ctrl-C" in output
    assert not list(metrics.parent.glob(".*")), "a temporary file was left behind"
    _, alive = psutil.wait_procs(sandbox, timeout=30)
    assert not alive, f"sandbox processes outlived the run: {alive}"
    return json.loads(metrics.read_text()), metrics.parent


def _as_in_a_terminal() -> None:
    """SIGINT handled as in a terminal, even when the tests run as a background job (SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
