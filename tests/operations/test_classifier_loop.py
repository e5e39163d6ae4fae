"""`grader.operations.classifier_loop.train_classifier`, in-process on a tiny classifier."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.operations.classifier_loop import held_out_logits, train_classifier


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(28 * 28, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))


def train_step(model, optimizer, images, labels):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


g = torch.Generator().manual_seed(0)
IMAGES = torch.randint(0, 256, (48, 1, 28, 28), dtype=torch.uint8, generator=g)
LABELS = torch.randint(0, 10, (48,), generator=g)
HELD_OUT = torch.randint(0, 256, (7, 1, 28, 28), dtype=torch.uint8, generator=g)


def run(seed: int = 0, **options):
    streamed = []
    record = train_classifier(Tiny, train_step, IMAGES, LABELS, HELD_OUT, epochs=2, batch_size=16, seed=seed,
                              report_every=2, progress=streamed.append, **options)
    return record, streamed


def test_the_records_streamed_have_their_keys_and_shapes():
    record, streamed = run()
    assert [r["step"] for r in streamed if "loss" in r] == [2, 4, 6]
    epochs = [r for r in streamed if "losses" in r]
    assert [r["epoch"] for r in epochs] == [0, 1] and epochs[-1] is record
    assert len(record["losses"]) == 3 and len(record["step_losses"]) == 6 and record["logits"].shape == (7, 10)


def test_a_seed_gives_the_same_run_and_the_logits_are_the_trained_models():
    (first, _), (again, _), (other, _) = run(0, send_weights=True), run(0), run(1)
    assert first["step_losses"] == again["step_losses"] and torch.equal(first["logits"], again["logits"])
    assert first["step_losses"] != other["step_losses"]
    model = Tiny()
    model.load_state_dict(first["state_dict"])
    assert torch.allclose(held_out_logits(model, HELD_OUT, device="cpu"), first["logits"])


def test_layers_instead_of_logits_and_early_stops():
    record, _ = run(send_logits=False, send_layers=[torch.zeros(1, 1, 28, 28)], max_steps=2)
    assert "logits" not in record and record["steps"] == 2
    assert [layer["name"] for layer in record["model_state"]["layers"]] == ["fc"]


def test_a_train_step_that_returns_no_number_is_told_so():
    with pytest.raises(TypeError, match=r"should return the batch's loss as a float \(loss.item\(\)\)"):
        train_classifier(Tiny, lambda *args: None, IMAGES, LABELS, HELD_OUT, progress=lambda data: None)


def test_shifted_training_differs_from_plain():
    assert run(augment=2)[0]["step_losses"] != run()[0]["step_losses"]
