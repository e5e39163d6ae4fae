"""Batch norm's settings, compared with the reference's, for every practice with batch norm.

Batch norm has settings that are not parameters: eps (added to the variance), momentum (how far
each train-mode pass moves the running statistics: running = (1 - momentum) * running +
momentum * batch), affine and track_running_stats. Loading the reference's weights cannot show
them and outputs barely do (eps 1e-3 instead of 1e-5 changes a channel of variance 1 by 0.05%), so they
are read from the student's modules (`grader.operations.models:norm_settings`) and compared, in the
order the modules run, with the reference's (`grader.operations.models.norm_settings_of`).
"""

from __future__ import annotations

from typing import Any

from grader.testing import check

MODELS = "grader.operations.models"
SETTINGS = ("eps", "momentum", "affine", "track_running_stats")
HINT = ("build each batch norm with PyTorch's defaults, nn.BatchNorm2d(channels): eps 1e-5, momentum 0.1 (PyTorch's "
        "momentum is the weight of the new batch, running = 0.9 * running + 0.1 * batch; Keras's momentum 0.99 or "
        "0.9 is the weight of the old statistics), affine and track_running_stats on.")


def _shown(setting: dict[str, Any]) -> str:
    return f"{setting['type']}({setting['features']}, " + ", ".join(f"{k}={setting[k]}" for k in SETTINGS) + ")"


def settings_match(session, model, args: list[Any], expected: list[dict[str, Any]], what: str) -> None:
    """The student's batch norms, in run order, have the reference's types, sizes and settings
    (`expected`: `grader.operations.models.norm_settings_of` the reference on the same `args`)."""
    found = session.run(f"{MODELS}:norm_settings", model, args)
    check(len(found) == len(expected), f"{what} runs {len(found)} batch norm modules; the design has "
          f"{len(expected)} ({', '.join(_shown(s) for s in expected) or 'none'}).",
          "use one nn.BatchNorm2d module per normalised layer, as the docstring lists them.")
    for index, (mine, want) in enumerate(zip(found, expected)):
        wrong = [key for key in ("type", "features") + SETTINGS if mine[key] != want[key]]
        check(not wrong, f"{what}: batch norm number {index + 1} (in the order they run) is {_shown(mine)}; "
              f"expected {_shown(want)} (it differs in {', '.join(wrong)}).", HINT)
