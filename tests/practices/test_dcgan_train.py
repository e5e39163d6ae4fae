"""`bootcamp train dcgan` and the measures that judge unconditional samples.

The run tests train the reference for one short epoch in the sandbox; the bar tests need no
training: they show that the convergence bars of dcgan.10 reject what a broken generator draws
(noise, one digit, one image, an untrained generator) and accept real digits. That the trained
reference passes is shown by the course validation (tests/test_validate.py).
"""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from data.conftest import write_cifar
from grader import paths
from grader.cli import cli
from grader.practices.dcgan import judging
from grader.judging.digit_judge import judge_for_grading
from grader.testing import reference
from grader.practices.dcgan.train import GRID, JUDGED, PAIRS, STEPS, DcganOptions, sample_noise
from grader.training.driver import train
from grader.judging.sample_quality import classifier_score, frechet_distance, judge_pixels, pad_digits
from interrupted_training import interrupt_after_one_epoch
from test_cgan_train import untrained_judge

FILES = {"metrics.json", "curves.png", "samples.png", "samples_epoch_001.png", "interpolation.png", "checkpoint.pt"}


def test_one_epoch_of_the_reference_writes_the_whole_record(tmp_path, monkeypatch):
    monkeypatch.setattr("grader.practices.dcgan.train.judge", untrained_judge)
    epochs, steps = [], []
    run = train("dcgan", paths.SOLUTIONS_DIR, DcganOptions(epochs=1, threads=1, width=8), out=tmp_path,
                on_epoch=epochs.append, on_step=steps.append)
    assert not run.interrupted and len(epochs) == 1 and steps
    assert {p.name for p in run.folder.iterdir()} == FILES
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert metrics["practice"] == "dcgan" and "32 x 32" in metrics["data"] and metrics["options"]["dataset"] == "mnist"
    epoch = metrics["epochs"][0]
    assert epoch["steps"] == 4000 // 64 and 0 <= epoch["d_real"] <= 1 and 0 <= epoch["d_fake"] <= 1
    assert 1 <= epoch["score"] <= 10 and epoch["distance"] > 0
    state = torch.load(run.folder / "checkpoint.pt", weights_only=True)
    dcgan = reference("dcgan")
    dcgan.Generator(nz=100, ngf=8, nc=1, image_size=32).load_state_dict(state["generator"])  # strict: whole models
    dcgan.Discriminator(ndf=8, nc=1, image_size=32).load_state_dict(state["discriminator"])


def test_cifar10_trains_in_colour_without_a_digit_judge(tmp_path):
    write_cifar(tmp_path / "data" / "cifar10" / "cifar-10-python.tar.gz", per_batch=16)  # 80 training images
    run = train("dcgan", paths.SOLUTIONS_DIR, DcganOptions(epochs=1, batch_size=16, threads=1, width=8, dataset="cifar10",
                                                          data_root=str(tmp_path / "data")), out=tmp_path / "runs")
    assert not run.interrupted and run.history[0]["steps"] == 5 and run.history[0]["score"] is None
    assert "CIFAR" in run.data_source.upper() and "MNIST samples only" in run.judge_note
    state = torch.load(run.folder / "checkpoint.pt", weights_only=True)
    reference("dcgan").Generator(nz=100, ngf=8, nc=3, image_size=32).load_state_dict(state["generator"])


def test_missing_cifar10_says_what_to_fetch(tmp_path):
    result = CliRunner().invoke(cli, ["train", "dcgan", "--path", str(paths.SOLUTIONS_DIR), "--dataset", "cifar10",
                                      "--data-root", str(tmp_path), "--out", str(tmp_path)])
    assert result.exit_code == 1 and "training stopped" in result.output
    assert "cifar-10-python.tar.gz" in result.output and "Traceback" not in result.output


def test_dataset_is_for_dcgan_only(tmp_path):
    result = CliRunner().invoke(cli, ["train", "cgan", "--dataset", "cifar10", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--dataset is for dcgan and pix2pix only" in result.output


def test_the_sample_noise_holds_the_grid_and_straight_lines():
    noise = sample_noise(seed=0)
    assert noise.shape == (JUDGED + PAIRS * STEPS, 100) and torch.equal(noise, sample_noise(seed=0))
    assert GRID <= JUDGED
    lines = noise[JUDGED:].view(PAIRS, STEPS, 100)
    t = torch.linspace(0, 1, STEPS).view(1, STEPS, 1)
    assert torch.allclose(lines, (1 - t) * lines[:, :1] + t * lines[:, -1:], atol=1e-5)
    assert not torch.allclose(lines[:, 0], lines[:, -1])


def test_padding_and_judge_pixels_are_inverse():
    digits = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    padded = pad_digits(digits)
    assert padded.shape == (3, 1, 32, 32) and padded[..., :2, :].sum() == 0
    assert torch.allclose(judge_pixels(padded.float() / 127.5 - 1), digits.float() / 255, atol=1e-6)


def test_classifier_score_and_frechet_distance_on_known_cases():
    one_hot = torch.eye(10).repeat(5, 1)  # confident and evenly spread: exp(log 10)
    assert classifier_score(one_hot) == pytest.approx(10, rel=1e-6)
    assert classifier_score(torch.eye(10)[[3] * 50]) == pytest.approx(1, abs=1e-6)  # one class only
    assert classifier_score(torch.full((50, 10), 0.1)) == pytest.approx(1, abs=1e-6)  # unsure
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(20000, 3, generator=generator, dtype=torch.float64)
    y = torch.randn(20000, 3, generator=generator, dtype=torch.float64)
    assert frechet_distance(x, y) == pytest.approx(0, abs=0.01)
    scale = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    shifted = y * scale + torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    # ||(1, 0, 0)||^2 + sum (sqrt(var_x) - sqrt(var_y))^2 = 1 + 0 + 1 + 4 for diagonal covariances
    assert frechet_distance(x, shifted) == pytest.approx(6, rel=0.03)


def test_the_bars_reject_broken_generators_and_accept_real_digits():
    """Each impostor fails both CPU bars of dcgan.10; real training digits pass both."""
    plan = judging.PLAN["cpu"]
    classifier = judge_for_grading()
    held_out = judging.held_out_features(classifier)
    for name, samples in judging.impostors(classifier).items():
        quality = judging.quality(classifier, samples, held_out)
        if name == "real training digits":
            assert quality["score"] >= plan["score"] and quality["distance"] <= plan["distance"], (name, quality)
        else:
            assert quality["score"] < plan["score"] and quality["distance"] > plan["distance"], (name, quality)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_keeps_the_finished_epochs(tmp_path):
    record, folder = interrupt_after_one_epoch("dcgan", tmp_path)
    assert record["interrupted"] is True and len(record["epochs"]) >= 1
    assert (folder / "checkpoint.pt").is_file() and (folder / "interpolation.png").is_file()


def test_the_cifar10_judge_is_trained_cached_and_refused_when_weak(tmp_path, monkeypatch):
    """The GPU check's CIFAR-10 judge, trained here on a tiny archive on the CPU: too weak to grade,
    then (with the bar lowered) its features give finite measures of colour samples."""
    from grader.judging import cifar_judge as module
    from grader.judging.digit_judge import CACHE_ENV, JudgeError
    from grader.judging.sample_quality import sample_quality

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    write_cifar(tmp_path / "data" / "cifar10" / "cifar-10-python.tar.gz", per_batch=16)
    root = str(tmp_path / "data")
    module.cifar_judge.cache_clear()
    try:
        with pytest.raises(JudgeError, match="recognises only"):
            module.cifar_judge(root, device="cpu")
        assert len(list((tmp_path / "cache").glob("judge-cifar10-*.pt"))) == 1
        monkeypatch.setattr(module, "MIN_TEST_ACCURACY", 0.0)
        module.cifar_judge.cache_clear()
        classifier = module.cifar_judge(root, device="cpu")  # from the cache
        real = torch.rand(40, 3, 32, 32) * 2 - 1
        held_out = sample_quality(classifier, real, torch.randn(40, 256).double(), digits=False)
        assert 1 <= held_out["score"] <= 10 and held_out["distance"] >= 0
    finally:
        module.cifar_judge.cache_clear()


def test_images_of_the_wrong_shape_stop_the_run_with_one_line(tmp_path):
    source = (paths.SOLUTIONS_DIR / "dcgan.py").read_text()
    cropped = source.replace("return torch.tanh(self.out(h))  # (B, nc, S, S)",
                             "return torch.tanh(self.out(h))[..., :28, :28]  # wrong: (B, nc, 28, 28)")
    assert cropped != source
    (tmp_path / "dcgan.py").write_text(cropped)
    result = CliRunner().invoke(cli, ["train", "dcgan", "--path", str(tmp_path), "--epochs", "1", "--batch-size", "400",
                                      "--threads", "1", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 1 and "training stopped" in result.output, result.output
    assert "(1080, 1, 28, 28)" in result.output and "Traceback" not in result.output


def test_dcgan_copy_check_flags_training_digits_returned_as_samples():
    from grader.testing import GradingFailure
    from grader.judging.copies import assert_no_copies

    data = judging.mnist()
    as_samples = pad_digits(data.train_images[:1000]).float() / 127.5 - 1  # (1000, 1, 32, 32), a tanh's range
    with pytest.raises(GradingFailure, match="1000 of 1000 are copies"):
        assert_no_copies(judge_pixels(as_samples), [data.train_images, data.test_images])
