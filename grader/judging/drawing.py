"""Who draws from a student's trained weights: the reference model, an exported program, or a fresh worker.

A convergence check judges what the trained weights draw (`grader.operations.trained_state` sends
them back as layers of tensors). Which model draws depends on what this copy of the grader holds,
decided in one place, `draw_source`:

- "reference": `solutions/` is here (the instructor's repository, today's Gradescope zip). The
  grader builds the reference architecture from the solution and loads the weights into it
  (`grader.judging.transplant`); its trusted forward draws, in this process.
- "exported": `grader/practices/exported/` holds a `torch.export` program of the reference
  architecture for these constructor arguments (the Gradescope zip, written by
  `bootcamp release --gradescope`): the same transplant into that program, whose state_dict keys
  are the reference's; the layers' run order comes from the recorded declaration
  (`grader.judging.declared`). The program is the grader's, data to the zip (made afresh by
  each build, its sha256 in `index.json`, checked before it is loaded; it lives with the suites,
  which no worker may read, since it shows the answer's layers); no solution source is needed.
- "fresh": neither, in the student edition only (which must not ship the reference's forward: it
  is the answer). An instructor's grader without either draws nothing: the check fails as the
  grader's fault, and a plan that cannot be drawn (a GPU plan the zip exported no program for)
  is not chosen (`can_draw`). The state is first checked here against the declared layers (recorded data: names,
  types and shapes in run order; nothing outside them, so a bank registered as a buffer is
  refused). Then a *fresh* sandbox is opened for the same folder: a new zygote, a fresh import
  of the student's module, new private temp and working folders (and, where checks run as users
  of their own, a new user), nothing carried over from training. There the student's own class
  is built with the same arguments, the state loaded into it (its state_dict must have exactly
  those names and shapes), and its eval-mode forward draws. What training kept in a module
  global, a class attribute or a temp file is gone; what the forward computes from its input
  and its weights alone (a hand-written filter) is not caught here, which only fools the
  student's own self-check: the instructor's grader draws with the reference.

    with trained_model(record["generator_state"], DRAWN[0], session=student_session,
                       name="your Generator()", what="after 1,200 steps") as draw:
        samples = draw(noise, labels)          # the eval-mode forward, in chunks, on the CPU
"""

from __future__ import annotations

import hashlib
import io
import json
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
import torch.nn as nn

from grader import edition, paths
from grader.paths import solutions_optional
from grader.judging import declared
from grader.operations.trained_state import forward_in_chunks
from grader.judging.transplant import Convert, TransplantError, checked_layers, transplant

EXPORTED_DIR = paths.PRACTICES_DIR / "exported"  # with the suites: a secret no worker may read (the programs are answers)
LOAD = "grader.operations.trained_state:load_trained"
FORWARD = "grader.operations.trained_state:eval_forward"
SOURCES = ("reference", "exported", "fresh")
INDEX = "index.json"


@dataclass(frozen=True)
class Drawn:
    """A model a convergence check draws with: the practice's class `architecture` built with
    `kwargs`; `example()` gives the inputs (made by the grader) on which its layers are ordered."""

    practice: str
    architecture: str
    kwargs: dict = field(default_factory=dict, hash=False)
    example: Callable[[], list[torch.Tensor]] = field(default=lambda: [], hash=False, compare=False)

    @property
    def key(self) -> str:
        """'<practice>.Generator(image_size=32, nc=1, ngf=16, nz=100)'"""
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(self.kwargs.items()))
        return f"{self.practice}.{self.architecture}({shown})"


@solutions_optional
def draw_source(drawn: Drawn) -> str | None:
    """The one choice: "reference" when solutions/ holds the practice, else "exported" when an
    exported program of `drawn` is shipped, else "fresh" in the student edition only (see the
    module docstring); None elsewhere: an instructor's grader never falls back to the student's
    own forward, so a check that cannot draw there must choose another plan or fail as the
    grader's fault (`trained_model`)."""
    if (paths.SOLUTIONS_DIR / f"{drawn.practice}.py").is_file():
        return "reference"
    if exported_path(drawn).is_file():
        return "exported"
    return "fresh" if edition.STUDENT else None


def can_draw(drawn: Drawn) -> bool:
    """Whether this copy of the grader can draw with `drawn` (for a check choosing its plan)."""
    return draw_source(drawn) is not None


def drawn_models(practices: list[str]) -> list[Drawn]:
    """The models the convergence checks of `practices` draw with (each suite's
    `test_convergence.DRAWN`: one Drawn or a list), for the edition builders to record."""
    import importlib

    from grader import registry

    found: list[Drawn] = []
    for practice in practices:
        found_practice = registry.get(practice)
        if found_practice is None or not (found_practice.folder / "test_convergence.py").is_file():
            continue
        listed = getattr(importlib.import_module(f"grader.practices.{practice}.test_convergence"), "DRAWN", [])
        found += [listed] if isinstance(listed, Drawn) else list(listed)
    return found


def exported_path(drawn: Drawn) -> Path:
    return EXPORTED_DIR / f"{hashlib.sha256(drawn.key.encode()).hexdigest()[:16]}.pt2"


def _fail(message: str) -> None:
    from grader.testing import fail

    fail(message, "the grader draws from your model's trained weights alone, loaded into the architecture of the "
                  "docstring: build exactly its layers, use each one in forward, and keep nothing else in the model "
                  "(the architecture tests of this practice say which layer differs).")


@contextmanager
@solutions_optional
def trained_model(trained: Any, drawn: Drawn, *, session, name: str, what: str,
                  convert: Convert | None = None) -> Iterator[Callable[..., torch.Tensor]]:
    """A function `draw(*inputs, chunk=500)` -> the eval-mode outputs (N, ...) of the model of
    `drawn` holding the student's `trained` weights (float32, on the CPU), drawn as `draw_source`
    decides. A state that is more than, or other than, the declared layers fails the test
    (GradingFailure) with `what` ("after 1,000 steps of your train_step") in front; `session`
    is the student's session of the test (its submission opens the fresh worker)."""
    source = draw_source(drawn)
    if source is None:
        from grader.testing import fail

        fail(f"this grader has neither solutions/{drawn.practice}.py nor an exported program of {drawn.key} to draw "
             "with", "this is a problem of the grader, not of your code: rebuild the autograder with "
                     "`bootcamp release --gradescope` from the instructor's repository.")
    if source == "fresh":
        with _fresh(trained, drawn, session, name=name, what=what, convert=convert) as draw:
            yield draw
        return
    if source == "reference":
        from grader.testing import reference

        model, expected = getattr(reference(drawn.practice), drawn.architecture)(**drawn.kwargs), None
    else:
        model, expected = load_exported(drawn), declared.layers(drawn)
    try:
        grader_model = transplant(trained, model, drawn.example(), name=name, convert=convert, expected=expected)
    except TransplantError as error:
        _fail(f"{what}, {error}.")
    yield lambda *inputs, chunk=500: forward_in_chunks(grader_model, list(inputs), chunk)


# --- "fresh": the student's own class, freshly imported, with the declared tensors only -------------

@contextmanager
def _fresh(trained: Any, drawn: Drawn, session, *, name: str, what: str,
           convert: Convert | None) -> Iterator[Callable[..., torch.Tensor]]:
    expected = declared.layers(drawn)
    try:
        state = checked_layers(trained, expected, name=name, convert=convert)
    except TransplantError as error:
        _fail(f"{what}, {error}.")
    tail = tuple(declared.output_shape(drawn))
    with fresh_session(session) as fresh:
        model, problem = fresh.run(LOAD, getattr(fresh.module, drawn.architecture), drawn.kwargs, state)
        if problem:
            _fail(f"{what}, {name} built again in a fresh process {problem}.")

        def draw(*inputs: torch.Tensor, chunk: int = 500) -> torch.Tensor:
            out = fresh.run(FORWARD, model, list(inputs), chunk=chunk)
            if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(inputs[0]), *tail):
                found = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                _fail(f"{what}, {name} with your trained weights returned {found} for {len(inputs[0])} inputs; "
                      f"expected a tensor of shape {(len(inputs[0]), *tail)}.")
            return out.float()

        yield draw


@contextmanager
def fresh_session(session) -> Iterator[Any]:
    """A worker with nothing of the test's session in it: a new sandbox for the same folder (new
    zygote, fresh import, new private temp and working folders; a user of its own where checks run
    as users), with the test's limits and hidden folders; its time is charged to the submission."""
    from grader.sandbox import Submission

    submission = getattr(session, "submission", None)
    if not isinstance(submission, Submission):  # the unsafe in-process mode of benchmarks: no sandbox to renew
        yield session
        return
    left = max(1.0, submission.limits.budget - submission.spent)
    limits = replace(submission.limits, uid=None, budget=left)
    with Submission(submission.directory, limits, secrets=submission.limits.hide) as renewed:
        try:
            with renewed.session(session.practice, timeout=session.timeout) as fresh:
                yield fresh
        finally:
            submission.spent += renewed.spent


# --- "exported": the reference architecture as a torch.export program, data in the Gradescope zip ---

class Exported(nn.Module):
    """An exported program's module (`torch.export.load(...).module()`), frozen in eval mode: its
    state_dict keys are the reference's; train()/eval() only set the flag (the program was
    exported in eval mode, which it cannot change)."""

    def __init__(self, program: nn.Module):
        super().__init__()
        self.program = program

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.program(*inputs)

    def train(self, mode: bool = True) -> "Exported":
        self.training = mode
        return self

    def load_state_dict(self, state, strict: bool = True, assign: bool = False):  # the program's own keys
        return self.program.load_state_dict(state, strict=strict, assign=assign)

    def state_dict(self, *args, **kwargs):
        return self.program.state_dict(*args, **kwargs)


def load_exported(drawn: Drawn) -> Exported:
    """The exported program of `drawn`, once its bytes match the sha256 `index.json` records."""
    path = exported_path(drawn)
    content = path.read_bytes()
    try:
        listed = json.loads((EXPORTED_DIR / INDEX).read_text())[path.name]
    except (OSError, ValueError, KeyError):
        listed = {}
    if listed.get("key") != drawn.key or listed.get("sha256") != hashlib.sha256(content).hexdigest():
        from grader.testing import fail

        fail(f"the exported program {path} of {drawn.key} does not match its entry in {INDEX}",
             "this is a problem of the grader, not of your code: rebuild the autograder with "
             "`bootcamp release --gradescope`.")
    return Exported(torch.export.load(io.BytesIO(content)).module())


def export(drawn: Drawn, model: nn.Module) -> bytes:
    """The bytes of `torch.export.save` of `model` (the reference architecture built with
    drawn.kwargs) in eval mode, its weights zeroed (the student's replace them), with a dynamic
    batch dimension in every input."""
    model = model.eval()
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.zero_()
    batch = torch.export.Dim("batch", min=1)
    example = drawn.example()
    program = torch.export.export(model, tuple(example), dynamic_shapes=tuple({0: batch} for _ in example))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


def exported_files(drawn_models: list[Drawn], prefix: str = "grader/practices/exported") -> dict[str, bytes]:
    """{relative path: bytes} of the exported programs of `drawn_models`, made now from the
    reference (never taken from a cache: a program is code the grader runs), and `index.json`:
    {file name: {"key", "sha256"}}, which `load_exported` checks."""
    from grader.testing import reference

    files, index = {}, {}
    for drawn in drawn_models:
        content = export(drawn, getattr(reference(drawn.practice), drawn.architecture)(**drawn.kwargs))
        files[f"{prefix}/{exported_path(drawn).name}"] = content
        index[exported_path(drawn).name] = {"key": drawn.key, "sha256": hashlib.sha256(content).hexdigest()}
    files[f"{prefix}/{INDEX}"] = (json.dumps(index, indent=2, sort_keys=True) + "\n").encode()
    return files
