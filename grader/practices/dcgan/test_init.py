"""dcgan.4: weights_init, measured on large grader-made layers.

The student's weights_init is applied with `.apply` in the worker to a Conv2d(256, 512, 5) and
a ConvTranspose2d(512, 256, 5) (3,276,800 weights each: the sample mean and standard deviation
of N(0, 0.02) have standard errors 1.1e-5 and 7.8e-6: the test allows 6e-5 and 5e-5, over five
standard errors) and a BatchNorm2d(512) (512 weights from N(1, 0.02): standard errors 8.8e-4 and
6.3e-4; allowed 0.004 each). Every bias starts at 0.3 and batch norm's weight
at 0.7, so a layer left alone shows. A Linear(512, 256) in the same model must come out exactly as
it went in: the docstring says other modules are left alone.
"""

from __future__ import annotations

from grader.practices.dcgan.reference import GAN_PROBES
from grader.testing import check, task

CONVS = ("Conv2d(256, 512, 5)", "ConvTranspose2d(512, 256, 5)")
NORM = "BatchNorm2d(512)"
OTHER = "Linear(512, 256)"
HINT = ("model.apply calls weights_init on every submodule: give the weight of each convolution and transposed "
        "convolution N(0, 0.02), and each batch norm a weight from N(1, 0.02) and a bias of 0 (torch.nn.init).")


def probe(student_session, seed: int = 0) -> dict:
    return student_session.run(f"{GAN_PROBES}:init_probe", student_session.module.weights_init, seed=seed)


def statistics_are(layer: str, found: dict, mean: float, std: float, *, mean_tol: float, std_tol: float) -> None:
    check(found["weight_changed"], f"weights_init left the weight of a {layer} unchanged.", HINT)
    check(abs(found["weight_mean"] - mean) <= mean_tol and abs(found["weight_std"] - std) <= std_tol,
          f"after weights_init, a {layer}'s weight has mean {found['weight_mean']:.5f} and standard deviation "
          f"{found['weight_std']:.5f}; expected N({mean:g}, {std:g}): mean {mean:g} +- {mean_tol:g}, standard "
          f"deviation {std:g} +- {std_tol:g}.", HINT + " The second argument of normal_ is the standard deviation, "
                                                      "not the variance.")


@task("dcgan.4", points=2, category="values", visibility="public")
def test_convolution_weights_are_normal_0_002(student_session):
    found = probe(student_session)
    for layer in CONVS:
        statistics_are(layer, found[layer], 0.0, 0.02, mean_tol=6e-5, std_tol=5e-5)


@task("dcgan.4", points=1, category="values", visibility="public")
def test_batch_norm_weights_normal_1_002_and_biases_zero(student_session):
    found = probe(student_session, seed=1)[NORM]
    statistics_are(NORM, found, 1.0, 0.02, mean_tol=0.004, std_tol=0.004)
    check(found["bias_changed"] and abs(found["bias_mean"]) < 1e-12 and found["bias_std"] < 1e-12,
          f"after weights_init, a {NORM}'s bias has mean {found['bias_mean']:.4g} (it was 0.3 before); expected 0.",
          HINT)


@task("dcgan.4", points=1, category="values", visibility="hidden", style=True)
def test_convolution_biases_are_left_alone(student_session):
    found = probe(student_session, seed=2)
    for layer in CONVS:
        check(not found[layer]["bias_changed"], f"weights_init changed the bias of a {layer} (it was 0.3 in every "
              f"entry; now its mean is {found[layer]['bias_mean']:.4g}); the lecture's initialisation draws only the "
              "convolution weights.", "leave convolution biases as they are.")


@task("dcgan.4", points=1, category="values", visibility="hidden", style=True)
def test_other_modules_are_left_alone(student_session):
    found = probe(student_session, seed=3)[OTHER]
    changed = [name for name in ("weight", "bias") if found[f"{name}_changed"]]
    check(not changed, f"model.apply(weights_init) on a model with a {OTHER} changed its {' and '.join(changed)} "
          f"(the weight's standard deviation is now {found['weight_std']:.4g}); weights_init touches only "
          "Conv2d, ConvTranspose2d and BatchNorm2d modules and leaves every other module alone.",
          "test the module's type with isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and "
          "isinstance(module, nn.BatchNorm2d), and do nothing for any other module (nn.Linear included).")
