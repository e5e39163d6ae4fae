"""dcgan.10: a fresh Generator and Discriminator, trained by the student's train_step, draw digits.

The grader runs the loop in the worker (`grader.operations.gan_loop:train_gan`: data order, Adam,
noise, seed, and its own DCGAN initialisation, so a wrong weights_init costs dcgan.4 only); the
student's `train_step` does each step. The training digits are the embedded MNIST set padded
here to 32 x 32 (nc 1) and sent as a tensor; the loop scales them to [-1, 1]. After training the
worker sends back the trained generator's layers, nothing drawn (`grader.operations.trained_state`);
here they are loaded into the grader's own Generator of the same arguments
(`grader.judging.transplant`: matched by run order and shape, a 4 x 4 transposed-convolution
projection given as the Linear it equals; a model that holds any other tensor, such as a bank of
digits registered as a buffer, is refused), and that model draws 1,000 images from noise made
here, in eval mode. So whatever the student's forward would return after training (stored
digits, however they are kept) never reaches the judge (in the student edition, without the
reference, the checked tensors draw in the student's own Generator in a fresh worker,
`grader.judging.drawing`). Here, in the trusted process, the grader's digit classifier
(`grader.judging.digit_judge.DigitJudge`, no practice's answer, 96.9% on the held-out digits) judges
them (`grader.judging.sample_quality`): (a) the classifier score exp(E KL(p(y|x) || p(y))), at
most 10, high when every sample is clearly a digit and all ten digits appear; (b) the Fréchet
distance between the classifier's 96 penultimate features of the samples and of the 1,000
held-out digits, which the worker never sees.

Recipe (`grader.practices.dcgan.judging.RECIPE`): the paper's networks at reduced width (ngf = ndf
= 16, 32 px, nc 1: 167,025 and 65,633 parameters) and its Adam(beta1 0.5), but both at lr 2e-3
(small models learn faster at a larger step), decayed linearly to 0, batches of 64; 1,000 steps
on the CPU.

Bars (`judging.PLAN`): on the CPU a score of at least 3.0 and a distance of at most 250, with
room behind the reference's worst seed, and missed by far by every broken generator (noise, one
digit, one image repeated, the untrained generator: `judging.impostors`; tests/practices/test_dcgan_train.py
checks without training that each fails both and real training digits pass both). A GPU run
trains the same recipe for 3,000 steps against a score of 5 and a distance of 100, and the hidden
test judges, for the same 5 points on every device, colour samples with the grader's own
CIFAR-10 classifier (`grader.judging.cifar_judge`, bars relative to the untrained generator) on
a GPU with CIFAR-10 under the data root, and MNIST digits of seed 1 everywhere else.

Copies: before judging, the samples, cropped to the 28 x 28 digit and scaled to [0, 1]
(`judge_pixels`, as the judge sees them), are compared with the 4,000 training and 1,000
held-out digits (`grader.judging.copies.assert_no_copies`: the distance d over shifts of up to
2 pixels, flips, brightness and contrast, after smoothing; threshold 0.055, measured on MNIST);
more than 1% copies or repeats fails the task; none of the reference's samples is flagged.

Smooth in the noise: along 20 straight lines between two noise vectors, 12 steps each
(`grader.judging.latent_walk`), the largest change between neighbouring images (RMS, [0, 1])
must stay at most `judging.WALK_BAR` = 0.3: above the reference's largest step, below a lookup
table of stored digits indexed by the noise.

The measurements behind each bar (the reference's seeds 0-4, trained by
`benchmarks/copy_threshold.py` and judged by `benchmarks/digit_judge.py`, and the broken
generators' scores): benchmarks/README.md, "The digit judge and the bars it sets" and
"Convergence checks: sizing and bars".
"""

from __future__ import annotations

import torch

from grader.practices.dcgan.judging import (
    CIFAR_PLAN,
    DRAWN,  # noqa: F401  (the models this check draws with, for the edition builders)
    assert_smooth_in_noise,
    drawn_generator,
    layer_order_noise,
    LOOP,
    PLAN,
    RECIPE,
    SAMPLES,
    SIZE,
    cifar10_or_none,
    cifar_recipe,
    held_out_features,
    quality,
    sample_noise,
    mnist,
    training_images,
    untrained_samples,
)
from grader.practices.dcgan import run_pictures
from grader.judging.digit_judge import judge_for_grading
from grader.testing import check, fail, task
from grader.judging.cifar_judge import cifar_judge
from grader.judging.copies import assert_no_copies
from grader.judging.digit_judge import JudgeError, judge_features
from grader.judging.sample_quality import judge_pixels, sample_quality


def reference_features_of(classifier: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The CIFAR-10 judge's features of real uint8 images (M, 3, 32, 32)."""
    return judge_features(classifier, images.float() / 255, normalise=False)[1]


def converges(student_session, device: str, seed: int) -> dict:
    plan = PLAN["cuda" if device.startswith("cuda") else "cpu"]
    classifier = judge_for_grading()
    held_out = held_out_features(classifier)
    student = student_session.module
    settings = RECIPE
    record = student_session.run(LOOP, student.Generator, student.Discriminator, student.train_step,
                                 training_images(), sample_noise(seed), epochs=10**6, max_steps=plan["steps"],
                                 seed=seed, device=device, every_epoch=False, send_samples=False,
                                 send_layers=layer_order_noise(), **settings)
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
    with drawn_generator(record.get("generator_state"), settings["generator_kwargs"], trained,
                         student_session) as draw:
        samples = draw(sample_noise(seed))
        check(bool(torch.isfinite(samples).all()),
              f"{trained}, your trained weights draw images that are not finite.",
              "the weights became nan or inf: use F.binary_cross_entropy_with_logits on D's logits.")
        run_pictures.attach_samples(samples, draw, stats, trained)  # the grid, a walk and the curves, for the student
        assert_no_copies(judge_pixels(samples), [mnist().train_images, mnist().test_images],
                         what=f"{trained}, the 1,000 samples your trained weights draw (cropped to the 28 x 28 digit)",
                         hint="the generator must make its images from the noise, not return or store training "
                              "images.")
        assert_smooth_in_noise(draw, what=f"{trained}, your trained weights")
    verdict = quality(classifier, samples, held_out)
    run_pictures.attach_verdict(verdict, plan, device)
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


@task("dcgan.10", points=5, category="convergence", visibility="public", timeout=600)
def test_generated_digits_look_like_digits(student_session, device):
    converges(student_session, device, seed=0)


@task("dcgan.10", points=5, category="convergence", visibility="hidden", timeout=900)
def test_samples_of_another_seed_or_data_set(student_session, device):
    """The same points on every device: a GPU with CIFAR-10 under the data root judges colour
    samples; anywhere else, MNIST digits again, from another seed."""
    data = cifar10_or_none(device)
    if data is None:
        converges(student_session, device, seed=1)
        return
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
                                 max_steps=CIFAR_PLAN["steps"], seed=0, device=device, every_epoch=False,
                                 send_samples=False, send_layers=layer_order_noise(), **settings)
    with drawn_generator(record.get("generator_state"), settings["generator_kwargs"],
                         f"after {record['steps']:,} steps of your train_step on CIFAR-10", student_session) as draw:
        samples = draw(sample_noise(0))
    found = sample_quality(classifier, samples, held_out, digits=False)
    baseline = sample_quality(classifier, untrained_samples(settings["generator_kwargs"], seed=0), held_out,
                              digits=False)
    wanted = CIFAR_PLAN["distance_share"] * baseline["distance"]
    check(found["distance"] <= wanted and found["score"] >= CIFAR_PLAN["score"],
          f"after {record['steps']:,} steps of your train_step on CIFAR-10, the grader's CIFAR-10 classifier gives "
          f"your samples a classifier score of {found['score']:.2f} (at least {CIFAR_PLAN['score']:g} needed) and a "
          f"Fréchet distance to test images of {found['distance']:.1f} (at most {wanted:.1f} allowed, half the "
          f"untrained generator's {baseline['distance']:.1f}).",
          "do the train_step, loss and model tests pass, and does the MNIST convergence test pass?")
