"""Each practice's `bootcamp train` entry (`grader.training.entry`): its options extend the common
ones, each default is stated once in the code and the READMEs say what the code has; the shared
training and judging code names no practice."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from grader import registry
from grader.training.entry import TrainOptions

ROOT = Path(__file__).resolve().parents[2]
COMMON = [field.name for field in dataclasses.fields(TrainOptions)]


@pytest.mark.parametrize("practice", registry.trainable())
def test_options_extend_the_common_ones_and_restate_no_common_default(practice):
    options = registry.get(practice).training().options
    assert issubclass(options, TrainOptions)
    assert [field.name for field in dataclasses.fields(options)][:len(COMMON)] == COMMON
    base = {field.name: field.default for field in dataclasses.fields(TrainOptions)}
    restated = [name for name in options.__dict__.get("__annotations__", {}) if name in base]
    same = [name for name in restated if getattr(options, name) == base[name]]
    assert not same, f"{practice} states the common default of {same} again"


def test_the_readmes_state_the_defaults_the_code_has():
    from grader.practices.cgan import train as cgan
    from grader.practices.dcgan import train as dcgan
    from grader.practices.mnist_cnn import train as mnist_cnn
    from grader.practices.pix2pix import train as pix2pix

    readme = " ".join((ROOT / "README.md").read_text().split())
    epochs = mnist_cnn.TRAINING.default("epochs")
    assert f"bootcamp train mnist_cnn # your MnistCNN and train_step, {epochs} epochs" in readme
    assert f"its default run is {cgan.DEFAULT_STEPS:,} steps" in readme
    assert f"for {dcgan.DEFAULT_STEPS:,} steps at Adam({dcgan.TRAINING.shown_default('lr').split(',')[0]}" in readme
    paired, facades = pix2pix.DEFAULT_EPOCHS["paired"], pix2pix.DEFAULT_EPOCHS["facades"]
    assert f"batches of {pix2pix.DEFAULT_BATCH['facades']}, label map -> photo (`BtoA`), {facades} epochs" in readme
    assert f"{paired} epochs of batches of {pix2pix.DEFAULT_BATCH['paired']}" in readme


PRACTICE_NAME = re.compile(r"(?<![A-Za-z0-9])(basics|conv_shapes|mnist_cnn|cgan|dcgan|pix2pix)(?![A-Za-z0-9])")


@pytest.mark.parametrize("package", ["training", "judging"])
def test_shared_training_and_judging_name_no_practice(package):
    """Not in code, strings, comments or docstrings: what is a practice's own comes from its folder."""
    found = [f"{path.name}:{number}: {line.strip()}"
             for path in sorted((ROOT / "grader" / package).rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1) if PRACTICE_NAME.search(line)]
    assert not found, "\n".join(found)
