"""Every HTML page the gradebook writes, opened in a real headless Chromium (Debian's `chromium`).

A small class (`page_class`: reference, skeleton, partial, hostile, missing practice, LMS-renamed
files) is graded once with every export. Each feedback page, the summary and the similarity
pages are opened at 1280 and 390 px: no console error, no request leaves the page, every image
decoded, nothing wider than the window, and the hostile student's `<script>` and `<img onerror>`
shown as text. Screenshots land in the test's temporary folder (the path is printed) for a person
to look at.

A second class (`gan_class`: a student of the four convergence practices whose tests kept what
their helpers draw, without training) has its feedback page and summary opened the same way: the
student's own sample grid, interpolation, held-out translations, confusion matrix and training
curves are all shown and decoded, the judge's numbers beside the bars, the hidden test's picture not.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import gan_class
import page_class
from grader.practices.cgan import run_pictures as cgan_pictures

REFERENCE_SHARE = f"{cgan_pictures.REFERENCE['cpu']['accuracy']:.1%}"  # the reference's share, beside the bar

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTHS = (1280, 390)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
if not Path(CHROMIUM).exists():
    pytest.skip("no chromium browser here (Debian: apt-get install -y chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    submissions, out, result = page_class.grade_class(root)
    assert result.exit_code == 0, result.output
    shots = root / "screenshots"
    shots.mkdir()
    print(f"screenshots: {shots}")
    return out, shots


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def visit(browser, path: Path, width: int, shots: Path) -> dict:
    """Open `path` at `width` px; what a person would notice, and a full-page screenshot."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors, outside = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    root = path.parent.as_uri()

    def route(request_route):
        url = request_route.request.url
        if url.startswith(root) or url.startswith("data:"):
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(path.as_uri(), wait_until="load")
    found = page.evaluate("""() => ({
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        undecoded: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
        decoded: Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).map(i => i.alt),
        images: document.images.length,
        scripts: document.scripts.length,
        text: document.body.innerText,
        title: document.title,
        links: Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href')),
    })""")
    page.screenshot(path=str(shots / f"{path.parent.name}-{path.stem}-{width}.png"), full_page=True)
    context.close()
    return {**found, "errors": errors, "outside": outside}


def pages(out: Path) -> list[Path]:
    return [out / "summary.html", *sorted((out / "feedback").glob("*.html")), out / "similarity" / "index.html",
            *sorted((out / "similarity").glob("*/*.html"))]


def test_every_page_loads_clean_and_fits_at_1280_and_390_px(graded, browser):
    out, shots = graded
    found = pages(out)
    assert len(found) >= 1 + 6 + 1 + 1  # summary, six students, the similarity index and a pair
    for path in found:
        for width in WIDTHS:
            seen = visit(browser, path, width, shots)
            where = f"{path.relative_to(out)} at {width} px"
            assert seen["errors"] == [], where
            assert seen["outside"] == [], where
            assert seen["undecoded"] == [], where
            assert seen["overflow"] <= 0, where
            assert seen["scripts"] == 0, where
    assert len(list(shots.glob("*.png"))) == len(found) * len(WIDTHS)


def test_a_hostile_submissions_markup_stays_text(graded, browser):
    out, shots = graded
    seen = visit(browser, out / "feedback" / "hostile.html", 1280, shots)
    assert seen["title"] == "Feedback for hostile"
    assert seen["scripts"] == 0 and seen["images"] == 0
    assert page_class.SCRIPT in seen["text"] and page_class.IMG in seen["text"]  # the message and the output


def test_the_summary_links_every_student_and_shows_pass_rates(graded, browser):
    out, shots = graded
    seen = visit(browser, out / "summary.html", 1280, shots)
    students = set(page_class.STUDENTS)
    linked = {link.removeprefix("feedback/").removesuffix(".html") for link in seen["links"]}
    assert students <= linked
    assert all((out / link).is_file() for link in seen["links"])
    assert seen["images"] == 4  # basics, conv_shapes and total histograms; the pass rates
    assert "Tasks: who passed" in seen["text"] and "not submitted" in seen["text"]


def test_the_not_submitted_and_renamed_students_read_as_such(graded, browser):
    out, shots = graded
    missing = visit(browser, out / "feedback" / "missing.html", 390, shots)["text"]
    assert "Not submitted: no conv_shapes.py in the submission" in missing and "failed" not in missing
    assert "my_shapes.py looks like conv_shapes.py" in missing
    renamed = visit(browser, out / "feedback" / "renamed.html", 390, shots)["text"]
    assert "graded basics (1).py as basics.py" in renamed and "4 / 4 points" in renamed


@pytest.fixture(scope="module")
def gan_graded(tmp_path_factory):
    from grader.gradebook.exports import export

    out = tmp_path_factory.mktemp("gan-pages")
    db_path = gan_class.record_class(out, {gan_class.GAN_STUDENT: gan_class.gan_report()})
    export(db_path, ["feedback", "summary"], out)
    shots = out / "screenshots"
    shots.mkdir()
    print(f"screenshots: {shots}")
    return out, shots


def test_a_gan_students_own_grid_and_curves_are_shown_and_fit(gan_graded, browser):
    out, shots = gan_graded
    for path in (out / "feedback" / f"{gan_class.GAN_STUDENT}.html", out / "summary.html"):
        for width in WIDTHS:
            seen = visit(browser, path, width, shots)
            where = f"{path.relative_to(out)} at {width} px"
            assert seen["errors"] == [] and seen["outside"] == [] and seen["scripts"] == 0, where
            assert seen["undecoded"] == [] and seen["overflow"] <= 0, where
    seen = visit(browser, out / "feedback" / f"{gan_class.GAN_STUDENT}.html", 390, shots)
    decoded = seen["decoded"]
    assert len(decoded) == 10  # 3 mnist_cnn, 2 cgan, 3 dcgan, 2 pix2pix; not the hidden test's
    for caption in ("what your trained weights draw: row k asks for digit k (ten samples each)",
                    "each row: your generator along a straight line between two noise vectors",
                    "held-out pairs: the input, what your trained weights draw, the target",
                    "held-out digits your model got wrong, each with the digit it called it"):
        assert caption in decoded and caption in seen["text"]
    assert sum(alt.startswith("training curves") for alt in decoded) == 3  # cgan, dcgan, pix2pix
    assert "samples recognised as their digit" in seen["text"] and REFERENCE_SHARE in seen["text"]
    assert "HIDDEN" not in seen["text"]
    summary = visit(browser, out / "summary.html", 1280, shots)
    assert "Convergence measures" in summary["text"]
    assert any(alt.startswith("cgan.8: samples recognised") for alt in summary["decoded"])
