"""`grader.operations.gan_probes`, in-process on small models: sampling, initialisation, Maxout,
loss gradients, an encoder-decoder's skips and dropout, a patch discriminator's reach."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.operations import gan_probes
from grader.operations.tiny_models import SmallUNet, TinyPatchCritic, seeded


def quiet(data):
    return None


GENERATOR = seeded(5, g={"model": "TinyConditionalGenerator", "kwargs": {"dropout": 0.5}})["g"]
LABELS, Z = torch.tensor([1, 2, 3, 4]), torch.randn(4, 100, generator=torch.Generator().manual_seed(6))


def sample(G, labels, z):
    G.eval()
    with torch.no_grad():
        return G(z, labels)


def careless_sample(G, labels, z):
    return G(z, labels)


def test_a_correct_sampler_draws_the_eval_output_and_leaves_eval_mode():
    probe = gan_probes.sampling_probe(sample, GENERATOR, [LABELS, Z], train=True, model_args=[Z, LABELS],
                                      progress=quiet)
    assert torch.equal(probe["first"], probe["expected"]) and torch.equal(probe["second"], probe["expected"])
    assert probe["modes_after"] == [False, False] and not probe["has_graph"]
    assert all(torch.equal(probe["state_after"][k], v) for k, v in GENERATOR["state"].items())


def test_a_careless_sampler_shows_train_mode_and_a_graph():
    probe = gan_probes.sampling_probe(careless_sample, GENERATOR, [LABELS, Z], train=True, model_args=[Z, LABELS],
                                      progress=quiet)
    assert probe["modes_after"] == [True, True] and probe["has_graph"]
    assert not torch.equal(probe["first"], probe["expected"])  # dropout was on
    assert "expected" not in gan_probes.sampling_probe(sample, GENERATOR, [LABELS, Z], progress=quiet)


def test_init_probe_reports_the_statistics_of_each_layer():
    def weights_init(module):
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, 0.02)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)

    found = gan_probes.init_probe(weights_init, progress=quiet)
    conv = found["Conv2d(256, 512, 5)"]
    assert conv["weight_std"] == pytest.approx(0.02, rel=0.01) and not conv["bias_changed"]
    assert found["BatchNorm2d(512)"]["bias_mean"] == 0.0 and found["BatchNorm2d(512)"]["bias_changed"]
    assert not found["Linear(512, 256)"]["weight_changed"] and not found["Linear(512, 256)"]["bias_changed"]


class Maxout(nn.Module):
    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x):
        return self.linear(x).view(-1, self.units, self.pieces).max(dim=2).values


class TwoLinears(Maxout):
    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__(in_features, units, pieces)
        self.extra = nn.Linear(in_features, units)


def test_maxout_probe_loads_the_weights_and_differentiates():
    g = torch.Generator().manual_seed(2)
    weight, bias, x = torch.randn(6, 4, generator=g), torch.randn(6, generator=g), torch.randn(5, 4, generator=g)
    grad_output = torch.randn(5, 3, generator=g)
    probe = gan_probes.maxout_probe(Maxout, 4, 3, 2, weight, bias, x, grad_output, progress=quiet)
    expected = (x @ weight.T + bias).view(5, 3, 2).max(dim=2).values
    assert torch.allclose(probe["output"], expected, atol=1e-6)
    leaves = [weight.clone().requires_grad_(True), bias.clone().requires_grad_(True), x.clone().requires_grad_(True)]
    want = torch.autograd.grad((leaves[2] @ leaves[0].T + leaves[1]).view(5, 3, 2).max(dim=2).values, leaves,
                               grad_output)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(probe["grads"], want))
    refused = gan_probes.maxout_probe(TwoLinears, 4, 3, 2, weight, bias, x, grad_output, progress=quiet)
    assert refused["output"] is None and len(refused["layers"]) == 2


def test_loss_gradient_through_a_sigmoid_by_part_and_by_count():
    logits = torch.tensor([[2.0], [-1.0]])
    probe = gan_probes.loss_gradient(lambda p: -torch.log(p).mean(), [logits], squash=True, progress=quiet)
    assert torch.allclose(probe["grads"][0], -(1 - torch.sigmoid(logits)) / 2)
    assert gan_probes.loss_gradient(lambda p: (-torch.log(p).mean(), 0), [logits], squash=True,
                                    progress=quiet)["grads"] is None  # a tuple without `part`
    a, b, target = torch.randn(3), torch.randn(3), torch.randn(3)
    probe = gan_probes.loss_gradient(lambda x, y, t: ((x + y * t).sum(), x.sum()), [a, b, target], differentiate=2,
                                     part=0, progress=quiet)
    assert len(probe["grads"]) == 2 and torch.equal(probe["grads"][1], target)
    assert gan_probes.loss_gradient(lambda x: x.sum().item(), [a], progress=quiet)["grads"] is None


def test_skip_probe_silences_one_convolution():
    torch.manual_seed(0)
    model = SmallUNet()
    x = torch.rand(1, 3, 8, 8)
    plain = gan_probes.skip_probe(model, x, 2, 3, silence=99, progress=quiet)
    assert plain["convolutions"] == 4
    silenced = gan_probes.skip_probe(model, x, 2, 3, silence=3, progress=quiet)  # the output convolution
    assert torch.equal(silenced["output"], torch.zeros_like(silenced["output"]))
    assert not torch.equal(plain["output"], plain["changed"])


def test_dropout_blocks_probe_finds_the_dropout_between_two_convolutions():
    torch.manual_seed(0)
    probe = gan_probes.dropout_blocks_probe(SmallUNet(), torch.rand(16, 3, 16, 16) * 2 - 1, progress=quiet)
    assert probe["convolutions"] == 4 and probe["eval_same"]
    assert probe["differ"][:3] == [0.0, 0.0, 0.0]
    assert probe["rates"][3] == pytest.approx(0.5, abs=0.1)  # the decoder's dropout, before the last convolution
    assert probe["skip_differ"][3] == 0.0 and probe["whole_maps"][3] < probe["maps"][3]


def test_patch_gradient_reaches_only_the_patch():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(1, 3, 16, 16, generator=g), torch.rand(1, 3, 16, 16, generator=g)
    probe = gan_probes.patch_gradient(TinyPatchCritic(), x, y, 0, 0, progress=quiet)
    assert probe["shape"] == (1, 1, 8, 8)
    reached = probe["x"].abs().sum(dim=(0, 1)) > 0  # (16, 16)
    assert reached[:3, :3].any() and not reached[4:, :].any() and not reached[:, 4:].any()
    assert gan_probes.patch_gradient(TinyPatchCritic(), x, y, 9, 0, progress=quiet)["x"] is None


def test_the_loss_gradients_of_a_sum_of_terms_match_autograd():
    a = torch.randn(4)
    probe = gan_probes.loss_gradient(lambda x: F.softplus(-x).mean(), [a], progress=quiet)
    assert torch.allclose(probe["grads"][0], -(1 - torch.sigmoid(a)) / 4, atol=1e-6)
