"""The parts GAN practices' runs share (`grader.training.gan`): epoch statistics, the checkpoint, the lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.training.driver import Run
from grader.training.entry import TrainOptions
from grader.training.gan import both_models, epoch_stats, gan_lines


def a_run(tmp_path: Path) -> Run:
    return Run(tmp_path, "toy", TrainOptions(), "toy digits", "submission", epochs=2, judge_note="a judge")


def test_epoch_stats_average_each_statistic_and_keep_every_step(tmp_path):
    run = a_run(tmp_path)
    first = {"epoch": 0, "steps": 4, "seconds": 2.004, "stats": {"loss_d": [1.0, 2.0, 3.0, 2.0], "d_real": [0.5] * 4}}
    second = {"epoch": 1, "steps": 8, "seconds": 4.0, "stats": {"loss_d": [1.0] * 4, "d_real": [0.25] * 4}}
    summary = epoch_stats(run, first, batch_size=16)
    assert summary == {"epoch": 0, "steps": 4, "loss_d": 2.0, "d_real": 0.5, "seconds": 2.0,
                       "images_per_second": round(4 * 16 / 2.004, 1)}
    assert list(summary) == ["epoch", "steps", "loss_d", "d_real", "seconds", "images_per_second"]
    epoch_stats(run, second, batch_size=16)
    assert run.steps == {"loss_d": [1.0, 2.0, 3.0, 2.0, 1.0, 1.0, 1.0, 1.0], "d_real": [0.5] * 4 + [0.25] * 4}


def test_the_checkpoint_holds_both_models():
    record = {"generator": {"w": 1}, "discriminator": {"w": 2}, "samples": None}
    assert both_models(record) == {"generator": {"w": 1}, "discriminator": {"w": 2}}


@pytest.mark.parametrize("score, judged, verdict", [(0.5, "  judged 50%", "judged 50%; "), (None, "", "")])
def test_the_lines_carry_the_practices_words_about_its_judge(tmp_path, score, judged, verdict):
    run = a_run(tmp_path)
    lines = gan_lines(judged=lambda s: f"  judged {s['score']:.0%}" if s["score"] is not None else "",
                      verdict=lambda last: f"judged {last['score']:.0%}; " if last["score"] is not None else "",
                      preparing="making the judge")
    summary = {"epoch": 0, "steps": 10, "loss_d": 1.25, "loss_g": 0.5, "d_real": 0.75, "d_fake": 0.25,
               "images_per_second": 99.6, "score": score}
    run.history.append(summary)
    assert lines.preparing == "making the judge"
    assert lines.start(run, TrainOptions(device="cuda"), 1000) == [
        "data: toy digits", "judge: a judge", f"device: cuda; 2 epochs, 1,000 steps; writing to {tmp_path}"]
    assert lines.step({"step": 1, "epoch": 0, "loss_d": 1.25, "loss_g": 0.5}) == "loss D 1.250 G 0.500"
    assert lines.epoch(summary) == f"loss D 1.250  G 0.500  D(x) 0.75  D(G(z)) 0.25{judged}  (100 images/s)"
    assert lines.done(run) == f"{verdict}samples (samples.png), curves, metrics and checkpoint in {tmp_path}"
