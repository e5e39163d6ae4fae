"""A graded class whose convergence tasks kept pictures, built without training anything.

Each convergence test's own helper (`grader/practices/<practice>/run_pictures.py`) is fed small
tensors of the shapes the test has (noise where a generator's samples go: the worst case for the
compression), inside the collection the plugin opens, and the outcomes go through `build_report`,
the report's JSON and `database.record`, as a graded submission's do. The one slow test of
`test_pictures.py` grades a real submission instead.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from grader import attachments
from grader.attachments import Measure, Picture

GAN_STUDENT = "gan"  # one public convergence test per task, and a hidden one for mnist_cnn.6
PRACTICES = ["mnist_cnn", "cgan", "dcgan", "pix2pix"]


def _collected(attach) -> tuple[list[Picture], list[Measure]]:
    attachments.begin()
    try:
        attach()
    finally:
        found = attachments.end()
    return found


def fake_attachments(seed: int = 0) -> dict[str, tuple[list[Picture], list[Measure]]]:
    """task id -> (pictures, measures) as each convergence test attaches them, from random tensors."""
    from grader.practices.cgan import run_pictures as cgan
    from grader.practices.dcgan import run_pictures as dcgan
    from grader.practices.mnist_cnn import run_pictures as mnist_cnn
    from grader.practices.pix2pix import run_pictures as pix2pix
    from grader.practices.pix2pix import data as pix2pix_data

    random = torch.Generator().manual_seed(seed)
    stats = {key: torch.rand(300, generator=random).tolist() for key in ("loss_d", "loss_g", "d_real", "d_fake",
                                                                       "loss_g_gan", "loss_g_l1")}
    trained = "after 300 steps of your train_step"
    labels = torch.randint(0, 10, (1000,), generator=random)
    logits = torch.randn(1000, 10, generator=random) + 4 * torch.nn.functional.one_hot(labels, 10)
    images = torch.randint(0, 256, (1000, 1, 28, 28), generator=random, dtype=torch.uint8)
    record = {"steps": 400, "step_losses": torch.rand(400, generator=random).tolist()}
    pairs = pix2pix_data.embedded("AtoB")
    return {
        "mnist_cnn.6": _collected(lambda: mnist_cnn.attach(record, logits, images, labels, {"bar": 0.95}, "cpu", 0)),
        "cgan.8": _collected(lambda: (
            cgan.attach_samples(torch.rand(1000, 1, 28, 28, generator=random), stats, trained),
            cgan.attach_verdict({"accuracy": 0.42}, 4, {"bar": 0.6, "digits": 6}, "cpu"))),
        "dcgan.10": _collected(lambda: (
            dcgan.attach_samples(torch.rand(1000, 1, 32, 32, generator=random) * 2 - 1,
                                 lambda z: torch.rand(len(z), 1, 32, 32, generator=random) * 2 - 1, stats, trained),
            dcgan.attach_verdict({"score": 5.1, "distance": 61.0}, {"score": 3.0, "distance": 250.0}, "cpu"))),
        "pix2pix.8": _collected(lambda: (
            pix2pix.attach_outputs(torch.rand(80, 3, 64, 64, generator=random) * 2 - 1, pairs, stats, trained),
            pix2pix.attach_verdict({"l1": 0.19, "psnr": 16.5}, 0.235, 15.5, "cpu"))),
    }


def gan_report(student: str = GAN_STUDENT) -> dict:
    """A `Report.to_json()` of the four convergence tasks, each test with what its helper attached;
    mnist_cnn.6 also has a hidden test (seed 1) whose picture must stay hidden until the date."""
    from grader.plugin import TestOutcome
    from grader.scoring import build_report

    found = fake_attachments()
    tests = []
    for task, (pictures, measures) in found.items():
        practice = task.split(".")[0]
        tests.append(TestOutcome(f"{practice}/test_convergence.py::test_{practice}", f"test_{practice}", task, 5.0,
                                 "convergence", "public", status="failed" if task == "cgan.8" else "passed",
                                 message="your samples are not recognised" if task == "cgan.8" else "",
                                 pictures=pictures, measures=measures))
    hidden = fake_attachments(seed=1)["mnist_cnn.6"]
    tests.append(TestOutcome("mnist_cnn/test_convergence.py::test_seed_1", "test_seed_1", "mnist_cnn.6", 2.0,
                             "convergence", "hidden", pictures=[replace(p, name="hidden-" + p.name,
                                                                        caption="HIDDEN " + p.caption, visibility="hidden")
                                                                for p in hidden[0][:1]],
                             measures=[replace(hidden[1][0], name="held-out accuracy (seed 1)", visibility="hidden")]))
    return build_report(student, PRACTICES, tests).to_json()


def record_class(out: Path, reports: dict[str, dict]) -> Path:
    """A gradebook under `out` holding `reports` (student -> report JSON) as one graded run."""
    from grader import __version__
    from grader.gradebook import database

    db_path = out / database.FILE_NAME
    db = database.connect(db_path)
    config = {"practices": PRACTICES, "select": None, "grader_version": __version__, "suites_hash": "test",
              "derandomize": {}}
    run_id = database.new_run(db, config, shard="", options={})
    for student, report in reports.items():
        entry = {"student": student, "source": f"{student}/", "content_hash": student, "submitted_at": None,
                 "notes": [], "grader_version": __version__, "suites_hash": "test", "derandomize": {}}
        database.record(db, run_id, entry, {"status": "graded", "report": report, "seconds": 1.0})
    database.close_run(db, run_id, "finished")
    db.close()
    return db_path
