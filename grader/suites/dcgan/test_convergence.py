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

import torch

from grader.suites.dcgan.judging import (
    CIFAR_PLAN,
    LOOP,
    PLAN,
    RECIPE,
    SAMPLES,
    SIZE,
    cifar10_or_skip,
    cifar_recipe,
    held_out_features,
    quality,
    sample_noise,
    training_images,
    trusted_judge,
    untrained_samples,
)
from grader.testing import check, fail, task
from grader.training.cifar_judge import cifar_judge
from grader.training.judge import JudgeError, judge_features
from grader.training.sample_quality import sample_quality


def reference_features_of(classifier: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The CIFAR-10 judge's features of real uint8 images (M, 3, 32, 32)."""
    return judge_features(classifier, images.float() / 255, normalise=False)[1]


def converges(student_session, device: str, seed: int) -> dict:
    plan = PLAN["cuda" if device.startswith("cuda") else "cpu"]
    classifier = trusted_judge()
    held_out = held_out_features(classifier)
    student = student_session.module
    settings = RECIPE
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
    if recent.get("d_fake", 0) > 0.9:
        hint = ("the discriminator calls the generated images real (D(G(z)) near 1): does discriminator_loss give the "
                "fake logits target 0?")
    elif recent.get("d_real", 0) > 0.97 and recent.get("d_fake", 1) < 0.03:
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


@task("dcgan.10", points=5, category="convergence", visibility="hidden", timeout=900)
def test_cifar10_samples_on_a_gpu(student_session, device):
    data = cifar10_or_skip(device)
    try:
        classifier = cifar_judge(device=device)
    except JudgeError as error:
        fail(f"the grader's CIFAR-10 classifier is not available ({error}); this is a problem of the grader, not of "
             "your code.")
    held_out = reference_features_of(classifier, data.test_images[:SAMPLES])
    settings = cifar_recipe(nc=3)
    student = student_session.module
    record = student_session.run(LOOP, student.Generator, student.Discriminator, student.train_step,
                                 data.train_images[:CIFAR_PLAN["train_images"]], sample_noise(0), epochs=10**6,
                                 max_steps=CIFAR_PLAN["steps"], seed=0, device=device, every_epoch=False, **settings)
    samples = record["samples"]
    check(isinstance(samples, torch.Tensor) and tuple(samples.shape) == (SAMPLES, 3, SIZE, SIZE),
          f"Generator(nc=3, image_size=32)(z) returned {getattr(samples, 'shape', type(samples).__name__)} for 1,000 "
          "samples; expected (1000, 3, 32, 32).")
    found = sample_quality(classifier, samples, held_out, digits=False)
    baseline = sample_quality(classifier, untrained_samples(settings["generator_kwargs"], seed=0), held_out,
                              digits=False)
    wanted = CIFAR_PLAN["distance_share"] * baseline["distance"]
    check(found["distance"] <= wanted and found["score"] >= CIFAR_PLAN["score"],
          f"after {record['steps']:,} steps of your train_step on CIFAR-10, the grader's CIFAR-10 classifier gives your "
          f"samples a classifier score of {found['score']:.2f} (at least {CIFAR_PLAN['score']:g} needed) and a "
          f"Fréchet distance to test images of {found['distance']:.1f} (at most {wanted:.1f} allowed, half the "
          f"untrained generator's {baseline['distance']:.1f}).",
          "do the train_step, loss and model tests pass, and does the MNIST convergence test pass?")
