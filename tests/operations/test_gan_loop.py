"""`grader.operations.gan_loop.train_gan`, in-process on tiny models: the records it streams, its
determinism for a seed, the three kinds of data, and the grader's initialisation."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.operations.gan_loop import STATS, as_stats, normal_init, train_gan
from grader.operations.tiny_models import (TinyConditionalDiscriminator, TinyConditionalGenerator,
                                           TinyImageDiscriminator, TinyImageGenerator, TinyPatchCritic,
                                           TinyTranslator)


def bce(out, target):
    return F.binary_cross_entropy_with_logits(out, torch.full_like(out, target))


def train_step(G, D, opt_g, opt_d, real, z):
    fake = G(z)
    real_logits, fake_logits = D(real), D(fake.detach())
    loss_d = bce(real_logits, 1.0) + bce(fake_logits, 0.0)
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    opt_g.zero_grad()
    loss_g = bce(D(fake), 1.0)
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "d_real": torch.sigmoid(real_logits).mean().item(),
            "d_fake": torch.sigmoid(fake_logits).mean().item()}


IMAGES = torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
NOISE = torch.randn(6, 100, generator=torch.Generator().manual_seed(1))


def run(seed: int = 0, **options) -> tuple[dict, list[dict]]:
    streamed: list[dict] = []
    record = train_gan(TinyImageGenerator, TinyImageDiscriminator, train_step, IMAGES, NOISE, epochs=2, batch_size=8,
                       seed=seed, pixel_range=(-1.0, 1.0), report_every=2, progress=streamed.append, **options)
    return record, streamed


def test_the_records_streamed_have_their_keys_and_shapes():
    record, streamed = run()
    steps = [r for r in streamed if "step" in r and "stats" not in r]
    epochs = [r for r in streamed if "stats" in r]
    assert [r["step"] for r in steps] == [2, 4, 6, 8, 10] and set(steps[0]) == {"step", "epoch", *STATS}
    assert [r["epoch"] for r in epochs] == [0, 1] and epochs[-1] is record
    assert record["steps"] == 10 and set(record["stats"]) == set(STATS)
    assert all(len(values) == 5 for values in record["stats"].values())  # 40 images, batches of 8, per epoch
    assert record["samples"].shape == (6, 1, 8, 8) and record["samples"].abs().max() <= 1


def test_a_seed_gives_the_same_run_and_another_seed_another():
    first, again, other = run(0)[0], run(0)[0], run(1)[0]
    assert torch.equal(first["samples"], again["samples"]) and first["stats"] == again["stats"]
    assert not torch.equal(first["samples"], other["samples"])


def test_send_layers_weights_and_initial_evidence():
    record, streamed = run(send_samples=False, send_weights=True, send_initial=True, every_epoch=False,
                           send_layers=[NOISE[:2]])
    assert len([r for r in streamed if "stats" in r]) == 1 and "samples" not in record
    assert [layer["type"] for layer in record["generator_state"]["layers"]] == ["Linear"]
    assert set(record["generator"]) == {"out.weight", "out.bias"} and "initial_generator_state" in record
    assert not torch.equal(record["generator_state"]["layers"][0]["state"]["weight"],
                           record["initial_generator_state"]["layers"][0]["state"]["weight"])


def test_max_steps_and_a_statistic_that_is_not_finite_stop_the_run():
    assert run(max_steps=3)[0]["steps"] == 3

    def exploding(*args):
        return {**train_step(*args), "loss_d": float("nan")}

    record = train_gan(TinyImageGenerator, TinyImageDiscriminator, exploding, IMAGES, NOISE, epochs=5, batch_size=8,
                       progress=lambda data: None)
    assert record["steps"] == 1


def test_conditional_data_reaches_the_step_with_its_labels():
    seen = []

    def conditional_step(G, D, opt_g, opt_d, images, labels, z):
        seen.append((images.shape, labels.clone(), z.shape))
        return {key: 0.5 for key in STATS}

    labels = torch.arange(40) % 10
    record = train_gan(TinyConditionalGenerator, TinyConditionalDiscriminator, conditional_step,
                       torch.zeros(40, 1, 28, 28, dtype=torch.uint8), NOISE, train_labels=labels,
                       sample_labels=torch.arange(6), batch_size=8, decay=False, progress=lambda data: None)
    assert seen[0][0] == (8, 1, 28, 28) and seen[0][2] == (8, 100) and len(seen) == 5
    assert sorted(torch.cat([s[1] for s in seen]).tolist()) == sorted(labels.tolist())
    assert record["samples"].shape == (6, 1, 28, 28)


def test_paired_data_brings_each_image_its_target_and_no_noise():
    seen = []

    def paired_step(G, D, opt_g, opt_d, inputs, targets):
        seen.append((inputs.clone(), targets.clone()))
        return {"loss_d": 0.1, "loss_g": 0.2}

    inputs = torch.randint(0, 256, (12, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    record = train_gan(TinyTranslator, TinyPatchCritic, paired_step, inputs, inputs[:3], train_targets=inputs,
                       stats=("loss_d", "loss_g"), pixel_range=(-1.0, 1.0), batch_size=4, sample_chunk=2,
                       decay=False, progress=lambda data: None)
    assert all(torch.allclose(x, y) for x, y in seen)  # here each target is its own input
    assert seen[0][0].min() >= -1 and seen[0][0].max() <= 1
    assert record["samples"].shape == (3, 3, 8, 8) and set(record["stats"]) == {"loss_d", "loss_g"}


def test_as_stats_names_what_train_step_should_return():
    assert as_stats({"loss_d": torch.tensor(1.5), "loss_g": 2, "d_real": 0.5, "d_fake": 0.25}) == \
        {"loss_d": 1.5, "loss_g": 2.0, "d_real": 0.5, "d_fake": 0.25}
    with pytest.raises(TypeError, match="should return a dict with the floats loss_d, loss_g, d_real, d_fake"):
        as_stats((1.0, 2.0))
    with pytest.raises(TypeError, match="d_fake=bool"):
        as_stats({"loss_d": 1.0, "loss_g": 1.0, "d_real": 1.0, "d_fake": True})


def test_normal_init_draws_convolutions_and_batch_norms_only():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(64, 64, 5), nn.BatchNorm2d(64), nn.Linear(4, 4))
    linear = model[2].weight.detach().clone()
    model.apply(normal_init(0.05))
    assert model[0].weight.std().item() == pytest.approx(0.05, rel=0.05)
    assert model[1].weight.mean().item() == pytest.approx(1.0, abs=0.02) and model[1].bias.abs().sum() == 0
    assert torch.equal(model[2].weight, linear)
