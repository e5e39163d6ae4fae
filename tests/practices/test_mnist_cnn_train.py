"""`bootcamp train mnist_cnn`: a run in the sandbox writes its record; Ctrl-C keeps it."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from grader import paths
from interrupted_training import interrupt_after_one_epoch
from grader.cli import cli
from grader.testing import reference
from grader.practices.mnist_cnn.train import MnistCnnOptions
from grader.training.driver import train

FILES = {"metrics.json", "curves.png", "confusion.png", "misclassified.png", "checkpoint.pt"}


def test_one_epoch_of_the_reference_writes_the_whole_record(tmp_path):
    epochs = []
    run = train("mnist_cnn", paths.SOLUTIONS_DIR, MnistCnnOptions(epochs=1, threads=1), out=tmp_path,
                on_epoch=epochs.append)
    assert not run.interrupted and len(epochs) == 1
    assert {p.name for p in run.folder.iterdir()} == FILES
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert metrics["data"] == run.data_source and "MNIST" in metrics["data"]
    assert metrics["epochs"][0]["accuracy"] > 0.85
    state = torch.load(run.folder / "checkpoint.pt", weights_only=True)
    model = reference("mnist_cnn").MnistCNN()
    model.load_state_dict(state)  # strict: the checkpoint is the whole model


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_keeps_the_finished_epochs(tmp_path):
    record, folder = interrupt_after_one_epoch("mnist_cnn", tmp_path)
    assert record["interrupted"] is True and len(record["epochs"]) >= 1
    assert {p.name for p in folder.iterdir()} == FILES  # every recorded epoch has its files


def test_train_needs_an_existing_practice_name():
    result = CliRunner().invoke(cli, ["train", "nope"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
