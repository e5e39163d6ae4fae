"""Forged convergence earns nothing: the convergence checks judge what the trained weights draw in
the grader's own model, never what the student's forward returns after training.

Each forger (`tests/forgeries.py`) learns nothing and makes its own forward return what the judge
wants (stored real digits, disguised; a hand-written Sobel filter; a nearest-neighbour lookup),
and is graded on its convergence task through the real sandbox. `test_the_bank_would_fool_a_judge_
of_the_forward` shows the forgery is real: the same submission's own eval-mode samples pass
dcgan.10's judge (and the copy check, the second line, flags most of them).
"""

from __future__ import annotations

import pytest
import torch

from forgeries import STORES, gan_bank, nearest_neighbour, sobel_translator
from grader.check import run_suites
from grader.sandbox import Limits, Submission
from grader.practices.dcgan import judging
from grader.judging.digit_judge import judge_for_grading
from grader.judging.copies import find_copies
from grader.judging.sample_quality import judge_pixels


def points(folder, practice: str, task: str) -> tuple[float, str]:
    report = run_suites(folder, [practice], device="cpu", tasks=[task])
    (result,) = [t for p in report.practices for t in p.tasks if t.id == task]
    return result.points, " ".join(f"{test.status}: {test.message}" for test in result.tests)


@pytest.mark.parametrize("store", STORES)
def test_a_dcgan_that_returns_stored_digits_earns_nothing(tmp_path, store):
    score, messages = points(gan_bank(tmp_path / "student", "dcgan", store), "dcgan", "dcgan.10")
    assert score == 0, messages
    if store == "buffer":  # the bank is an extra tensor: refused before anything is drawn
        assert "bank (1024, 1, 32, 32)" in messages, messages


def test_a_cgan_that_returns_stored_digits_of_the_label_earns_nothing(tmp_path):
    score, messages = points(gan_bank(tmp_path / "student", "cgan", "files"), "cgan", "cgan.8")
    assert score == 0, messages


@pytest.mark.parametrize("trigger", ["steps", "weights"])
def test_a_u_net_that_computes_the_target_by_a_fixed_filter_earns_nothing(tmp_path, trigger):
    score, messages = points(sobel_translator(tmp_path / "student", trigger), "pix2pix", "pix2pix.8")
    assert score == 0, messages


def test_a_classifier_that_looks_up_its_training_digits_earns_nothing(tmp_path):
    score, messages = points(nearest_neighbour(tmp_path / "student"), "mnist_cnn", "mnist_cnn.6")
    assert score == 0, messages


def test_the_bank_would_fool_a_judge_of_the_forward(tmp_path):
    """The forger's own forward, after its 'training', draws samples that pass dcgan.10's bars: only
    drawing from the weights stops it."""
    folder = gan_bank(tmp_path / "student", "dcgan", "global")
    plan = judging.PLAN["cpu"]
    with Submission(folder, Limits(call_timeout=120)) as graded, graded.session("dcgan") as session:
        student = session.module
        record = session.run(judging.LOOP, student.Generator, student.Discriminator, student.train_step,
                             judging.training_images(), judging.sample_noise(0), epochs=10**6,
                             max_steps=plan["steps"], seed=0, every_epoch=False, **judging.RECIPE)
    classifier = judge_for_grading()
    verdict = judging.quality(classifier, record["samples"], judging.held_out_features(classifier))
    assert verdict["score"] >= plan["score"] and verdict["distance"] <= plan["distance"], verdict
    assert not torch.equal(record["samples"][0], record["samples"][1])
    data = judging.mnist()  # the second line: the copy check sees through the shifts and the noise
    assert find_copies(judge_pixels(record["samples"]), [data.train_images, data.test_images]).share > 0.5
