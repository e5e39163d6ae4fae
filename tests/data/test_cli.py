"""`bootcamp data list | fetch | verify` through click's test runner: output and exit codes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import grader.data.cli as data_cli
from grader.data.cli import data
from grader.data.manifest import load_manifest


@pytest.fixture
def invoke():
    runner = CliRunner()

    def run(*args: str, **env: str):
        return runner.invoke(data, list(args), env={"COLUMNS": "250", **env})

    return run


def test_list_shows_every_set_with_its_state(invoke, tmp_path, formats):
    formats.write_pairs(tmp_path / "facades", {"train": 400, "val": 100, "test": 106}, height=4)
    result = invoke("list", "--data-root", str(tmp_path))
    assert result.exit_code == 0, result.output
    rows = {
        line.split("│")[1].strip(): line
        for line in result.output.splitlines()
        if line.count("│") > 3
    }
    assert "missing" in rows["mnist"] and "missing" in rows["cifar10"]
    assert "present" in rows["facades"] and str(tmp_path / "facades") in rows["facades"]
    assert "present" in rows["mnist (embedded)"] and "mnist_5k.csv.gz" in rows["mnist (embedded)"]
    assert "present" in rows["facades (embedded)"]


def test_data_root_option_beats_the_environment(invoke, tmp_path):
    result = invoke(
        "list", "--data-root", str(tmp_path / "flag"), BOOTCAMP_DATA=str(tmp_path / "env")
    )
    assert str(tmp_path / "flag") in result.output and str(tmp_path / "env") not in result.output


def test_verify_exits_1_and_names_a_corrupt_file(invoke, tmp_path, formats):
    formats.write_mnist(tmp_path / "mnist")  # real format, but not the published bytes
    result = invoke("verify", "mnist", "--data-root", str(tmp_path))
    assert result.exit_code == 1
    assert "corrupt" in result.output and "train-images-idx3-ubyte.gz" in result.output
    assert "Traceback" not in result.output
    assert (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_verify_a_missing_set_exits_1_with_what_to_place(invoke, tmp_path):
    result = invoke("verify", "cifar10", "--data-root", str(tmp_path))
    assert result.exit_code == 1
    assert (
        result.output.startswith("Error: cifar10 is missing")
        and "cifar-10-python.tar.gz" in result.output
    )


def test_verify_all_passes_when_only_embedded_sets_are_there(invoke, tmp_path):
    result = invoke("verify", "--data-root", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.output.count("verified") == 2


def test_unknown_set_is_a_usage_error(invoke):
    result = invoke("fetch", "imagenet")
    assert result.exit_code == 2 and "unknown set 'imagenet'" in result.output


def _serve_mnist(monkeypatch, formats, tmp_path, base_url):
    """Point the CLI at a manifest whose MNIST files come from `base_url`."""
    source = tmp_path / "source"
    formats.write_mnist(source / "mnist")
    manifest = load_manifest()
    files = [
        formats.file_spec(f.path, (source / f.path).read_bytes(), [f"{base_url}/{f.path}"])
        for f in manifest["mnist"].files
    ]
    spec = formats.set_spec("mnist", "mnist", files, {})
    monkeypatch.setattr(data_cli, "load_manifest", lambda: {"mnist": spec})
    return source


def test_fetch_without_network_is_one_clear_error(
    invoke, tmp_path, formats, monkeypatch, closed_port_url
):
    _serve_mnist(monkeypatch, formats, tmp_path, closed_port_url)
    result = invoke("fetch", "mnist", "--data-root", str(tmp_path / "root"))
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot download mnist: no network")
    assert str(tmp_path / "root" / "mnist" / "t10k-labels-idx1-ubyte.gz") in result.output
    assert "Traceback" not in result.output


def test_fetch_downloads_and_verifies(invoke, tmp_path, formats, monkeypatch, file_server):
    source = _serve_mnist(monkeypatch, formats, tmp_path, file_server.url)
    for path in (source / "mnist").iterdir():
        file_server.files[f"/mnist/{path.name}"] = path.read_bytes()
    result = invoke("fetch", "mnist", "--data-root", str(tmp_path / "root"))
    assert result.exit_code == 0, result.output
    assert "mnist: downloaded 4 file(s), verified" in result.output
    again = invoke("fetch", "mnist", "--data-root", str(tmp_path / "root"))
    assert "mnist: already present, verified" in again.output
