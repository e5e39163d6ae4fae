"""The pictures and measures a graded run keeps (`grader.attachments`), without training anything:
rendered from small tensors, collected by the plugin, written into the report, the folder of
`bootcamp check` and the gradebook, with their size caps.
"""

from __future__ import annotations

import base64
import io
import json
import textwrap

import pytest
import torch
from PIL import Image

from grader import attachments
from grader.attachments import PICTURE_BYTES, AttachmentError, Measure, Picture
from grader.training import pictures


def png_of(pixels: torch.Tensor) -> bytes:
    """A raw PNG of uint8 (H, W) pixels, as matplotlib would not write it (for the read-back checks)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels.numpy(), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def noise(count: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(count, 1, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def collection():
    attachments.begin()
    yield
    attachments.end()


def test_a_grid_of_pure_noise_the_worst_case_fits_the_cap_as_a_palette_png():
    data = attachments.render(pictures.sample_grid, noise(100, 28), title="noise")
    assert data.startswith(attachments.PNG_SIGNATURE) and len(data) <= PICTURE_BYTES
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "P" and image.width > 400  # a palette PNG, not shrunk to nothing


def test_a_picture_over_the_cap_is_scaled_down_until_it_fits_and_an_impossible_cap_is_an_error():
    raw = attachments.render(pictures.sample_grid, noise(100, 28), title="noise")
    smaller = attachments.compress(raw, cap=len(raw) // 3)
    assert len(smaller) <= len(raw) // 3
    with Image.open(io.BytesIO(raw)) as big, Image.open(io.BytesIO(smaller)) as small:
        assert small.width < big.width
    with pytest.raises(AttachmentError, match="does not fit"):
        attachments.compress(raw, cap=100)


def test_nothing_is_rendered_or_kept_without_a_collection():
    called = []
    attachments.attach_picture("x", "x", lambda path: called.append(path))
    attachments.attach_measure(Measure("m", 1.0))
    assert called == [] and attachments.end() == ([], [])


def test_a_collection_keeps_pictures_and_measures_in_order_and_leaves_out_a_picture_that_fails(collection):
    attachments.attach_picture("grid", "the <grid>", pictures.sample_grid, noise(4, 8), rows=2, ylabel=None)

    def broken(path):
        raise RuntimeError("matplotlib broke")

    attachments.attach_picture("broken", "never shown", broken)
    attachments.attach_measure(Measure("accuracy", 0.9, bar=0.95, reference=0.97, fmt=".1%"))
    for number in range(attachments.PICTURES_PER_TEST + 2):
        attachments.attach_picture(f"more{number}", "", pictures.sample_grid, noise(1, 4), rows=1, ylabel=None)
    found, measures = attachments.end()
    assert [p.name for p in found][:2] == ["grid", "more0"] and len(found) == attachments.PICTURES_PER_TEST
    assert found[0].caption == "the <grid>"
    assert measures == [Measure("accuracy", 0.9, 0.95, True, 0.97, ".1%")]
    assert measures[0].met is False and measures[0].bar_text == "at least 95.0%"
    assert measures[0].shown(measures[0].reference) == "97.0%"


def test_misclassified_digits_can_be_drawn_without_their_true_labels():
    images = (noise(6, 28) * 255).to(torch.uint8)
    labels, predicted = torch.tensor([1, 2, 3, 4, 5, 6]), torch.tensor([1, 7, 3, 9, 5, 0])
    titles = []
    original = pictures.plt.Axes.set_title
    try:
        pictures.plt.Axes.set_title = lambda self, text, **kw: titles.append(text) or original(self, text, **kw)
        pictures.png(pictures.misclassified, images, predicted, labels, true_labels=False)
    finally:
        pictures.plt.Axes.set_title = original
    assert titles == ["called 7", "called 9", "called 0"]  # the true 2, 4 and 6 appear nowhere


def test_read_back_accepts_only_a_whole_png_within_the_cap():
    good = png_of(torch.zeros(20, 20, dtype=torch.uint8))
    record = Picture("grid", "caption", good).to_json()
    assert attachments.picture_from_json(record, "hidden") == Picture("grid", "caption", good, "hidden")
    bad = {"not base64": {**record, "png_base64": "***"},
           "not a png": {**record, "png_base64": base64.b64encode(b"GIF89a....").decode()},
           "truncated": {**record, "png_base64": base64.b64encode(good[:40]).decode()},
           "too large": {**record, "png_base64": base64.b64encode(attachments.PNG_SIGNATURE
                                                                 + bytes(PICTURE_BYTES)).decode()},
           "no caption": {k: v for k, v in record.items() if k != "caption"}}
    for why, broken in bad.items():
        with pytest.raises(AttachmentError):
            attachments.picture_from_json(broken)
            pytest.fail(why)
    with pytest.raises(AttachmentError):
        attachments.measure_from_json({"name": "m", "value": "1"})
    with pytest.raises(AttachmentError):
        attachments.measure_from_json({"name": "m", "value": 1.0, "fmt": "!r}{"})
    assert attachments.measure_from_json({"name": "m", "value": float("nan")}).value is None


def test_a_submissions_pictures_are_kept_in_order_within_its_budget():
    sized = [Picture(str(n), "", bytes(size)) for n, size in enumerate([400, 500, 300, 50])]
    kept, left_out = attachments.within_budget(sized, budget=1000)
    assert [p.name for p in kept] == ["0", "1", "3"] and left_out == 1


def test_the_check_folder_holds_each_picture_and_the_measures_and_appears_whole(tmp_path):
    grid = Picture("samples", "c", png_of(torch.zeros(4, 4, dtype=torch.uint8)))
    folder = attachments.save_folder([("cgan.8", [grid, grid], [Measure("m", 0.5, 0.6)]), ("basics.1", [], [])],
                                     tmp_path)
    assert folder.parent == tmp_path and folder.name.startswith("check-")
    assert sorted(p.name for p in folder.iterdir()) == ["cgan.8-samples-2.png", "cgan.8-samples.png", "measures.json"]
    assert (folder / "cgan.8-samples.png").read_bytes() == grid.png
    assert json.loads((folder / "measures.json").read_text())["cgan.8"][0]["bar"] == 0.6
    again = attachments.save_folder([("cgan.8", [grid], [])], tmp_path)
    assert again != folder and again.is_dir()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging folder left
    assert attachments.save_folder([("basics.1", [], [])], tmp_path / "none") is None
    assert not (tmp_path / "none").exists()


SUITE = '''
import pytest
import torch
from grader import attachments
from grader.attachments import Measure
from grader.training import pictures


@pytest.mark.task("toy.1", points=2, category="convergence", visibility="public")
def test_public_fails_after_attaching():
    attachments.attach_picture("grid", "what it drew", pictures.sample_grid, torch.rand(4, 1, 8, 8), rows=2,
                               ylabel=None)
    attachments.attach_measure(Measure("score", 0.25, bar=0.5, reference=0.75, fmt=".2f"))
    assert False, "below the bar"


@pytest.mark.task("toy.1", points=1, category="convergence", visibility="hidden")
def test_hidden_passes():
    attachments.attach_measure(Measure("score (seed 1)", 0.8, bar=0.5))


@pytest.mark.task("toy.2", points=1, category="values", visibility="public")
def test_attaches_nothing():
    pass
'''


@pytest.fixture(scope="module")
def toy_report(tmp_path_factory):
    """A report of a toy suite run through the plugin's `Outcomes`, as `run_suites` builds one."""
    from grader.plugin import Outcomes
    from grader.scoring import build_report

    folder = tmp_path_factory.mktemp("toy")
    (folder / "test_toy.py").write_text(textwrap.dedent(SUITE))
    outcomes = Outcomes()
    pytest.main([str(folder), "-q", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestUnknownMarkWarning",
                 "-o", "addopts=", "--rootdir", str(folder)], plugins=[outcomes])
    return build_report("toy", ["toy"], list(outcomes.tests.values()))


def test_the_plugin_puts_what_a_test_attached_on_its_outcome_pass_or_fail(toy_report):
    tasks = {t.id: t for t in toy_report.practices[0].tasks}
    assert tasks["toy.1"].status == "failed"
    assert [p.name for p in tasks["toy.1"].pictures] == ["grid"]
    assert [(m.name, m.visibility) for m in tasks["toy.1"].measures] == [("score", "public"),
                                                                         ("score (seed 1)", "hidden")]
    assert tasks["toy.2"].pictures == [] and tasks["toy.2"].measures == []


def test_the_json_report_carries_the_pictures_as_base64_pngs(toy_report, tmp_path):
    toy_report.save(tmp_path / "report.json")
    saved = json.loads((tmp_path / "report.json").read_text())
    tests = {t["name"]: t for t in saved["practices"][0]["tasks"][0]["tests"]}
    picture = attachments.picture_from_json(tests["test_public_fails_after_attaching"]["pictures"][0])
    assert picture.png == toy_report.practices[0].tasks[0].pictures[0].png
    assert tests["test_hidden_passes"]["measures"][0]["name"] == "score (seed 1)"


def test_save_pictures_writes_each_tasks_pictures_and_measures(toy_report, tmp_path):
    from grader.check import save_pictures

    folder = save_pictures(toy_report, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["measures.json", "toy.1-grid.png"]
    measures = json.loads((folder / "measures.json").read_text())
    assert [m["name"] for m in measures["toy.1"]] == ["score", "score (seed 1)"]


def test_misclassified_digits_are_shown_by_prediction_never_in_the_held_out_sets_order():
    from grader.practices.mnist_cnn.run_pictures import shown_order

    labels = torch.arange(10).repeat_interleave(50)  # sorted by true label, as the embedded set is
    predicted = (labels + torch.randint(0, 2, (500,), generator=torch.Generator().manual_seed(3))) % 10
    order = shown_order(predicted)
    assert sorted(order.tolist()) == list(range(500))
    assert bool((predicted[order][1:] >= predicted[order][:-1]).all())  # grouped by what the model said
    within = order[predicted[order] == 4]
    assert within.tolist() != sorted(within.tolist())  # not by index, so not by true label


def test_bootcamp_check_prints_where_it_wrote_the_pictures_and_json_carries_them(toy_report, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from grader import check, cli, paths

    monkeypatch.setattr(cli, "run_suites", lambda *args, **kwargs: toy_report)
    monkeypatch.setattr(cli, "save_pictures", lambda report: check.save_pictures(report, tmp_path / "runs"))
    result = CliRunner().invoke(cli.cli, ["check", "basics", "--path", str(paths.SOLUTIONS_DIR), "--json",
                                          str(tmp_path / "report.json")], env={"COLUMNS": "300"})
    folder = next((tmp_path / "runs").iterdir())
    assert result.exit_code == 1 and f"Pictures and measures of the graded runs: {folder}" in result.output
    assert (folder / "toy.1-grid.png").is_file()
    assert "png_base64" in (tmp_path / "report.json").read_text()
