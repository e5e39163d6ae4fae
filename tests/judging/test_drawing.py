"""Who draws from the trained weights (`grader.judging.drawing`), and the same points on every device.

The three sources of one choice: the reference (solutions/ here), an exported program (the
Gradescope zip), a fresh worker (the student edition). The fresh worker is exercised through the
real sandbox with the forgers of `tests/forgeries.py`: a bank in a registered buffer is refused
before anything is drawn, and a bank in a module global or in temp files is gone in the fresh
worker, whose samples are then the plain forward's (what the grader's own Generator draws from
the same weights), while the training worker's own forward would have returned stored digits.
The reference's convergence verdicts in a built, installed student edition are graded by
`tests/handout/test_student.py`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from forgeries import gan_bank
from grader import edition, paths
from grader.handout.student import withheld_tests
from grader.sandbox import Limits, Submission
from grader.practices.dcgan import judging
from grader.testing import GradingFailure
from grader.judging import declared, drawing
from grader.judging.drawing import Drawn, draw_source, trained_model

CONVERGENCE = {"mnist_cnn": "mnist_cnn.6", "cgan": "cgan.8", "dcgan": "dcgan.10", "pix2pix": "pix2pix.8"}
DCGAN = judging.DRAWN[0]


@pytest.fixture
def edition_view(tmp_path, monkeypatch):
    """Call it to see this process as the student edition does: the declarations recorded from the
    reference, then no solutions/ and no exported program; returns the real solutions folder."""
    yield lambda: _edition_view(tmp_path, monkeypatch)
    declared._recorded.cache_clear()


def _edition_view(tmp_path: Path, monkeypatch) -> Path:
    recorded = declared.recorded_files(drawing.drawn_models(list(CONVERGENCE)), prefix=str(tmp_path))
    for name, content in recorded.items():
        Path(name).write_bytes(content)
    monkeypatch.setattr(declared, "RECORDED", tmp_path / declared.RECORDED.name)
    declared._recorded.cache_clear()
    real = paths.SOLUTIONS_DIR
    monkeypatch.setattr(paths, "SOLUTIONS_DIR", tmp_path / "no-solutions")
    monkeypatch.setattr(drawing, "EXPORTED_DIR", tmp_path / "no-exports")
    monkeypatch.setattr(edition, "STUDENT", True)
    return real


def short_training(session, steps: int = 20) -> dict:
    student = session.module
    return session.run(judging.LOOP, student.Generator, student.Discriminator, student.train_step,
                       judging.training_images(), judging.sample_noise(0), epochs=10**6, max_steps=steps, seed=0,
                       every_epoch=False, send_samples=False, send_layers=judging.layer_order_noise(),
                       **judging.RECIPE)


def grader_samples(trained: dict, noise: torch.Tensor, monkeypatch, solutions: Path) -> torch.Tensor:
    """What the reference Generator draws from the same trained state (the instructor's path)."""
    with monkeypatch.context() as patched:
        patched.setattr(paths, "SOLUTIONS_DIR", solutions)
        assert draw_source(DCGAN) == "reference"
        with trained_model(trained, DCGAN, session=None, name="G", what="after training",
                           convert=judging.projection_as_linear) as draw:
            return draw(noise)


def test_the_source_is_solutions_then_an_exported_program_then_a_fresh_worker_in_the_student_edition_only(
        tmp_path, monkeypatch):
    assert draw_source(DCGAN) == "reference"
    monkeypatch.setattr(paths, "SOLUTIONS_DIR", tmp_path / "none")
    monkeypatch.setattr(drawing, "EXPORTED_DIR", tmp_path / "exported")
    assert draw_source(DCGAN) is None and not drawing.can_draw(DCGAN)  # an instructor's grader: no weak path
    with pytest.raises(GradingFailure, match="problem of the grader"):
        with trained_model({}, DCGAN, session=None, name="G", what="after training"):
            pass
    monkeypatch.setattr(edition, "STUDENT", True)
    assert draw_source(DCGAN) == "fresh"
    drawing.exported_path(DCGAN).parent.mkdir()
    drawing.exported_path(DCGAN).write_bytes(b"")
    assert draw_source(DCGAN) == "exported"


def test_an_exported_program_that_does_not_match_its_index_is_refused(tmp_path, monkeypatch):
    mnist = drawing.drawn_models(["mnist_cnn"])[0]
    monkeypatch.setattr(drawing, "EXPORTED_DIR", tmp_path / "exported")
    (tmp_path / "exported").mkdir()
    for name, content in drawing.exported_files([mnist], prefix=str(tmp_path / "exported")).items():
        Path(name).write_bytes(content)
    assert isinstance(drawing.load_exported(mnist), drawing.Exported)
    program = drawing.exported_path(mnist)
    program.write_bytes(program.read_bytes() + b"\0")
    with pytest.raises(GradingFailure, match="does not match its entry in index.json"):
        drawing.load_exported(mnist)


def test_every_convergence_test_runs_in_the_student_edition():
    """No public convergence test is withheld for needing the reference."""
    withheld = withheld_tests(list(CONVERGENCE))
    for practice, task in CONVERGENCE.items():
        assert "reference" not in withheld[practice].get(task, {}), (task, withheld[practice][task])


@pytest.mark.parametrize("store", ["global", "files"])
def test_a_fresh_worker_draws_from_the_weights_alone(tmp_path, edition_view, store, monkeypatch):
    folder = gan_bank(tmp_path / "student", "dcgan", store)
    solutions = edition_view()
    noise = judging.sample_noise(0)[:64]
    with Submission(folder, Limits(call_timeout=120)) as graded, graded.session("dcgan") as session:
        record = short_training(session)
        student = session.module
        G = student.Generator(**judging.RECIPE["generator_kwargs"])
        forged = session.run("grader.operations.trained_state:load_trained", student.Generator,
                             judging.RECIPE["generator_kwargs"], {})[0]  # a state that does not fit: refused
        assert forged is None and G is not None
        with trained_model(record["generator_state"], DCGAN, session=session, name="your Generator",
                           what="after training", convert=judging.projection_as_linear) as draw:
            fresh = draw(noise)
        # the training worker itself still holds the bank: its own forward returns stored digits
        kept = session.run("grader.operations.trained_state:eval_forward", G, [noise], chunk=64)
    assert draw_source(DCGAN) == "fresh"
    expected = grader_samples(record["generator_state"], noise, monkeypatch, solutions)
    assert torch.allclose(fresh, expected, atol=1e-5), "the fresh worker drew something else than the weights"
    assert kept.shape == fresh.shape and (kept - fresh).abs().mean() > 0.1, "the forger's bank was never used"


def test_a_fresh_worker_refuses_a_bank_registered_as_a_buffer(tmp_path, edition_view):
    folder = gan_bank(tmp_path / "student", "dcgan", "buffer")
    edition_view()
    with Submission(folder, Limits(call_timeout=120)) as graded, graded.session("dcgan") as session:
        record = short_training(session)
        with pytest.raises(GradingFailure, match=r"bank \(1024, 1, 32, 32\)"):
            with trained_model(record["generator_state"], DCGAN, session=session, name="your Generator",
                               what="after training", convert=judging.projection_as_linear) as draw:
                draw(judging.sample_noise(0)[:4])


def test_an_exported_program_draws_like_the_reference(tmp_path, monkeypatch):
    from grader.testing import reference
    from grader.judging.digit_judge import CACHE_ENV
    from grader.operations.trained_state import trained_state

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    mnist = Drawn("mnist_cnn", "MnistCNN", {}, lambda: [torch.randn(2, 1, 28, 28)])
    model = reference("mnist_cnn").MnistCNN()
    torch.manual_seed(1)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.rand_like(tensor) * 0.1 + 0.01)
    trained = trained_state(model, mnist.example())
    for name, content in {**drawing.exported_files([mnist], prefix=str(tmp_path / "exported")),
                          **declared.recorded_files([mnist], prefix=str(tmp_path))}.items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_bytes(content)
    images = torch.randn(7, 1, 28, 28)
    with trained_model(trained, mnist, session=None, name="M", what="w") as draw:
        expected = draw(images, chunk=3)
    monkeypatch.setattr(paths, "SOLUTIONS_DIR", tmp_path / "none")
    monkeypatch.setattr(drawing, "EXPORTED_DIR", tmp_path / "exported")
    monkeypatch.setattr(declared, "RECORDED", tmp_path / declared.RECORDED.name)
    declared._recorded.cache_clear()
    try:
        assert draw_source(mnist) == "exported"
        with trained_model(trained, mnist, session=None, name="M", what="w") as draw:
            got = draw(images, chunk=3)
        forged = {**trained, "holds": {**trained["holds"], "bank": (5, 5)}}
        with pytest.raises(GradingFailure, match="bank"):
            with trained_model(forged, mnist, session=None, name="M", what="w"):
                pass
    finally:
        declared._recorded.cache_clear()
    assert torch.allclose(got, expected, atol=1e-5)


# --- one maximum, whatever the device ------------------------------------------------------------

def test_no_graded_test_skips():
    """A skipped test leaves the maximum, so no suite test may skip (on a device, without data)."""
    for path in sorted(paths.PRACTICES_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text())
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                 and node.attr in ("skip", "skipif", "importorskip", "xfail")]
        assert not calls, f"{path}: line {calls[0].lineno} skips"


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_the_device_plans_keep_every_test(device, monkeypatch):
    """Each convergence test, called as on this device (the training replaced by a recorder),
    runs a plan: a GPU without CIFAR-10 or facades judges what the CPU does, for the same points."""
    from grader.practices.dcgan import test_convergence as dcgan_test
    from grader.practices.pix2pix import test_convergence as pix2pix_test
    from grader.practices.pix2pix import data as pix2pix_data

    monkeypatch.setattr(pix2pix_data, "facades_present", lambda root=None: False)
    assert pix2pix_test.plan_for(device)[0] is pix2pix_test.CPU
    seeds = []
    monkeypatch.setattr(dcgan_test, "converges", lambda session, device, seed: seeds.append(seed))
    monkeypatch.setattr(judging, "cifar10_or_none", lambda device: None)
    monkeypatch.setattr(dcgan_test, "cifar10_or_none", lambda device: None)
    dcgan_test.test_generated_digits_look_like_digits(None, device)
    dcgan_test.test_samples_of_another_seed_or_data_set(None, device)
    assert seeds == [0, 1]
