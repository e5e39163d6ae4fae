"""`bootcamp train cgan`: a run in the sandbox writes its record; the judge is cached; Ctrl-C keeps it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from grader import paths
from interrupted_training import interrupt_after_one_epoch
from grader.testing import reference
from grader.judging import digit_judge as judge_module
from grader.practices.cgan.train import CganOptions, grid_of, sample_inputs
from grader.training.driver import train

FILES = {"metrics.json", "curves.png", "samples.png", "samples_epoch_001.png", "checkpoint.pt"}


def untrained_judge() -> torch.nn.Module:
    """A stand-in for the cached judge (whose first training takes half a minute)."""
    torch.manual_seed(0)
    return judge_module.DigitJudge().eval()


def test_one_epoch_of_the_reference_writes_the_whole_record(tmp_path, monkeypatch):
    monkeypatch.setattr("grader.practices.cgan.train.judge", untrained_judge)
    epochs, steps = [], []
    run = train("cgan", paths.SOLUTIONS_DIR, CganOptions(epochs=1, threads=1), out=tmp_path, on_epoch=epochs.append,
                on_step=steps.append)
    assert not run.interrupted and len(epochs) == 1 and steps
    assert {p.name for p in run.folder.iterdir()} == FILES
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert metrics["practice"] == "cgan" and "MNIST" in metrics["data"]
    epoch = metrics["epochs"][0]
    assert epoch["steps"] == 4000 // 64 and 0 <= epoch["d_real"] <= 1 and 0 <= epoch["d_fake"] <= 1
    assert 0 <= epoch["judge_accuracy"] <= 1 and len(epoch["per_digit"]) == 10
    state = torch.load(run.folder / "checkpoint.pt", weights_only=True)
    cgan = reference("cgan")
    cgan.Generator().load_state_dict(state["generator"])  # strict: the checkpoint holds both whole models
    cgan.Discriminator().load_state_dict(state["discriminator"])


def test_the_grid_puts_digit_k_in_row_k_with_the_same_noise_in_each_column():
    labels, noise = sample_inputs(seed=0)
    assert labels.shape == (1000,) and noise.shape == (1000, 100)
    assert torch.equal(noise[:100], noise[500:600])  # column j: the same noise for every digit
    assert torch.equal(sample_inputs(seed=0)[1], noise)  # and for every epoch
    samples = labels.float().view(-1, 1, 1, 1).expand(1000, 1, 28, 28)  # each image filled with its digit
    grid = grid_of(samples)
    assert grid.shape == (100, 1, 28, 28)
    assert grid[:, 0, 0, 0].view(10, 10).T.tolist() == [list(range(10))] * 10


def test_the_judge_is_cached_keyed_and_reloaded(tmp_path, monkeypatch):
    monkeypatch.setenv(judge_module.CACHE_ENV, str(tmp_path))
    judge_module.judge.cache_clear()
    calls = []

    def train():  # the training itself is slow: an untrained model, marked as good enough
        calls.append(1)
        return untrained_judge().state_dict(), 0.99

    monkeypatch.setattr(judge_module, "_train", train)
    try:
        first = judge_module.judge()
        files = list(tmp_path.glob("judge-digits-*.pt"))
        assert len(files) == 1 and judge_module.cache_key() in files[0].name and calls == [1]
        stored = torch.load(files[0], weights_only=True)
        assert stored["held_out_accuracy"] == 0.99 and stored["key"] == judge_module.cache_key()
        judge_module.judge.cache_clear()
        second = judge_module.judge()
        assert calls == [1], "the cached judge should be loaded, not trained again"
        x = torch.rand(4, 1, 28, 28)
        assert torch.equal(first(x), second(x))
        files[0].write_bytes(b"not a checkpoint")  # a damaged cache is trained again, not trusted
        judge_module.judge.cache_clear()
        judge_module.judge()
        assert calls == [1, 1]
        monkeypatch.setattr(judge_module, "_train", lambda: (untrained_judge().state_dict(), 0.5))
        for path in tmp_path.glob("judge-*.pt"):
            path.unlink()
        judge_module.judge.cache_clear()
        with pytest.raises(judge_module.JudgeError, match="recognises only 50.0%"):
            judge_module.judge()  # a judge that cannot read digits never grades
    finally:
        judge_module.judge.cache_clear()


def test_shipped_weights_are_used_only_with_their_sha256(tmp_path, monkeypatch):
    """An edition's judge: the shipped file is loaded when its sha256 and key match; a changed byte
    is refused with one line, never trained over or trusted."""
    monkeypatch.setenv(judge_module.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(judge_module, "_train", lambda: (untrained_judge().state_dict(), 0.99))
    shipped = judge_module.shipped_files(prefix=str(tmp_path))
    for name, content in shipped.items():
        Path(name).write_bytes(content)
    monkeypatch.setattr(judge_module, "SHIPPED", tmp_path / judge_module.SHIPPED.name)
    monkeypatch.setattr(judge_module, "SHIPPED_SUM", tmp_path / judge_module.SHIPPED_SUM.name)
    monkeypatch.setattr(judge_module, "_train", lambda: pytest.fail("shipped weights must not be trained again"))
    judge_module.judge.cache_clear()
    try:
        assert judge_module.stored_judge()[0] == judge_module.SHIPPED
        x = torch.rand(3, 1, 28, 28)
        assert torch.equal(judge_module.judge()(x), untrained_judge()(x))
        content = bytearray(judge_module.SHIPPED.read_bytes())
        content[-30] ^= 1
        judge_module.SHIPPED.write_bytes(bytes(content))
        judge_module.judge.cache_clear()
        with pytest.raises(judge_module.JudgeError, match="does not match its sha256"):
            judge_module.judge()
    finally:
        judge_module.judge.cache_clear()


def test_the_judge_is_no_practice_answer():
    """Its layers are not mnist_cnn's (nor any practice's model): no layer signature in common."""
    from grader.judging.transplant import signature

    judge_layers = {signature(m.state_dict()) for m in judge_module.DigitJudge().modules() if m.state_dict()
                    and not list(m.children())}
    answer = {signature(m.state_dict()) for m in reference("mnist_cnn").MnistCNN().modules() if m.state_dict()
              and not list(m.children())}
    assert judge_layers and not judge_layers & answer


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_keeps_the_finished_epochs(tmp_path):
    record, folder = interrupt_after_one_epoch("cgan", tmp_path)
    assert record["interrupted"] is True and len(record["epochs"]) >= 1
    assert (folder / "checkpoint.pt").is_file() and (folder / "samples.png").is_file()