"""mnist_cnn.3-5: train_step, evaluate and predict_proba, observed on the student's own model."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.practices.mnist_cnn.reference_model import (MODELS, STEPS, digits, labels, load_reference_weights,
                                                       reference_logits)
from grader.testing import assert_close, check, fail, task


def _probe_train_step(student_session, *, batch: int, seed: int, stale_gradient: float = 0.0,
                      start_in_eval: bool = False) -> tuple[dict, torch.Tensor]:
    student = student_session.module
    model = student.MnistCNN()
    load_reference_weights(student_session, model, seed=seed)
    x, y = digits(batch, seed), labels(batch, seed + 1)
    correct = student_session.run(f"{STEPS}:reference_classifier_step", model, x, y, lr=0.05)
    probe = student_session.run(f"{STEPS}:train_step_probe", student.train_step, {"model": model}, [x, y], lr=0.05,
                                train=not start_in_eval, stale_gradient=stale_gradient)
    steps = sum(event["event"] == "step" for event in probe["events"])
    return {"returned": probe["returned"], "logits_before": correct["logits"], "steps": steps,
            "before": probe["before"]["model_params"], "after": probe["after"]["model_params"],
            "expected_after": correct["after"]}, y


def _changed(before: dict, after: dict) -> bool:
    return any(not torch.equal(before[k], after[k]) for k in before)


@task("mnist_cnn.3", points=2, category="values", visibility="public")
def test_train_step_returns_the_batch_loss_before_the_step(student_session):
    probe, y = _probe_train_step(student_session, batch=16, seed=0)
    returned = probe["returned"]
    check(isinstance(returned, float), f"train_step returned {type(returned).__name__}; it should return the "
          "loss as a Python float.", "return loss.item().")
    expected = F.cross_entropy(probe["logits_before"], y).item()
    if abs(returned - F.cross_entropy(F.softmax(probe["logits_before"], dim=1), y).item()) < 1e-4:
        fail(f"train_step returned {returned:.5f}: cross-entropy of softmax probabilities, not of logits "
             f"({expected:.5f}).", "F.cross_entropy applies log-softmax itself: pass it the logits.")
    check(abs(returned - expected) < 1e-4 * max(1.0, abs(expected)),
          f"train_step returned loss {returned:.5f}; the cross-entropy of this batch before the step is "
          f"{expected:.5f}.", "compute the loss from the model's logits before optimizer.step(), then return it.")


@task("mnist_cnn.3", points=2, category="gradients", visibility="public")
def test_train_step_makes_exactly_one_update(student_session):
    probe, _ = _probe_train_step(student_session, batch=16, seed=1)
    check(probe["steps"] == 1, f"train_step called optimizer.step() {probe['steps']} times; expected once.",
          "one batch, one update: call optimizer.step() once, after loss.backward().")
    check(_changed(probe["before"], probe["after"]), "the model's parameters did not change in train_step.",
          "call loss.backward() and then optimizer.step().")


def _assert_one_correct_step(probe: dict, *, situation: str, hint: str) -> None:
    """The model's state after train_step equals one correct step's from the same start."""
    for name, expected in probe["expected_after"].items():
        if expected.is_floating_point():
            assert_close(probe["after"][name], expected, atol=1e-5, rtol=1e-4,
                         call=f"{name!r} after train_step ({situation})", hint=hint)


@task("mnist_cnn.3", points=3, category="gradients", visibility="hidden")
def test_train_step_clears_old_gradients(student_session):
    probe, _ = _probe_train_step(student_session, batch=16, seed=2, stale_gradient=1.0)
    _assert_one_correct_step(probe, situation="starting with old gradients of 1.0",
                             hint="is optimizer.zero_grad() called before loss.backward()? Without it, the old "
                                  "gradients are added to the new ones.")


@task("mnist_cnn.3", points=1, category="values", visibility="hidden")
def test_train_step_trains_a_model_left_in_eval_mode(student_session):
    probe, _ = _probe_train_step(student_session, batch=16, seed=3, start_in_eval=True)
    _assert_one_correct_step(probe, situation="on a model left in eval mode, as evaluate leaves it",
                             hint="start train_step with model.train(): in eval mode batch norm uses its running "
                                  "statistics and does not update them.")


@task("mnist_cnn.4", points=2, category="values", visibility="public")
def test_evaluate_is_the_accuracy_in_eval_mode(student_session):
    student = student_session.module
    model = student.MnistCNN()
    load_reference_weights(student_session, model, seed=4)
    x, y = digits(64, 40), labels(64, 41)
    predictions = reference_logits(seed=4, batch=64, data_seed=40, train=False).argmax(dim=1)
    y[:20] = predictions[:20]  # a known share of right answers
    expected = (predictions == y).float().mean().item()
    model.train()
    accuracy = student.evaluate(model, x, y)
    check(isinstance(accuracy, float), f"evaluate returned {type(accuracy).__name__}; expected a Python float.",
          "return (predictions == labels).float().mean().item().")
    check(abs(accuracy - expected) < 1e-6, f"evaluate returned {accuracy:.4f} on 64 images; the accuracy in eval "
          f"mode is {expected:.4f}.", "call model.eval() first, predict with argmax over dim=1, and compare "
                                      "with the labels.")


@task("mnist_cnn.4", points=1, category="values", visibility="hidden", style=True)
def test_evaluate_leaves_the_running_statistics_alone(student_session):
    student = student_session.module
    model = student.MnistCNN()
    before = student_session.run(f"{MODELS}:batch_norm_probe", model, [digits(4, 50)])["after_eval"]
    student.evaluate(model, digits(32, 51), labels(32, 52))
    after = student_session.run(f"{MODELS}:batch_norm_probe", model, [digits(4, 50)])["start"]
    moved = [name for name in before if not torch.equal(before[name], after[name])]
    check(not moved, f"evaluate changed the batch-norm running statistics {moved}.",
          "call model.eval() before the forward pass.")


@task("mnist_cnn.4", points=1, category="gradients", visibility="hidden")
def test_evaluate_runs_the_model_without_gradients(student_session):
    student = student_session.module
    probe = student_session.run(f"{MODELS}:grad_mode_probe", student.evaluate, student.MnistCNN(),
                                [digits(16, 53), labels(16, 54)])
    seen = probe["grad_enabled"]
    check(bool(seen), "evaluate(model, images (16, 1, 28, 28), labels) never called the model.",
          "compute model(images), then the accuracy of its argmax.")
    check(not any(seen), f"evaluate(model, images (16, 1, 28, 28), labels) ran the model's forward pass with "
          f"autograd on ({sum(seen)} of {len(seen)} passes): it recorded a graph nobody uses, which costs memory "
          "and time.", "wrap the forward pass in `with torch.no_grad():`.")


@task("mnist_cnn.5", points=2, category="values", visibility="public")
def test_predict_proba_is_the_softmax_of_the_logits(student_session):
    student = student_session.module
    model = student.MnistCNN()
    load_reference_weights(student_session, model, seed=5)
    x = digits(12, 60)
    expected = F.softmax(reference_logits(seed=5, batch=12, data_seed=60, train=False), dim=1)
    model.train()
    probs = student.predict_proba(model, x)
    assert_close(probs, expected, atol=1e-5, rtol=1e-4, call="predict_proba(model, x (12, 1, 28, 28))",
                 hint="softmax over dim=1 of the logits, in eval mode (model.eval()), under torch.no_grad().")


@task("mnist_cnn.5", points=1, category="values", visibility="hidden")
def test_predict_proba_rows_sum_to_one_for_extreme_inputs(student_session):
    student = student_session.module
    probs = student.predict_proba(student.MnistCNN(), digits(5, 70) * 1e3)
    check(isinstance(probs, torch.Tensor) and bool(torch.isfinite(probs).all()),
          "predict_proba returned inf or nan for large inputs.", "use F.softmax (or subtract the row maximum).")
    assert_close(probs.sum(dim=1), torch.ones(5), atol=1e-5, call="predict_proba(...).sum(dim=1)",
                 hint="softmax over the class dimension, dim=1.")


@task("mnist_cnn.5", points=1, category="gradients", visibility="hidden", style=True)
def test_predict_proba_records_no_graph(student_session):
    student = student_session.module
    model = student.MnistCNN()
    probe = student_session.run(f"{MODELS}:graph_probe", student.predict_proba, [model, digits(4, 70)])
    check(not probe["requires_grad"], "predict_proba returned probabilities that require a gradient: autograd "
          "recorded a graph it will never use.", "compute the forward pass under torch.no_grad().")
