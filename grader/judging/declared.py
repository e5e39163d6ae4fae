"""The declared architecture of each model a convergence check draws with, as recorded data.

Where `solutions/` is missing (the student edition, and the Gradescope zip once it ships none),
the grader cannot build the reference model to see which layers, in which order, the docstring
declares. The edition builders record them here, from the reference, for every `Drawn` model of
the practices they ship (`recorded_files`), into `grader/judging/declared.json`:

    {"<practice>.Generator(image_size=32, nc=1, ngf=16, nz=100)":
        {"layers": [{"name": "project", "type": "Linear", "state": {"weight": [2048, 100]}}, ...],
         "output": [1, 32, 32]}}                  # the shape of one output, after the batch dim

Names, types and shapes only: the same facts the practice's docstring states, so nothing a
student is asked to write. `layers(drawn)` gives them in `grader.judging.transplant`'s format,
each tensor an empty one of that shape on the meta device; where `solutions/` is present they are
computed live from the reference, so the recorded file can never be staler than the check.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import torch

from grader import paths

RECORDED = Path(__file__).resolve().parent / "declared.json"  # written into an edition, never committed


class DeclarationMissing(RuntimeError):
    """No reference and no recorded declaration for a model: this copy of the grader is incomplete."""


def record(drawn) -> dict[str, Any]:
    """The declaration of `drawn` (a `grader.judging.drawing.Drawn`), from the reference solution."""
    from grader.testing import reference
    from grader.judging.transplant import layers_of

    model = getattr(reference(drawn.practice), drawn.architecture)(**drawn.kwargs).eval()
    example = drawn.example()
    layers = [{"name": layer["name"], "type": layer["type"],
               "state": {key: list(value.shape) for key, value in layer["state"].items()}}
              for layer in layers_of(model, example)]
    with torch.no_grad():
        output = model(*example)
    return {"layers": layers, "output": list(output.shape[1:])}


def recorded_files(drawn_models: list, prefix: str = "grader/judging") -> dict[str, bytes]:
    """{relative path: bytes}: the declaration file of `drawn_models`, for an edition."""
    table = {drawn.key: record(drawn) for drawn in drawn_models}
    return {f"{prefix}/{RECORDED.name}": (json.dumps(table, indent=1, sort_keys=True) + "\n").encode()}


@functools.lru_cache(maxsize=1)
def _recorded() -> dict[str, Any]:
    try:
        return json.loads(RECORDED.read_text())
    except (OSError, ValueError):
        return {}


def declaration(drawn) -> dict[str, Any]:
    if (paths.SOLUTIONS_DIR / f"{drawn.practice}.py").is_file():
        return record(drawn)
    found = _recorded().get(drawn.key)
    if found is None:
        raise DeclarationMissing(f"the grader has no declaration of {drawn.key} ({RECORDED} lacks it): reinstall "
                                 "the course")
    return found


def layers(drawn) -> list[dict[str, Any]]:
    """The declared layers of `drawn` in run order: [{"name", "type", "state": {key: meta tensor}}]."""
    return [{"name": layer["name"], "type": layer["type"],
             "state": {key: torch.empty(shape, device="meta") for key, shape in layer["state"].items()}}
            for layer in declaration(drawn)["layers"]]


def output_shape(drawn) -> list[int]:
    """The shape of one output of `drawn`'s model (after the batch dimension)."""
    return declaration(drawn)["output"]
