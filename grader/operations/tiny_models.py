"""Small grader-made models with the interfaces of the students' GANs, for the probes of
`grader.operations.steps` and `grader.operations.gan_probes`.

The student's `train_step`, `sample` or `translate` runs on these instead of the student's own
models, so a probe's result depends only on the function under test, and the trusted side can
repeat the correct computation on the same models (`grader.operations.steps.reference_gan_step`).
The trusted side names a model, and sends its state, as plain data (a *spec*):

    {"model": "TinyImageGenerator", "kwargs": {"batch_norm": True}, "state": {name: tensor}}

- conditional: `TinyConditionalGenerator` G(z, labels), `TinyConditionalDiscriminator` D(x, labels)
  in (0, 1), on 28 x 28 digits and 10 classes;
- unconditional: `TinyImageGenerator` G(z), `TinyImageDiscriminator` D(x) -> logits, on 8 x 8
  images, with batch norm if asked;
- paired: `TinyTranslator` G(x), `TinyPatchCritic` D(x, y) -> patch logits, on 3-channel images;
  `SmallUNet` and `SmallPatchCritic` add batch norm and dropout, so train mode shows.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

NZ, CLASSES, DIGIT, SIDE = 100, 10, 28, 8


# --- conditional: G(z, labels) and D(x, labels) on digits ----------------------------------------

class TinyConditionalGenerator(nn.Module):
    """G(z, labels) -> (B, 1, 28, 28) in (0, 1): one linear layer on [z, one-hot], a sigmoid.
    With `dropout` > 0, dropout on that input, so evaluation mode is visible in the output."""

    def __init__(self, nz: int = NZ, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(nz + CLASSES, DIGIT * DIGIT)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.dropout(torch.cat([z, F.one_hot(labels, CLASSES).float()], dim=1))  # (B, nz + 10)
        return torch.sigmoid(self.out(h)).view(-1, 1, DIGIT, DIGIT)


class TinyConditionalDiscriminator(nn.Module):
    """D(x, labels) -> (B, 1) in (0, 1): Linear(794, 16), tanh, Linear(16, 1), sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(DIGIT * DIGIT + CLASSES, 16)
        self.out = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = torch.cat([x.flatten(1), F.one_hot(labels, CLASSES).float()], dim=1)  # (B, 794)
        return torch.sigmoid(self.out(torch.tanh(self.hidden(h))))


# --- unconditional: G(z) and D(x) -> logits on 8 x 8 images ---------------------------------------

class TinyImageGenerator(nn.Module):
    """G(z) -> (B, 1, 8, 8) in (-1, 1): Linear(nz, 64), optionally BatchNorm1d(64), tanh.
    With batch norm, train mode (batch statistics) and eval mode (running ones) give other images."""

    def __init__(self, nz: int = NZ, batch_norm: bool = False) -> None:
        super().__init__()
        self.out = nn.Linear(nz, SIDE * SIDE)
        self.norm = nn.BatchNorm1d(SIDE * SIDE) if batch_norm else nn.Identity()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.norm(self.out(z.flatten(1)))).view(-1, 1, SIDE, SIDE)


class TinyImageDiscriminator(nn.Module):
    """D(x) -> (B,) logits: Linear(64, 16), optionally BatchNorm1d(16), LeakyReLU(0.2), Linear(16, 1)."""

    def __init__(self, batch_norm: bool = False) -> None:
        super().__init__()
        self.hidden = nn.Linear(SIDE * SIDE, 16)
        self.norm = nn.BatchNorm1d(16) if batch_norm else nn.Identity()
        self.out = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.leaky_relu(self.norm(self.hidden(x.flatten(1))), 0.2)).view(-1)


# --- paired: G(x) and D(x, y) -> patch logits on 3-channel images ---------------------------------

class TinyTranslator(nn.Module):
    """G(x) -> (B, 3, H, W) in (-1, 1): one 3x3 convolution and a tanh; no batch norm. With
    `dropout` > 0, dropout on the input, so evaluation mode is visible in the output."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(self.dropout(x)))


class TinyPatchCritic(nn.Module):
    """D(x, y) -> (B, 1, H/2, W/2) logits: Conv2d(6, 4, 4, 2, 1), tanh, Conv2d(4, 1, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Conv2d(6, 4, 4, 2, 1)
        self.out = nn.Conv2d(4, 1, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.hidden(torch.cat([x, y], dim=1))))


class SmallUNet(nn.Module):
    """G(x): (B, 3, H, W) -> (B, 3, H, W) in (-1, 1), H and W divisible by 4: a two-level U-Net
    with batch norm and dropout, so train and eval mode give other outputs:
      Conv2d(3, 8, 4, 2, 1)                                                    (B, 8, H/2, W/2)
      LeakyReLU(0.2) - Conv2d(8, 16, 4, 2, 1, bias=False) - BatchNorm2d(16)    (B, 16, H/4, W/4)
      ReLU - ConvTranspose2d(16, 8, 4, 2, 1, bias=False) - BatchNorm2d(8) - Dropout(0.5),
      joined with the first encoder output                                      (B, 16, H/2, W/2)
      ReLU - ConvTranspose2d(16, 3, 4, 2, 1) - tanh                             (B, 3, H, W)
    """

    def __init__(self) -> None:
        super().__init__()
        self.down1 = nn.Conv2d(3, 8, 4, 2, 1)
        self.down2 = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(8, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16))
        self.up1 = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(16, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8),
                                 nn.Dropout(0.5))
        self.up2 = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(16, 3, 4, 2, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.down1(x)  # (B, 8, H/2, W/2)
        return self.up2(torch.cat([skip, self.up1(self.down2(skip))], dim=1))  # (B, 3, H, W)


class SmallPatchCritic(nn.Module):
    """D(x, y) -> (B, 1, H/2 - 2, W/2 - 2) logits, with batch norm: Conv2d(6, 8, 4, 2, 1), LeakyReLU(0.2),
    Conv2d(8, 16, 4, 1, 1, bias=False), BatchNorm2d(16), LeakyReLU(0.2), Conv2d(16, 1, 4, 1, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Conv2d(6, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 16, 4, 1, 1, bias=False),
                                   nn.BatchNorm2d(16), nn.LeakyReLU(0.2), nn.Conv2d(16, 1, 4, 1, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.model(torch.cat([x, y], dim=1))


MODELS: dict[str, type[nn.Module]] = {cls.__name__: cls for cls in (
    TinyConditionalGenerator, TinyConditionalDiscriminator, TinyImageGenerator, TinyImageDiscriminator,
    TinyTranslator, TinyPatchCritic, SmallUNet, SmallPatchCritic)}


def state_of(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of `model.state_dict()` (parameters and buffers)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def built(spec: dict[str, Any]) -> nn.Module:
    """The model a spec names, `MODELS[spec["model"]](**spec["kwargs"])`, holding `spec["state"]`
    where the spec has one."""
    model = MODELS[spec["model"]](**spec.get("kwargs", {}))
    if spec.get("state") is not None:
        model.load_state_dict(spec["state"])
    return model


def seeded(seed: int, **specs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{name: spec with "state"}: the models of `specs` ({"model", "kwargs"}) built in the order
    given after torch.manual_seed(seed), then every batch norm's running statistics drawn unlike
    any batch's (means uniform in [-0.5, 0.5], variances in [0.5, 2]), so eval mode shows."""
    torch.manual_seed(seed)
    models = {name: built({**spec, "state": None}) for name, spec in specs.items()}
    with torch.no_grad():
        for norm in (m for model in models.values() for m in model.modules()
                     if isinstance(m, nn.modules.batchnorm._BatchNorm)):
            norm.running_mean.uniform_(-0.5, 0.5)
            norm.running_var.uniform_(0.5, 2.0)
    return {name: {"model": specs[name]["model"], "kwargs": dict(specs[name].get("kwargs", {})),
                   "state": state_of(model)} for name, model in models.items()}
