"""The convergence check of dcgan.10, apart from the test: the recipe, the data, the noise, the
judge's measures and bars, and the samples those bars must reject (used by the test, by
tests/practices/test_dcgan_train.py and by benchmarks/dcgan_convergence.py).
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Callable, Iterator

import torch

from grader.data import load_mnist
from grader.testing import reference
from grader.operations.gan_loop import normal_init, samples_of
from grader.judging.latent_walk import assert_smooth
from grader.judging.drawing import Drawn, draw_source, trained_model
from grader.judging.sample_quality import pad_digits, reference_features, sample_quality

LOOP = "grader.operations.gan_loop:train_gan"
SIZE, NZ, SAMPLES = 32, 100, 1000
INIT_STD = 0.02  # the paper's initialisation: conv weights N(0, 0.02), batch norm N(1, 0.02) and 0
WIDTH = 16  # ngf = ndf
# The CPU bars sit well below the reference's worst of 5 seeds (score 5.55, distance 97.8) and far
# above what a broken generator draws (score at most 1.09, distance at least 1,084); see
# benchmarks/README.md. A GPU run trains the same recipe three times as long against stricter bars.
PLAN = {"cpu": {"steps": 1000, "score": 3.0, "distance": 250.0},
        "cuda": {"steps": 3000, "score": 5.0, "distance": 100.0}}


# The loop's settings, the same on every device (the plan sets the steps).
RECIPE = {"generator_kwargs": {"nz": NZ, "ngf": WIDTH, "nc": 1, "image_size": SIZE},
          "discriminator_kwargs": {"ndf": WIDTH, "nc": 1, "image_size": SIZE},
          "init_std": INIT_STD, "nz": NZ, "pixel_range": (-1.0, 1.0), "batch_size": 64, "lr": 2e-3, "lr_d": 2e-3,
          "beta1": 0.5, "decay": True}


@lru_cache(maxsize=1)
def mnist():
    return load_mnist(embedded=True)


def training_images() -> torch.Tensor:
    """The embedded training digits, uint8 (4000, 1, 32, 32)."""
    return pad_digits(mnist().train_images)


def sample_noise(seed: int) -> torch.Tensor:
    """(1000, 100) noise for the samples that are judged, made here."""
    return torch.randn(SAMPLES, NZ, generator=torch.Generator().manual_seed(1000 + seed))


@lru_cache(maxsize=1)
def held_out_features(classifier: torch.nn.Module) -> torch.Tensor:
    return reference_features(classifier, mnist().test_images)


def quality(classifier: torch.nn.Module, samples: torch.Tensor, held_out: torch.Tensor) -> dict[str, float]:
    return sample_quality(classifier, samples, held_out, pixel_range=(-1.0, 1.0))


def as_generated(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) digits as a generator would return them: (N, 1, 32, 32) in [-1, 1]."""
    return pad_digits(images).float() / 127.5 - 1


def impostors(classifier: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Samples (1000, 1, 32, 32) in [-1, 1] that the bars must reject, and real digits they must not."""
    data = mnist()
    generator = torch.Generator().manual_seed(5)
    ones = data.test_images[data.test_labels == 1]
    repeat = -(-SAMPLES // len(ones))
    chosen = torch.randperm(len(data.train_images), generator=generator)[:SAMPLES]
    return {"real training digits": as_generated(data.train_images[chosen]),
            "uniform noise": torch.rand(SAMPLES, 1, SIZE, SIZE, generator=generator) * 2 - 1,
            "one digit (held-out 1s)": as_generated(ones.repeat(repeat, 1, 1, 1)[:SAMPLES]),
            "one image, repeated": as_generated(data.test_images[:1].repeat(SAMPLES, 1, 1, 1)),
            "untrained generator": untrained_samples(RECIPE["generator_kwargs"], seed=0)}


# --- a GPU run: CIFAR-10, judged by the grader's own CIFAR-10 classifier -------------------------
# Written for a GPU with CIFAR-10 under the data root; the bars are relative to the untrained
# generator's samples (not yet measured on a GPU): the Fréchet distance must fall to at most
# CIFAR_PLAN["distance_share"] of the untrained generator's, and the classifier score must reach
# CIFAR_PLAN["score"] (noise and one repeated image score about 1).
CIFAR_PLAN = {"steps": 6000, "width": 64, "train_images": 20_000, "distance_share": 0.5, "score": 2.0}


def cifar10_or_none(device: str):
    """CIFAR-10 for a GPU run with the archive under the data root; None on the CPU, without it, or
    without the reference generator its bars are relative to (a grader without solutions/); the
    check then judges MNIST digits of another seed, for the same points."""
    from grader.data import DataError, load_cifar10

    if not device.startswith("cuda") or draw_source(drawn(cifar_recipe()["generator_kwargs"])) != "reference":
        return None
    try:
        return load_cifar10()
    except DataError:
        return None


def cifar_recipe(nc: int = 3) -> dict:
    width = CIFAR_PLAN["width"]
    return {**RECIPE, "generator_kwargs": {"nz": NZ, "ngf": width, "nc": nc, "image_size": SIZE},
            "discriminator_kwargs": {"ndf": width, "nc": nc, "image_size": SIZE}, "lr": 2e-4, "lr_d": 2e-4}


def untrained_samples(generator_kwargs: dict, seed: int) -> torch.Tensor:
    """The reference generator, freshly initialised as the loop does, drawing `sample_noise(seed)`."""
    torch.manual_seed(0)
    untrained = reference("dcgan").Generator(**generator_kwargs)
    untrained.apply(normal_init(INIT_STD))
    untrained.eval()
    with torch.no_grad():
        return untrained(sample_noise(seed))


# --- the samples are drawn by the trained weights, in the grader's own Generator ------------------
# The worker sends the trained generator's layers (grader.operations.trained_state); the reference
# architecture, built here with the same arguments, gets them (grader.judging.transplant) and
# draws every judged sample, so nothing the student's forward does after training reaches the judge.
# The reference projects z with Linear(nz, C * 16); a student's ConvTranspose2d(nz, C, 4) is the
# same map (`projection_as_linear`).

# The largest step of grader.judging.latent_walk (images in [0, 1]) a generator may take; the
# reference over seeds 0-4 and a lookup table: see benchmarks/README.md.
WALK_BAR = 0.3


def layer_order_noise() -> list[torch.Tensor]:
    """(2, 100) noise on which the worker runs the trained generator once to list its layers in order."""
    return [torch.randn(2, NZ, generator=torch.Generator().manual_seed(99))]


def projection_as_linear(found: list[dict], expected: list[dict]) -> list[dict]:
    """A student's bias-free ConvTranspose2d(nz, C, 4) projection as the Linear(nz, C * 16) it equals:
    weight[c * 16 + h * 4 + w, k] = weight_t[k, c, h, w]."""
    linear = {tuple(layer["state"]["weight"].shape) for layer in expected
              if layer["type"] == "Linear" and set(layer["state"]) == {"weight"}}
    converted = []
    for layer in found:
        weight = layer["state"].get("weight")
        if (layer["type"] == "ConvTranspose2d" and set(layer["state"]) == {"weight"} and weight.dim() == 4
                and tuple(weight.shape[2:]) == (4, 4)
                and (weight.shape[1] * 16, weight.shape[0]) in linear):
            nz, channels = weight.shape[:2]
            layer = {**layer, "type": "Linear", "state": {"weight": weight.reshape(nz, channels * 16).T.contiguous()}}
        converted.append(layer)
    return converted


def drawn(generator_kwargs: dict) -> Drawn:
    """The Generator a convergence check draws with, for these constructor arguments."""
    return Drawn("dcgan", "Generator", dict(generator_kwargs), layer_order_noise)


DRAWN = [drawn(RECIPE["generator_kwargs"])]  # CIFAR_PLAN's generator runs on a GPU only (cifar_recipe)


@contextmanager
def drawn_generator(trained, generator_kwargs: dict, what: str, session) -> Iterator[Callable[[torch.Tensor], torch.Tensor]]:
    """`draw(noise)` -> (N, nc, 32, 32) images in [-1, 1]: the eval-mode Generator(**generator_kwargs)
    holding the student's trained weights (`grader.judging.drawing`)."""
    built = ", ".join(f"{k}={v}" for k, v in generator_kwargs.items())
    with trained_model(trained, drawn(generator_kwargs), session=session, name=f"your Generator({built})",
                       what=what, convert=projection_as_linear) as draw:
        yield lambda noise: draw(noise)


def draw(generator: torch.nn.Module, noise: torch.Tensor) -> torch.Tensor:
    """(N, nc, 32, 32) images in [-1, 1] a generator in this process draws for `noise` (N, 100)."""
    return samples_of(generator, noise, None, "cpu")


def assert_smooth_in_noise(draw_noise: Callable[[torch.Tensor], torch.Tensor], what: str, seed: int = 0) -> float:
    """Fail unless the largest latent-walk step of `draw_noise` (noise -> images in [-1, 1]) is at
    most WALK_BAR; return the step."""
    return assert_smooth(lambda z, _: draw_noise(z), NZ, seed, conditional=False, pixel_range=(-1.0, 1.0),
                         bar=WALK_BAR, what=what, hint="the images must come from the noise through the generator's "
                                                       "layers, not from a table of stored images.")
