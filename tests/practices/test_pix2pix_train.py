"""`bootcamp train pix2pix`: a run in the sandbox writes its record; facades are used when present and
named when missing; the convergence bars are out of the baselines' reach; Ctrl-C keeps the run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from grader import paths
from grader.cli import cli
from grader.data import DataError
from grader.practices.pix2pix.test_convergence import COPY_THRESHOLD, CPU, embedded_pairs
from grader.testing import GradingFailure, reference
from grader.judging.copies import assert_no_copies
from grader.practices.pix2pix import data as pix2pix_data
from grader.practices.pix2pix.metrics import baseline_scores, blur, psnr, scores
from grader.practices.pix2pix.train import Pix2pixOptions, choose_data, grid_indices
from grader.training.driver import train
from interrupted_training import interrupt_after_one_epoch

FILES = {"metrics.json", "curves.png", "grid.png", "grid_epoch_001.png", "checkpoint.pt"}


def test_a_few_steps_of_the_reference_write_the_whole_record(tmp_path):
    epochs, steps = [], []
    options = Pix2pixOptions(epochs=1, max_steps=3, threads=1, dataset="paired")
    run = train("pix2pix", paths.SOLUTIONS_DIR, options, out=tmp_path, on_epoch=epochs.append, on_step=steps.append)
    assert not run.interrupted and len(epochs) == 1
    assert {p.name for p in run.folder.iterdir()} == FILES
    metrics = json.loads((run.folder / "metrics.json").read_text())
    assert metrics["practice"] == "pix2pix" and "embedded paired set" in metrics["data"] and "AtoB" in metrics["data"]
    epoch = metrics["epochs"][0]
    assert epoch["steps"] == 3 and epoch["held_out_l1"] > 0 and epoch["held_out_psnr"] > 0
    assert set(metrics["baselines"]) == {"identity", "mean", "blurred"}
    state = torch.load(run.folder / "checkpoint.pt", weights_only=True)
    module = reference("pix2pix")
    generator, discriminator = pix2pix_data.model_sizes(64, wide=False)
    module.UNetGenerator(**generator).load_state_dict(state["generator"])  # strict: whole models
    module.PatchDiscriminator(**discriminator).load_state_dict(state["discriminator"])
    with Image.open(run.folder / "grid.png") as grid:
        assert grid.width > grid.height  # eight pairs side by side, three rows


def write_facades(root, *, train: int = 3, test: int = 2) -> None:
    """A tiny facades folder in the real layout: 128x64 JPEGs, photo left, label map right."""
    rng = np.random.default_rng(0)
    for split, count in (("train", train), ("test", test)):
        folder = root / "facades" / split
        folder.mkdir(parents=True)
        for i in range(1, count + 1):
            Image.fromarray(rng.integers(0, 256, (64, 128, 3), dtype=np.uint8)).save(folder / f"{i}.jpg")


def test_facades_are_used_when_present_and_turned_label_map_to_photo(tmp_path):
    write_facades(tmp_path)
    dataset, pairs = choose_data(Pix2pixOptions(data_root=str(tmp_path)))
    assert dataset == "facades" and pairs.direction == "BtoA"
    assert pairs.train_inputs.shape == (3, 3, 64, 64) and pairs.held_out_targets.shape == (2, 3, 64, 64)
    whole = np.asarray(Image.open(tmp_path / "facades" / "train" / "1.jpg").convert("RGB"))
    assert torch.equal(pairs.train_inputs[0], torch.from_numpy(whole[:, 64:].copy()).permute(2, 0, 1))  # B: the map
    assert choose_data(Pix2pixOptions(data_root=str(tmp_path), dataset="paired"))[0] == "paired"
    assert pix2pix_data.model_sizes(256, wide=True) == ({"ngf": 64, "depth": 8}, {"ndf": 64})
    assert pix2pix_data.model_sizes(64, wide=False) == ({"ngf": 16, "depth": 6}, {"ndf": 16})


def test_missing_facades_name_the_files_to_place(tmp_path):
    with pytest.raises(DataError, match="facades/train/1.jpg .* under " + str(tmp_path)):
        choose_data(Pix2pixOptions(data_root=str(tmp_path), dataset="facades"))
    result = CliRunner().invoke(cli, ["train", "pix2pix", "--path", str(paths.SOLUTIONS_DIR), "--dataset", "facades",
                                      "--data-root", str(tmp_path), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 1 and "facades/train/1.jpg" in result.output and "Traceback" not in result.output


def test_dataset_options_belong_to_pix2pix(tmp_path):
    result = CliRunner().invoke(cli, ["train", "cgan", "--path", str(paths.SOLUTIONS_DIR), "--direction", "AtoB",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--direction is for pix2pix only" in result.output
    for practice, dataset in (("pix2pix", "mnist"), ("dcgan", "facades")):
        result = CliRunner().invoke(cli, ["train", practice, "--path", str(paths.SOLUTIONS_DIR), "--dataset", dataset,
                                          "--out", str(tmp_path)])
        assert result.exit_code == 2 and f"--dataset {dataset} is not a {practice} dataset" in result.output


def test_no_baseline_reaches_the_convergence_bars():
    pairs = embedded_pairs()
    found = baseline_scores(pairs.train_targets, pairs.held_out_inputs, pairs.held_out_targets)
    assert set(found) == {"identity", "mean", "blurred"}
    for name, score in found.items():
        assert score["l1"] > CPU["l1"] and score["psnr"] < CPU["psnr"], (name, score)
    perfect = scores(pairs.held_out_targets.float() / 127.5 - 1, pairs.held_out_targets)
    assert perfect["l1"] < 1e-6 and perfect["psnr"] > 60


def test_metrics_and_blur():
    flat = torch.full((1, 3, 16, 16), 0.25)
    assert torch.allclose(blur(flat), flat)  # a blur keeps a constant image
    edge = torch.zeros(1, 1, 16, 16)
    edge[..., 8:] = 1
    assert 0 < blur(edge)[0, 0, 0, 7].item() < blur(edge)[0, 0, 0, 8].item() < 1
    half, off = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.2)  # 0.5 and 0.6 in [0, 1]
    assert psnr(half, off) == pytest.approx(20, abs=1e-3)
    assert grid_indices(80).tolist() == [0, 11, 23, 34, 45, 56, 68, 79] and grid_indices(3).tolist() == [0, 1, 2]


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_keeps_the_finished_epochs(tmp_path):
    record, folder = interrupt_after_one_epoch("pix2pix", tmp_path)
    assert record["interrupted"] is True and len(record["epochs"]) >= 1
    assert (folder / "checkpoint.pt").is_file() and (folder / "grid.png").is_file()


def test_a_lookup_of_the_training_targets_fails_the_copy_check_and_real_held_out_targets_pass():
    pairs = embedded_pairs()
    inputs, held_out = pairs.train_inputs.float(), pairs.held_out_inputs.float()
    nearest = torch.cdist(held_out.flatten(1), inputs.flatten(1)).argmin(1)  # the most similar training photo
    looked_up = pairs.train_targets[nearest].float() / 255  # (80, 3, 64, 64): its edge map, as the output
    with pytest.raises(GradingFailure, match="80 of 80 are copies"):
        assert_no_copies(looked_up, [pairs.train_targets], threshold=COPY_THRESHOLD)
    assert not assert_no_copies(pairs.held_out_targets, [pairs.train_targets], threshold=COPY_THRESHOLD).copied.any()
