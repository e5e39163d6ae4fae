"""dcgan.10: a fresh Generator and Discriminator, trained by the student's train_step, draw digits.

The grader runs the loop in the worker (`grader.training.gan_loop:train_gan`: data order, Adam,
noise, seed, and its own DCGAN initialisation, so a wrong weights_init costs dcgan.4 only); the
student's `train_step` does each step. The training digits are the embedded MNIST set padded
here to 32 x 32 (nc 1) and sent as a tensor; the loop scales them to [-1, 1]. The generator
then draws 1,000 images from noise made here, in eval mode, and sends them back. Here, in the
trusted process, the grader's digit classifier (`grader.training.judge`) judges them
(`grader.training.sample_quality`): (a) the classifier score exp(E KL(p(y|x) || p(y))), at most
10, high when every sample is clearly a digit and all ten digits appear; (b) the Fréchet
distance between the classifier's penultimate features of the samples and of the 1,000
held-out digits, which the worker never sees.

Recipe: the paper's, at reduced width (ngf = ndf = 16, 32 px, nc 1: 167,025 and 65,633
parameters): Adam(beta1 0.5), both at lr 5e-4 decayed linearly to 0, batches of 64.

Sizing and bars, measured with the reference (`benchmarks/dcgan_convergence.py`: the same loop
and judge, one torch thread, on a shared 2-core CPU loaded by other jobs): SEE MEASUREMENTS.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from grader.data import load_mnist
from grader.testing import check, fail, reference, task
from grader.training.gan_loop import dcgan_init
from grader.training.judge import JudgeError, judge
from grader.training.sample_quality import pad_digits, reference_features, sample_quality

LOOP = "grader.training.gan_loop:train_gan"
SIZE, NZ, SAMPLES = 32, 100, 1000
WIDTH = {"cpu": 16, "cuda": 64}
PLAN = {"cpu": {"steps": 900, "score": 0.0, "distance": 1e9},
        "cuda": {"steps": 3000, "score": 0.0, "distance": 1e9}}


def recipe(device: str = "cpu") -> dict:
    width = WIDTH["cuda" if device.startswith("cuda") else "cpu"]
    return {"generator_kwargs": {"nz": NZ, "ngf": width, "nc": 1, "image_size": SIZE},
            "discriminator_kwargs": {"ndf": width, "nc": 1, "image_size": SIZE},
            "init": "dcgan", "nz": NZ, "pixel_range": (-1.0, 1.0), "batch_size": 64, "lr": 5e-4, "lr_d": 5e-4,
            "beta1": 0.5, "decay": True}


RECIPE = recipe("cpu")


@lru_cache(maxsize=1)
def mnist():
    return load_mnist(embedded=True)


def training_images() -> torch.Tensor:
    """The embedded training digits, uint8 (4000, 1, 32, 32)."""
    return pad_digits(mnist().train_images)


def sample_noise(seed: int) -> torch.Tensor:
    """(1000, 100) noise for the samples that are judged, made here."""
    return torch.randn(SAMPLES, NZ, generator=torch.Generator().manual_seed(1000 + seed))


def trusted_judge() -> torch.nn.Module:
    try:
        return judge()
    except JudgeError as error:
        fail(f"the grader's digit classifier is not available ({error}); this is a problem of the grader, not of "
             "your code.")


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
    torch.manual_seed(0)
    untrained = reference("dcgan").Generator(**RECIPE["generator_kwargs"])
    untrained.apply(dcgan_init)
    untrained.eval()
    with torch.no_grad():
        untrained_samples = untrained(sample_noise(0))
    chosen = torch.randperm(len(data.train_images), generator=generator)[:SAMPLES]
    return {"real training digits": as_generated(data.train_images[chosen]),
            "uniform noise": torch.rand(SAMPLES, 1, SIZE, SIZE, generator=generator) * 2 - 1,
            "one digit (held-out 1s)": as_generated(ones.repeat(repeat, 1, 1, 1)[:SAMPLES]),
            "one image, repeated": as_generated(data.test_images[:1].repeat(SAMPLES, 1, 1, 1)),
            "untrained generator": untrained_samples}


def converges(student_session, device: str, seed: int) -> dict:
    plan = PLAN["cuda" if device.startswith("cuda") else "cpu"]
    classifier = trusted_judge()
    held_out = held_out_features(classifier)
    student = student_session.module
    settings = recipe(device)
    record = student_session.run(LOOP, student.Generator, student.Discriminator, student.train_step,
                                 training_images(), sample_noise(seed), epochs=10**6, max_steps=plan["steps"],
                                 seed=seed, device=device, every_epoch=False, **settings)
    stats = record["stats"]
    recent = {k: sum(v[-100:]) / len(v[-100:]) for k, v in stats.items() if v}
    width = settings["generator_kwargs"]["ngf"]
    trained = (f"after {record['steps']:,} steps of your train_step (Generator(ngf={width}, nc=1, image_size=32) "
               f"and Discriminator(ndf={width}, nc=1, image_size=32), batches of 64 MNIST digits padded to 32 x 32 "
               "in [-1, 1])")
    means = ", ".join(f"{k} {v:.3f}" for k, v in recent.items())
    if not all(v == v and abs(v) != float("inf") for v in recent.values()):
        fail(f"{trained}, the statistics became nan or inf ({means}).",
             "use F.binary_cross_entropy_with_logits on D's logits; never take log(sigmoid(...)) yourself.")
    samples = record["samples"]
    check(isinstance(samples, torch.Tensor) and tuple(samples.shape) == (SAMPLES, 1, SIZE, SIZE)
          and bool(torch.isfinite(samples).all()),
          f"{trained}, Generator()(z) in eval mode returned "
          f"{tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__} for 1,000 "
          f"samples; expected finite images of shape (1000, 1, 32, 32).", "the generator ends in a tanh.")
    verdict = quality(classifier, samples, held_out)
    if recent.get("d_real", 0) > 0.97 and recent.get("d_fake", 1) < 0.03:
        hint = ("the discriminator wins outright (D(x) near 1, D(G(z)) near 0): is the generator updated every step "
                "with the non-saturating -log D(G(z)) through the updated D?")
    else:
        hint = ("a low score with a large distance means the samples are not digits, or all alike (a collapsed "
                "generator): is fake detached in the discriminator step only, and is generator_loss "
                "-log sigmoid(D(G(z)))? Do the train_step and loss tests pass?")
    check(verdict["score"] >= plan["score"] and verdict["distance"] <= plan["distance"],
          f"{trained}, the grader's digit classifier gives your 1,000 samples a classifier score of "
          f"{verdict['score']:.2f} (at least {plan['score']:g} needed; 10 is the most) and a Fréchet distance to "
          f"held-out digits of {verdict['distance']:.1f} (at most {plan['distance']:g} allowed). The last 100 "
          f"steps' means: {means}.", hint)
    return verdict


@task("dcgan.10", points=5, category="convergence", visibility="public", timeout=400)
def test_generated_digits_look_like_digits(student_session, device):
    converges(student_session, device, seed=0)
