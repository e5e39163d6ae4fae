"""`grader.operations.models`, called in-process on small torch models: layers in run order,
loading weights by order or by shape, outputs and the probes."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from grader.operations import models


def quiet(data):
    return None


class Net(nn.Module):
    """conv -> bn -> pool -> head, with the head defined first (definition order is not run order)."""

    def __init__(self, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.head = nn.Linear(4 * 4 * 4, 3)
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4, eps=eps, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.max_pool2d(F.relu(self.norm(self.conv(x))), 2).flatten(1))


class FlatNet(nn.Module):
    """The same computation as Net, as one Sequential with other names."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Flatten(), nn.Linear(64, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class TwoPaths(nn.Module):
    """f(z, labels): a noise path and a label path joined; `label_first` runs the label path first."""

    def __init__(self, label_first: bool = False) -> None:
        super().__init__()
        self.label_first = label_first
        self.labels = nn.Linear(10, 5)
        self.noise = nn.Linear(6, 7)
        self.out = nn.Linear(12, 2)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        one_hot = F.one_hot(labels, 10).float()
        if self.label_first:
            y = self.labels(one_hot)
            h = self.noise(z)
        else:
            h = self.noise(z)
            y = self.labels(one_hot)
        return self.out(torch.cat([h, y], dim=1))


def images(batch: int = 5, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_layers_come_in_run_order_with_or_without_buffer_only_modules():
    model = Net(affine=False)
    found = models.layers_in_run_order(model, [images()])
    assert found == [model.conv, model.norm, model.head]
    assert models.layers_in_run_order(model, [images()], with_buffers=False) == [model.conv, model.head]
    described = models.layers(model, [images()], progress=quiet)
    assert [d["type"] for d in described] == ["Conv2d", "BatchNorm2d", "Linear"]
    assert described[0]["shapes"] == {"weight": (4, 1, 3, 3), "bias": (4,)}


def test_load_layers_in_run_order_gives_the_references_output():
    torch.manual_seed(0)
    reference = Net()
    with torch.no_grad():
        reference.norm.running_mean.uniform_(-1, 1)
    student = FlatNet()
    states = models.layer_states(reference, [images()])
    found = models.load_layers(student, [images()], states, progress=quiet)
    assert [d["type"] for d in found] == ["Conv2d", "BatchNorm2d", "Linear"]
    expected = models.forward(reference, [images(3, 1)], progress=quiet)
    assert torch.equal(models.forward(student, [images(3, 1)], progress=quiet), expected)


def test_load_layers_loads_nothing_when_a_shape_differs():
    student = Net()
    before = {k: v.clone() for k, v in student.state_dict().items()}
    states = models.layer_states(Net(), [images()])
    states[2] = {"weight": torch.zeros(3, 65), "bias": torch.zeros(3)}
    models.load_layers(student, [images()], states, progress=quiet)
    assert all(torch.equal(before[k], v) for k, v in student.state_dict().items())


def test_load_layers_by_shape_ignores_the_order_the_paths_run():
    torch.manual_seed(1)
    reference, student = TwoPaths(label_first=False), TwoPaths(label_first=True)
    args = [torch.randn(4, 6), torch.tensor([1, 2, 3, 4])]
    states = models.layer_states(reference, args, with_buffers=False)
    in_order = models.load_layers(student, args, states, progress=quiet)  # the paths run the other way round
    assert not torch.equal(student.noise.weight, reference.noise.weight)
    found = models.load_layers(student, args, states, by_shape=True, progress=quiet)
    assert sorted(models.signature(d["shapes"]) for d in found) == sorted(models.signature(s) for s in states)
    assert [d["shapes"] for d in in_order] == [d["shapes"] for d in found]
    assert torch.equal(models.forward(student, args, progress=quiet), models.forward(reference, args, progress=quiet))


def test_load_layers_by_shape_refuses_two_layers_of_one_signature():
    class Twins(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)

        def forward(self, x):
            return self.b(self.a(x))

    student = Twins()
    before = student.a.weight.detach().clone()
    states = [{"weight": torch.ones(3, 3), "bias": torch.zeros(3)}, {"weight": torch.ones(3, 3), "bias": torch.ones(3)}]
    models.load_layers(student, [torch.randn(2, 3)], states, by_shape=True, progress=quiet)
    assert torch.equal(student.a.weight, before)


def test_forward_uses_the_mode_asked_for_and_restores_the_models():
    model = Net()
    with torch.no_grad():
        model.norm.running_mean.fill_(3.0)
    model.train()
    evaluated = models.forward(model, [images()], train=False, progress=quiet)
    assert model.training and not evaluated.requires_grad
    trained = models.forward(model, [images()], train=True, progress=quiet)
    assert not torch.allclose(evaluated, trained)
    model.eval()
    models.forward(model, [images()], train=True, progress=quiet)
    assert not model.training


def test_parameter_shapes_and_layer_output_shapes():
    model = Net()
    shapes = models.parameter_shapes(model, progress=quiet)
    assert sum(torch.Size(s).numel() for s in shapes.values()) == sum(p.numel() for p in model.parameters())
    found = models.layer_output_shapes(model, [images(2)], progress=quiet)
    assert [(d["type"], d["shape"]) for d in found] == [("Conv2d", (2, 4, 8, 8)), ("BatchNorm2d", (2, 4, 8, 8)),
                                                       ("Linear", (2, 3))]


def test_norm_settings_in_run_order():
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.second = nn.BatchNorm1d(3, momentum=0.01)
            self.first = nn.BatchNorm1d(3, eps=1e-3, affine=False)

        def forward(self, x):
            return self.second(self.first(x))

    settings = models.norm_settings(Two(), [torch.randn(4, 3)], progress=quiet)
    assert [(s["eps"], s["momentum"], s["affine"]) for s in settings] == [(1e-3, 0.1, False), (1e-5, 0.01, True)]
    assert settings == models.norm_settings_of(Two(), [torch.randn(4, 3)])


def test_gradient_probe_finds_unused_and_cut_off_parameters():
    class Leaky(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used, self.unused, self.cut = nn.Linear(4, 3), nn.Linear(4, 3), nn.Linear(4, 3)

        def forward(self, x):
            return self.used(x) + 0 * self.cut(x)

    probe = models.gradient_probe(Leaky(), [torch.randn(5, 4)], labels=torch.tensor([0, 1, 2, 0, 1]), progress=quiet)
    assert probe["missing"] == ["unused.weight", "unused.bias"]
    assert probe["zero"] == ["cut.weight", "cut.bias"]
    assert probe["parameters"][:2] == ["used.weight", "used.bias"]
    assert models.gradient_probe(Leaky(), [torch.randn(5, 4)], progress=quiet)["missing"] == probe["missing"]


def test_batch_norm_probe_moves_the_statistics_in_train_mode_only():
    probe = models.batch_norm_probe(Net(), [images()], progress=quiet)
    assert not torch.equal(probe["start"]["norm.running_mean"], probe["after_train"]["norm.running_mean"])
    assert torch.equal(probe["after_train"]["norm.running_mean"], probe["after_eval"]["norm.running_mean"])


def test_graph_and_grad_mode_probes():
    model = Net()
    assert models.graph_probe(lambda m, x: m(x), [model, images()], progress=quiet)["requires_grad"]
    assert not models.graph_probe(lambda m, x: m(x).detach(), [model, images()], progress=quiet)["requires_grad"]

    def evaluate(m, x):
        with torch.no_grad():
            return m(x).argmax(1)

    assert models.grad_mode_probe(evaluate, model, [images()], progress=quiet)["grad_enabled"] == [False]
    assert models.grad_mode_probe(lambda m, x: m(x), model, [images()], progress=quiet)["grad_enabled"] == [True]


class HalfDropped(nn.Module):
    """Linear(8, 2) on [dropout(x[:, :4]), x[:, 4:]]."""

    def __init__(self) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        return self.out(torch.cat([self.drop(x[:, :4]), x[:, 4:]], dim=1))


def test_dropout_probe_sees_the_zeros_dropout_adds_in_train_mode():
    probe = models.dropout_probe(HalfDropped(), [torch.rand(2000, 8) + 0.1], [(2, 8), (5, 5)], progress=quiet)
    assert probe["train_zeros"][0] == pytest.approx(0.25, abs=0.02) and probe["eval_zeros"][0] == 0.0
    assert probe["train_zeros"][1] is None and probe["eval_zeros"][1] is None
    assert not probe["train_same"] and probe["eval_same"]


def test_input_zero_shares_by_column_are_seeded():
    x = torch.rand(2000, 8) + 0.1
    probe = models.input_zero_shares(HalfDropped(), [x], [((2, 8), 0, 4), ((2, 8), 4, 8)], progress=quiet)
    assert probe["train"][0] == pytest.approx(0.5, abs=0.03) and probe["train"][1] == 0.0
    assert probe["eval"] == [0.0, 0.0]
    assert models.input_zero_shares(HalfDropped(), [x], [((2, 8), 0, 4)], progress=quiet)["train"][0] == \
        probe["train"][0]


def test_architecture_probe_reports_modules_and_the_resizing_calls():
    class Resizing(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 4, 2, 1, bias=False)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            return F.interpolate(self.pool(self.conv(x)), scale_factor=2)

    probe = models.architecture_probe(Resizing(), [images(1)], progress=quiet)
    assert probe["convolutions"] == [{"type": "Conv2d", "in": 1, "out": 2, "kernel": (4, 4), "stride": (2, 2),
                                      "padding": (1, 1), "output_padding": (0, 0), "bias": False}]
    assert probe["pooling"] == ["MaxPool2d"] and probe["linear"] == [] and probe["batch_norm"] == []
    assert probe["run"] == [{"type": "Conv2d", "in_shape": (1, 1, 8, 8), "out_shape": (1, 2, 4, 4), "kernel": (4, 4),
                             "stride": (2, 2)}]
    assert "torch.nn.functional.interpolate" in probe["called"] and "torch.nn.functional.max_pool2d" in probe["called"]
