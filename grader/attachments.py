"""What a graded run keeps for the student: its pictures (PNG) and the judge's numbers.

A convergence test, in the trusted grader process, renders pictures of what the student's trained
weights drew (with `grader.training.pictures`, from tensors, never from bytes a submission made)
and the measures it judged, and attaches them to the test that is running:

    attach_picture("samples", "10 x 10 samples, row k: digit k", pictures.sample_grid, grid)
    attach_measure(Measure("recognised", 0.886, bar=0.6, reference=0.886, fmt=".1%"))

The plugin (`grader.plugin.Outcomes`) opens a collection when a test starts (`begin`) and puts what
was attached on the test's outcome when it ends (`end`), pass or fail, so a failing student sees
what their generator drew. Without a collection (the suites run by plain pytest) nothing is
rendered. From there the pictures go into `bootcamp check --json` (base64), the folder `bootcamp
check` writes (`save_folder`), the gradebook and the feedback page.

Sizes are bounded: each picture is recompressed as a palette PNG of at most 256 colours and, if it
is still over `PICTURE_BYTES` (256 KiB), scaled down until it fits; a gradebook keeps at most
`SUBMISSION_BYTES` (2 MiB) of pictures per submission (`within_budget`), in report order. Bytes
read back (from a report file or a gradebook) must be a PNG within the cap (`picture_from_json`).
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

PICTURE_BYTES = 256 * 1024  # one picture, after compression
SUBMISSION_BYTES = 2 * 1024 * 1024  # every picture of one submission, in a gradebook
PICTURES_PER_TEST = 8
MAX_PIXELS = 4000 * 4000  # a picture read back; the grader's are about 1,100 x 800
TEXT_CHARS = 200  # a picture's name or caption, a measure's name
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class AttachmentError(ValueError):
    """Bytes that are not a PNG within the cap, or a record that is not a picture or a measure."""


@dataclass(frozen=True)
class Picture:
    """One PNG a test keeps: `name` is a file-name stem ("samples"), `caption` what it shows."""

    name: str
    caption: str
    png: bytes
    visibility: str = "public"  # the test's: a hidden test's pictures are shown where its messages are

    def to_json(self) -> dict:
        return {"name": self.name, "caption": self.caption, "visibility": self.visibility,
                "png_base64": base64.b64encode(self.png).decode()}


@dataclass(frozen=True)
class Measure:
    """A number the judge computed, its bar (`at_least` or at most) and the reference's number on the
    same plan (None where not measured); `fmt` formats all three (".1%", ".2f")."""

    name: str
    value: float | None
    bar: float | None = None
    at_least: bool = True
    reference: float | None = None
    fmt: str = ".3g"
    visibility: str = "public"

    def shown(self, number: float | None) -> str:
        return "n/a" if number is None else format(number, self.fmt)

    @property
    def bar_text(self) -> str:
        return "" if self.bar is None else f"{'at least' if self.at_least else 'at most'} {self.shown(self.bar)}"

    @property
    def met(self) -> bool | None:
        if self.bar is None or self.value is None:
            return None
        return self.value >= self.bar if self.at_least else self.value <= self.bar

    def to_json(self) -> dict:
        return asdict(self)


# ---- compression ---------------------------------------------------------------------------------

def compress(png: bytes, *, cap: int = PICTURE_BYTES) -> bytes:
    """`png` as a palette PNG (at most 256 colours, no alpha), scaled down by 3/4 at a time until it
    is at most `cap` bytes; AttachmentError if even a tiny version is not."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as opened:
        image = opened.convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    image = Image.alpha_composite(white, image).convert("RGB")
    while True:
        buffer = io.BytesIO()
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            buffer, format="PNG", optimize=True)
        if buffer.tell() <= cap:
            return buffer.getvalue()
        if min(image.size) < 64:
            raise AttachmentError(f"a picture does not fit in {cap:,} bytes even at {image.size[0]}x{image.size[1]}")
        image = image.resize((max(1, image.width * 3 // 4), max(1, image.height * 3 // 4)), Image.Resampling.LANCZOS)


def render(draw: Callable[..., object], *args, **kwargs) -> bytes:
    """A `grader.training.pictures` function's picture as compressed PNG bytes."""
    from grader.training.pictures import png

    return compress(png(draw, *args, **kwargs))


# ---- the running test's collection -------------------------------------------------------------

_current: dict[str, list] | None = None


def begin() -> None:
    """Start collecting for the test that starts now (the plugin calls this)."""
    global _current
    _current = {"pictures": [], "measures": []}


def end() -> tuple[list[Picture], list[Measure]]:
    """Stop collecting; what the test attached (the plugin calls this when the test ends)."""
    global _current
    found, _current = _current, None
    return (found["pictures"], found["measures"]) if found else ([], [])


def collecting() -> bool:
    return _current is not None


def attach_picture(name: str, caption: str, draw: Callable[..., object], *args, **kwargs) -> None:
    """Render `draw(*args, **kwargs)` (a `grader.training.pictures` function) and attach it to the
    running test; nothing when no collection is open or the test already has PICTURES_PER_TEST.
    A picture that fails to render is left out: a picture never decides a grade."""
    if _current is None or len(_current["pictures"]) >= PICTURES_PER_TEST:
        return
    try:
        data = render(draw, *args, **kwargs)
    except Exception:  # noqa: BLE001  (a broken picture must not fail the student's test)
        return
    _current["pictures"].append(Picture(_text(name), _text(caption), data))


def attach_measure(*measures: Measure) -> None:
    """Attach the judge's numbers to the running test (nothing when no collection is open)."""
    if _current is not None:
        _current["measures"].extend(measures)


# ---- reading back ------------------------------------------------------------------------------

def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise AttachmentError(f"expected text, got {type(value).__name__}")
    return value[:TEXT_CHARS]


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AttachmentError(f"expected a number, got {type(value).__name__}")
    return float(value) if math.isfinite(value) else None


def check_png(data: bytes, *, cap: int = PICTURE_BYTES) -> bytes:
    """`data` if it is a whole PNG of at most `cap` bytes, else AttachmentError."""
    from PIL import Image

    if not isinstance(data, bytes) or not data.startswith(PNG_SIGNATURE):
        raise AttachmentError("not a PNG")
    if len(data) > cap:
        raise AttachmentError(f"a picture of {len(data):,} bytes (at most {cap:,})")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise AttachmentError(f"a picture of {image.width} x {image.height} pixels")
            image.load()  # decodes every pixel: a truncated or corrupt PNG fails here
    except AttachmentError:
        raise
    except Exception as error:  # noqa: BLE001  (Pillow raises many kinds)
        raise AttachmentError(f"not a whole PNG ({type(error).__name__})") from None
    return data


def picture_from_json(record: dict, visibility: str = "public") -> Picture:
    """A picture from `Picture.to_json` (a report file, a grading child's result); the test's
    `visibility` wins over the record's."""
    if not isinstance(record, dict):
        raise AttachmentError("a picture is a JSON object")
    encoded = _text_any(record.get("png_base64"), limit=4 * PICTURE_BYTES // 3 + 8)
    try:
        data = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise AttachmentError("a picture's png_base64 is not base64") from None
    return Picture(_text(record.get("name")), _text(record.get("caption")), check_png(data), visibility)


def measure_from_json(record: dict, visibility: str = "public") -> Measure:
    if not isinstance(record, dict):
        raise AttachmentError("a measure is a JSON object")
    fmt = _text(record.get("fmt", ".3g"))
    try:
        format(1.0, fmt)
    except ValueError:
        raise AttachmentError(f"a measure's format {fmt!r} is not a number format") from None
    return Measure(_text(record.get("name")), _number(record.get("value")), _number(record.get("bar")),
                   bool(record.get("at_least", True)), _number(record.get("reference")), fmt, visibility)


def _text_any(value: Any, *, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise AttachmentError("a picture's png_base64 is missing or larger than the cap")
    return value


def within_budget(pictures: Iterable[Picture], budget: int = SUBMISSION_BYTES) -> tuple[list[Picture], int]:
    """(the pictures kept, in order, while their bytes add up to at most `budget`; how many were left out)."""
    kept, left_out, used = [], 0, 0
    for picture in pictures:
        if used + len(picture.png) > budget:
            left_out += 1
            continue
        kept.append(picture)
        used += len(picture.png)
    return kept, left_out


# ---- the folder `bootcamp check` writes ----------------------------------------------------------

def save_folder(tasks: Iterable[tuple[str, list[Picture], list[Measure]]], out: Path) -> Path | None:
    """Write `out/check-<YYYYmmdd-HHMMSS>/`: `<task>-<name>.png` per picture and `measures.json`
    (task -> its measures), from (task id, pictures, measures); None (nothing written) when there
    are no pictures and no measures. The folder is filled under a temporary name and renamed into
    place, so it appears whole or not at all."""
    tasks = [(task, pictures, measures) for task, pictures, measures in tasks if pictures or measures]
    if not tasks:
        return None
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".check-", dir=out))
    try:
        os.chmod(staging, 0o755)
        taken: set[str] = set()
        for task, pictures, _ in tasks:
            for picture in pictures:
                stem = _file_stem(f"{task}-{picture.name}")
                name, number = f"{stem}.png", 1
                while name in taken:
                    number += 1
                    name = f"{stem}-{number}.png"
                taken.add(name)
                (staging / name).write_bytes(picture.png)
        measures = {task: [m.to_json() for m in found] for task, _, found in tasks if found}
        (staging / "measures.json").write_text(json.dumps(measures, indent=2) + "\n")
        base = out / f"check-{time.strftime('%Y%m%d-%H%M%S')}"
        folder, number = base, 1
        while True:
            try:
                os.rename(staging, folder)  # fails if the name is taken by a non-empty folder
                return folder
            except OSError:
                if not folder.exists():
                    raise
                number += 1
                folder = base.with_name(f"{base.name}-{number}")
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise


def _file_stem(text: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in text).strip(".") or "picture"
