"""`grader.operations.steps`, in-process: the watched train step and the correct steps it is
compared with, for a classifier and for each kind of GAN data."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.operations.steps import reference_classifier_step, reference_gan_step, train_step_probe
from grader.operations.tiny_models import seeded


def quiet(data):
    return None


# --- a classifier --------------------------------------------------------------------------------

def classifier(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def classifier_step(model, optimizer, images, labels):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def forgetful_step(model, optimizer, images, labels):  # no zero_grad
    model.train()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


DATA = [torch.randn(10, 6, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])]


def test_the_probe_records_one_step_with_the_gradient_it_was_given():
    model = classifier()
    correct = reference_classifier_step(model, *DATA, lr=0.1, progress=quiet)
    probe = train_step_probe(classifier_step, {"model": model}, DATA, lr=0.1, train=False, progress=quiet)
    assert [(e["event"], e["optimizer"]) for e in probe["events"]] == [("zero_grad", "opt_model"), ("step", "opt_model")]
    assert probe["returned"] == pytest.approx(F.cross_entropy(correct["logits"], DATA[1]).item(), abs=1e-6)
    step = probe["events"][1]
    assert step["model_training"] and all(g is not None for g in step["model_grads"].values())
    for name, value in correct["after"].items():
        assert torch.allclose(probe["after"]["model_params"][name], value, atol=1e-6), name
    assert not probe["before"]["model_training"]  # handed over in eval mode


def test_the_correct_classifier_step_leaves_the_model_alone():
    model = classifier()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    reference_classifier_step(model, *DATA, lr=0.1, progress=quiet)
    assert not model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_stale_gradient_shows_in_a_step_without_zero_grad():
    def after(step, stale):
        probe = train_step_probe(step, {"model": classifier()}, DATA, lr=0.1, train=True, stale_gradient=stale,
                                 progress=quiet)
        return probe["after"]["model_params"]

    clean, stale = after(classifier_step, 1.0), after(classifier_step, None)
    assert all(torch.allclose(clean[k], stale[k], atol=1e-6) for k in clean)
    forgetful = after(forgetful_step, 1.0)
    assert not torch.allclose(forgetful["0.weight"], clean["0.weight"], atol=1e-3)


# --- GANs ----------------------------------------------------------------------------------------

def gan_step(d_loss, g_loss, generate, judge, real, *, wrong_order: bool = False):
    """A correct GAN step for given loss functions and calls (or, with `wrong_order`, the generator
    stepped against the discriminator before its update)."""
    def train_step(G, D, opt_g, opt_d):
        G.train()
        D.train()
        fake = generate(G)
        if wrong_order:
            opt_g.zero_grad()
            g_loss(judge(D, fake), fake).backward()
            opt_g.step()
        real_out, fake_out = judge(D, real), judge(D, fake.detach())
        loss_d = d_loss(real_out, fake_out)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        if not wrong_order:
            opt_g.zero_grad()
            loss_g = g_loss(judge(D, fake), fake)
            loss_g.backward()
            opt_g.step()
        return {"loss_d": loss_d.item()}
    return train_step


def bce(logits: bool):
    loss = F.binary_cross_entropy_with_logits if logits else F.binary_cross_entropy
    return lambda out, target: loss(out, torch.full_like(out, target))


def conditional(seed: int):
    models = seeded(seed, g={"model": "TinyConditionalGenerator", "kwargs": {}},
                    d={"model": "TinyConditionalDiscriminator", "kwargs": {}})
    g = torch.Generator().manual_seed(seed)
    images, labels, z = torch.rand(6, 1, 28, 28, generator=g), torch.randint(0, 10, (6,), generator=g), \
        torch.randn(6, 100, generator=g)
    loss = bce(False)
    step = gan_step(lambda r, f: loss(r, 1.0) + loss(f, 0.0), lambda out, fake: loss(out, 1.0),
                    lambda G: G(z, labels), lambda D, x: D(x, labels), images)
    return models, [images, labels, z], step


def test_a_correct_conditional_step_matches_the_reference():
    models, data, step = conditional(0)
    probe = train_step_probe(lambda G, D, opt_g, opt_d, *data: step(G, D, opt_g, opt_d), models, data, lr=0.5,
                             progress=quiet)
    expected = reference_gan_step("conditional", models, data, lr=0.5, logits=False)
    steps = [e for e in probe["events"] if e["event"] == "step"]
    assert [e["optimizer"] for e in steps] == ["opt_d", "opt_g"]
    assert not probe["before"]["g_training"] and steps[0]["g_training"]
    for name, value in expected["d_grads"].items():
        assert torch.allclose(steps[0]["d_grads"][name], value, atol=1e-6)
    for name, value in expected["g_after"].items():
        assert torch.allclose(probe["after"]["g_params"][name], value, atol=1e-6)
    assert probe["returned"]["loss_d"] == pytest.approx(expected["stats"]["loss_d"], abs=1e-6)
    assert set(expected["stats"]) == {"loss_d", "loss_g", "d_real", "d_fake"}


def test_a_generator_stepped_against_the_old_discriminator_shows():
    models, data, _ = conditional(1)
    loss = bce(False)
    images, labels, z = data
    wrong = gan_step(lambda r, f: loss(r, 1.0) + loss(f, 0.0), lambda out, fake: loss(out, 1.0),
                     lambda G: G(z, labels), lambda D, x: D(x, labels), images, wrong_order=True)
    probe = train_step_probe(lambda G, D, opt_g, opt_d, *data: wrong(G, D, opt_g, opt_d), models, data, lr=0.5,
                             progress=quiet)
    expected = reference_gan_step("conditional", models, data, lr=0.5, logits=False)
    g_step = next(e for e in probe["events"] if e["event"] == "step" and e["optimizer"] == "opt_g")
    for name, value in expected["g_grads_before_d_step"].items():
        assert torch.allclose(g_step["g_grads"][name], value, atol=1e-6)
    assert not all(torch.allclose(g_step["g_grads"][n], v, atol=1e-6) for n, v in expected["g_grads"].items())


def test_the_unconditional_reference_counts_the_batch_norm_passes():
    models = seeded(3, g={"model": "TinyImageGenerator", "kwargs": {"batch_norm": True}},
                    d={"model": "TinyImageDiscriminator", "kwargs": {"batch_norm": True}})
    g = torch.Generator().manual_seed(3)
    real, z = torch.rand(8, 1, 8, 8, generator=g) * 2 - 1, torch.randn(8, 100, generator=g)
    loss = bce(True)
    step = gan_step(lambda r, f: loss(r, 1.0) + loss(f, 0.0), lambda out, fake: loss(out, 1.0),
                    lambda G: G(z), lambda D, x: D(x), real)
    probe = train_step_probe(lambda G, D, opt_g, opt_d, *data: step(G, D, opt_g, opt_d), models, [real, z], lr=0.5,
                             progress=quiet)
    expected = reference_gan_step("unconditional", models, [real, z], lr=0.5, logits=True)
    for key, want in (("g_params", expected["g_after"]), ("d_params", expected["d_final"])):
        for name in ("norm.running_mean", "norm.running_var", "norm.num_batches_tracked"):
            assert torch.allclose(probe["after"][key][name], want[name], atol=1e-6), (key, name)
    assert int(expected["d_final"]["norm.num_batches_tracked"]) == 3 and int(expected["g_after"][
        "norm.num_batches_tracked"]) == 1


def test_paired_steps_are_seeded_and_carry_the_l1_term():
    models = seeded(4, g={"model": "SmallUNet", "kwargs": {}}, d={"model": "SmallPatchCritic", "kwargs": {}})
    g = torch.Generator().manual_seed(4)
    inputs, targets = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1, torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    loss = bce(True)
    step = gan_step(lambda r, f: 0.5 * (loss(r, 1.0) + loss(f, 0.0)),
                    lambda out, fake: loss(out, 1.0) + 100.0 * (fake - targets).abs().mean(),
                    lambda G: G(inputs), lambda D, x: D(inputs, x), targets)

    def probe():
        return train_step_probe(lambda G, D, opt_g, opt_d, *data: step(G, D, opt_g, opt_d), models,
                                [inputs, targets], lr=0.05, seed=9, progress=quiet)

    first, second = probe(), probe()
    assert all(torch.equal(first["after"]["g_params"][k], v) for k, v in second["after"]["g_params"].items())
    expected = reference_gan_step("paired", models, [inputs, targets], lr=0.05, logits=True, discriminator_weight=0.5,
                                  l1_weight=100.0, seed=9)
    assert {"loss_g_gan", "loss_g_l1"} <= set(expected["stats"])
    assert expected["stats"]["loss_g"] == pytest.approx(expected["stats"]["loss_g_gan"]
                                                        + 100 * expected["stats"]["loss_g_l1"], rel=1e-5)
    assert first["returned"]["loss_d"] == pytest.approx(expected["stats"]["loss_d"], abs=1e-6)
    for name, value in expected["g_after"].items():
        assert torch.allclose(first["after"]["g_params"][name], value, atol=1e-5), name


def test_an_unknown_kind_of_data_is_refused():
    models, data, _ = conditional(0)
    with pytest.raises(ValueError, match="game is one of"):
        reference_gan_step("cyclic", models, data, lr=0.5, logits=False)
