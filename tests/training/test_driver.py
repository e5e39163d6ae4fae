"""The one training driver (`grader.training.driver`), on a practice of the test's own.

The toy practice trains `Model` (one parameter) with a loop of four steps per epoch; the sandbox
is stood in for by `HereSubmission`, which runs the loop in this process and hands its records to
the driver as a worker streams them, so what is tested is the driver: the run folder, steps to
`on_step`, epochs judged, kept and drawn, metrics.json written whole, Ctrl-C.
"""

from __future__ import annotations

import importlib.util
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from grader.training import driver
from grader.training.driver import Plan, Run, train
from grader.training.entry import RunLines, TrainOptions, Training

STEPS_PER_EPOCH = 4
STUDENT = """
import torch


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(2.0))
"""


def counting_loop(model_class, *, epochs: int, stop_after: int | None, progress) -> None:
    """Four steps per epoch, each reported ({"step", "epoch", "loss"}), then the epoch's record
    ({"epoch", "steps", "state_dict"}, the scale grown by one per epoch); Ctrl-C (KeyboardInterrupt)
    as epoch `stop_after` begins."""
    model, step = model_class(), 0
    for epoch in range(epochs):
        if epoch == stop_after:
            raise KeyboardInterrupt
        for _ in range(STEPS_PER_EPOCH):
            step += 1
            progress({"step": step, "epoch": epoch, "loss": 1 / step})
        with torch.no_grad():
            model.scale += 1
        progress({"epoch": epoch, "steps": step, "state_dict": {k: v.clone() for k, v in model.state_dict().items()}})


LOOPS = {"toy_loops:counting_loop": counting_loop}


class HereSubmission:
    """Stands in for `grader.sandbox.Submission`: the student's module is imported here and the loop
    runs here, each record handed to `on_progress` as the worker's stream would be."""

    opened: list[HereSubmission] = []

    def __init__(self, directory: Path, limits: Any):
        self.directory, self.limits, self.sessions = Path(directory), limits, []
        HereSubmission.opened.append(self)

    def __enter__(self) -> HereSubmission:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @contextmanager
    def session(self, practice: str, *, warm: bool):
        self.sessions.append((practice, warm))
        spec = importlib.util.spec_from_file_location(f"student_{practice}", self.directory / f"{practice}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)

        def run(loop: str, *args: Any, on_progress, **kwargs: Any) -> Any:
            return LOOPS[loop](*args, progress=on_progress, **kwargs)

        yield SimpleNamespace(module=module, run=run)


@dataclass
class ToyOptions(TrainOptions):
    epochs: int = 3
    stop_after: int | None = None  # Ctrl-C as this epoch begins
    fail_drawing: int | None = None  # the pictures of this epoch fail
    judged: bool = True  # the plan says how epochs are judged


def prepare(options: ToyOptions) -> Plan:
    def judge(run: Run, record: dict[str, Any]) -> dict[str, Any]:
        return {"epoch": record["epoch"], "steps": record["steps"], "scale": record["state_dict"]["scale"].item()}

    def draw(run: Run, record: dict[str, Any], summary: dict[str, Any]) -> None:
        if record["epoch"] == options.fail_drawing:
            raise OSError("no room for the pictures")
        seen = [epoch["epoch"] for epoch in run.history]
        (run.folder / "history.txt").write_text(" ".join(map(str, seen)))  # what the pictures would show

    return Plan(data="toy data", epochs=options.epochs, steps=STEPS_PER_EPOCH * options.epochs,
                loop="toy_loops:counting_loop", arguments=lambda student: [student.Model],
                settings={"epochs": options.epochs, "stop_after": options.stop_after}, judge=judge, draw=draw,
                checkpoint=lambda record: record["state_dict"],
                judge_note="the scale, read off the weights" if options.judged else None,
                extra={"baselines": {"constant": 2.0}})


TOY = Training(options=ToyOptions, prepare=prepare,
               lines=RunLines(start=lambda run, options, steps: [], step=str, epoch=str, done=str))


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """(the student's folder, the runs folder), with the sandbox stood in for."""
    monkeypatch.setattr(driver, "Submission", HereSubmission)
    HereSubmission.opened.clear()
    (tmp_path / "student").mkdir()
    (tmp_path / "student" / "toy.py").write_text(STUDENT)
    return tmp_path / "student", tmp_path / "runs"


def test_steps_go_to_on_step_and_each_epoch_is_judged_kept_and_drawn(toy):
    student, out = toy
    started, steps, epochs = [], [], []
    run = train("toy", student, ToyOptions(threads=3), training=TOY, out=out,
                on_start=lambda run, total: started.append((run.folder, total)), on_step=steps.append,
                on_epoch=epochs.append)
    assert not run.interrupted and run.folder.parent == out / "toy" and started == [(run.folder, 12)]
    assert [step["step"] for step in steps] == list(range(1, 13))
    assert epochs == run.history and [epoch["scale"] for epoch in epochs] == [3.0, 4.0, 5.0]
    assert {path.name for path in run.folder.iterdir()} == {"metrics.json", "checkpoint.pt", "history.txt"}
    assert (run.folder / "history.txt").read_text() == "0 1 2"  # the pictures saw the epoch they draw
    assert torch.load(run.folder / "checkpoint.pt", weights_only=True)["scale"].item() == 5.0  # the last epoch
    (submission,) = HereSubmission.opened
    assert submission.limits.threads == 3 and submission.sessions == [("toy", False)]  # no registered practice
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert list(metrics) == ["practice", "submission", "data", "options", "judge", "baselines", "interrupted",
                             "epochs"]
    assert metrics["practice"] == "toy" and metrics["submission"] == str(student) and metrics["data"] == "toy data"
    assert metrics["options"]["epochs"] == 3 and metrics["options"]["threads"] == 3
    assert metrics["judge"] == "the scale, read off the weights" and metrics["baselines"] == {"constant": 2.0}
    assert metrics["interrupted"] is False and metrics["epochs"] == epochs


def test_metrics_json_is_whole_and_current_whenever_an_epoch_is_announced(toy):
    student, out = toy
    seen = []

    def on_epoch(summary: dict) -> None:
        (folder,) = (out / "toy").iterdir()
        metrics = json.loads((folder / "metrics.json").read_text())
        seen.append([epoch["epoch"] for epoch in metrics["epochs"]])
        assert not list(folder.glob(".*")), "a temporary file is left in the run folder"

    train("toy", student, ToyOptions(), training=TOY, out=out, on_epoch=on_epoch)
    assert seen == [[0], [0, 1], [0, 1, 2]]


def test_metrics_json_exists_before_the_first_epoch(toy):
    student, out = toy
    before = []
    run = train("toy", student, ToyOptions(epochs=1), training=TOY, out=out,
                on_step=lambda step: before.append(json.loads(next((out / "toy").glob("*/metrics.json")).read_text())))
    assert before and all(record["epochs"] == [] and record["interrupted"] is False for record in before)
    assert len(run.history) == 1


def test_ctrl_c_marks_the_run_interrupted_and_keeps_every_finished_epoch(toy):
    student, out = toy
    run = train("toy", student, ToyOptions(epochs=5, stop_after=2), training=TOY, out=out)
    assert run.interrupted and [epoch["epoch"] for epoch in run.history] == [0, 1]
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert metrics["interrupted"] is True and metrics["epochs"] == run.history
    assert metrics["options"]["epochs"] == 5
    assert torch.load(run.folder / "checkpoint.pt", weights_only=True)["scale"].item() == 4.0


def test_an_epoch_whose_pictures_fail_is_not_in_metrics_json(toy):
    student, out = toy
    with pytest.raises(OSError, match="no room"):
        train("toy", student, ToyOptions(fail_drawing=1), training=TOY, out=out)
    (folder,) = (out / "toy").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert [epoch["epoch"] for epoch in metrics["epochs"]] == [0] and metrics["interrupted"] is False


def test_a_plan_without_a_judge_note_writes_no_judge(toy):
    student, out = toy
    run = train("toy", student, ToyOptions(epochs=1, judged=False), training=TOY, out=out)
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert "judge" not in metrics and list(metrics)[3:5] == ["options", "baselines"]


def test_runs_of_the_same_second_get_folders_of_their_own(toy):
    student, out = toy
    folders = {train("toy", student, ToyOptions(epochs=1), training=TOY, out=out).folder for _ in range(3)}
    assert len(folders) == 3 and all((folder / "metrics.json").is_file() for folder in folders)
