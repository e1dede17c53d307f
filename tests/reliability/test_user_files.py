"""`presto embed`, `download cropglobe|presto` and `predict` keep a user's files at --out (issue 29, High 1-3).

Each command runs on a planted user folder or file and the test compares its bytes before and after.
The Hugging Face hub and Presto's encoder are stubbed: the tests are offline and fast.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from tests.reliability.cells import snapshot, tiny_cell
from typer.testing import CliRunner

from cropglobe import samples
from cropglobe.cli import app
from cropglobe.errors import CropGlobeError

runner = CliRunner()


def _user_folder(path):
    path.mkdir()
    (path / "keep.txt").write_text("x")
    (path / "sub").mkdir()
    (path / "sub" / "notes.md").write_bytes(b"\x00\x01 four years of work")
    return path


def _refused(result, *words):
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, CropGlobeError), (result.exception, result.output)
    for word in words:
        assert word in str(result.exception)


# ---------------------------------------------------------------- presto embed --out (High 1)

@pytest.fixture(scope="module")
def composite_store(tmp_path_factory, tiny_observations):
    from cropglobe.temporal import composite

    comp = composite.composite(samples.select(tiny_observations, country="FRA"))
    return samples.save(comp, tmp_path_factory.mktemp("comp") / "comp.zarr")


@pytest.fixture
def fake_presto(monkeypatch):
    """Presto's encoder stubbed: (N, 128) float32 zeros, so the command reaches its write."""
    from cropglobe.features.presto import embed

    def fake(ds, options=None):
        return np.zeros((ds.sizes["sample"], 128), dtype=np.float32)

    monkeypatch.setattr(embed, "presto_features", fake)


def test_presto_embed_keeps_a_user_folder_and_file(tmp_path, composite_store, fake_presto):
    mine = _user_folder(tmp_path / "dir")
    notes = tmp_path / "notes.npy"
    np.save(notes, np.arange(5))
    for target in (mine, notes):
        before = snapshot(target)
        result = runner.invoke(app, ["presto", "embed", str(composite_store), "--out", str(target)])
        _refused(result, "--out", "not a previous cropglobe embeddings file", "--overwrite")
        assert snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "notes.npy"]  # no temporary leftovers


def test_presto_embed_replaces_its_previous_output_and_overwrite_replaces_anything(tmp_path, composite_store,
                                                                                    fake_presto):
    out = tmp_path / "emb.npy"
    for _ in range(2):  # the second run replaces a previous embeddings file
        result = runner.invoke(app, ["presto", "embed", str(composite_store), "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert np.load(out).shape[1] == 128
    mine = _user_folder(tmp_path / "mine")
    result = runner.invoke(app, ["presto", "embed", str(composite_store), "--out", str(mine), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert mine.is_file() and np.load(mine).shape[1] == 128


def test_presto_embed_refuses_a_symlink(tmp_path, composite_store, fake_presto):
    target = tmp_path / "real.npy"
    np.save(target, np.zeros((3, 128), dtype=np.float32))  # even a previous output behind a link
    link = tmp_path / "link.npy"
    link.symlink_to(target)
    before = snapshot(target)
    result = runner.invoke(app, ["presto", "embed", str(composite_store), "--out", str(link)])
    _refused(result, "symbolic link")
    assert link.is_symlink() and snapshot(target) == before


# ---------------------------------------------------------------- download --out (High 2)

@pytest.fixture
def fake_hub(monkeypatch):
    """The hub's two download calls stubbed: they write small files into ``local_dir``."""
    import huggingface_hub

    calls = []

    def snapshot_download(repo_id, repo_type, revision, local_dir, allow_patterns):
        calls.append(repo_id)
        os.makedirs(os.path.join(local_dir, ".cache", "huggingface"), exist_ok=True)
        np.savez(os.path.join(local_dir, "median_S2_FRA_month1-12_day5.npz"), x=np.zeros(3))
        return local_dir

    def hf_hub_download(repo_id, filename, revision, local_dir):
        calls.append(repo_id)
        path = os.path.join(local_dir, filename)
        with open(path, "wb") as f:
            f.write(b"fake weights")
        return path

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    return calls


def test_download_cropglobe_keeps_a_user_folder_and_does_not_download(tmp_path, fake_hub):
    mine = _user_folder(tmp_path / "data")
    before = snapshot(mine)
    result = runner.invoke(app, ["download", "cropglobe", "--out", str(mine), "-c", "FRA"])
    _refused(result, "--out", "not a previous CropGlobe download folder")
    assert snapshot(mine) == before and fake_hub == []  # refused before the download


def test_download_cropglobe_replaces_its_previous_download(tmp_path, fake_hub):
    out = tmp_path / "release"
    for _ in range(2):
        result = runner.invoke(app, ["download", "cropglobe", "--out", str(out), "-c", "FRA"])
        assert result.exit_code == 0, result.output
    assert (out / "median_S2_FRA_month1-12_day5.npz").is_file() and len(fake_hub) == 2
    (out / "thesis.txt").write_text("mine now")  # a user's file inside: no longer only a download
    result = runner.invoke(app, ["download", "cropglobe", "--out", str(out), "-c", "FRA"])
    _refused(result, "not a previous")
    assert (out / "thesis.txt").read_text() == "mine now"


@pytest.mark.parametrize("command", [["download", "presto", "--out"], ["presto", "download", "--any-sha256",
                                                                          "--dest"]])
def test_download_presto_keeps_a_user_file(tmp_path, fake_hub, command):
    mine = tmp_path / "model.pt"
    mine.write_bytes(b"my own fine-tuned model")
    extra = ["--any-sha256"] if command[0] == "download" else []
    result = runner.invoke(app, [*command, str(mine), *extra])
    _refused(result, "not a previous Presto weights file")
    assert mine.read_bytes() == b"my own fine-tuned model" and fake_hub == []


def test_download_presto_into_a_user_folder_adds_the_file_only(tmp_path, fake_hub):
    mine = _user_folder(tmp_path / "models")
    before = snapshot(mine)
    result = runner.invoke(app, ["download", "presto", "--out", str(mine), "--any-sha256"])
    assert result.exit_code == 0, result.output
    assert (mine / "default_model.pt").read_bytes() == b"fake weights"
    after = snapshot(mine)
    assert {k: v for k, v in after.items() if k != "default_model.pt"} == before


# ---------------------------------------------------------------- predict --out (High 3)

@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    return tiny_cell(tmp_path_factory.mktemp("cell") / "FRA__harmonic__rf__none__s0")


@pytest.fixture(scope="module")
def fra(tmp_path_factory, tiny_observations):
    return samples.save(samples.select(tiny_observations, country="FRA"), tmp_path_factory.mktemp("s") / "fra.zarr")


def _predict(cell, store, out, *extra):
    return runner.invoke(app, ["predict", str(cell), str(store), "--out", str(out), *extra])


def test_predict_keeps_a_users_parquet_file(tmp_path, cell, fra):
    mine = tmp_path / "extraction.parquet"
    pd.DataFrame({"sample_id": [1, 2], "B02": [0.1, 0.2]}).to_parquet(mine)
    before = snapshot(mine)
    _refused(_predict(cell, fra, mine), "--out", "not a previous cropglobe predictions file", "--overwrite")
    assert snapshot(mine) == before
    result = _predict(cell, fra, mine, "--overwrite")
    assert result.exit_code == 0, result.output
    assert "predicted" in pd.read_parquet(mine)


def test_predict_keeps_a_users_metrics_neighbour(tmp_path, cell, fra):
    out = tmp_path / "preds.parquet"
    neighbour = tmp_path / "preds.metrics.json"
    neighbour.write_text('{"my": "own results"}')
    _refused(_predict(cell, fra, out), "metrics file", "not a previous")
    assert neighbour.read_text() == '{"my": "own results"}' and not out.exists()


def test_predict_replaces_its_previous_predictions_and_metrics(tmp_path, cell, fra, tiny_observations):
    out = tmp_path / "preds.parquet"
    for _ in range(2):
        result = _predict(cell, fra, out)
        assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "preds.metrics.json").read_text())["n_scored"] > 0
    bare = samples.write_zarr(samples.select(tiny_observations, country="FRA").drop_vars("label"),
                              tmp_path / "bare.zarr")
    result = _predict(cell, bare, out)  # unlabelled: the stale metrics of the previous run go
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "preds.metrics.json").exists()


def test_predict_refuses_a_symlink_and_keeps_its_target(tmp_path, cell, fra):
    target = tmp_path / "elsewhere.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(target)
    link = tmp_path / "preds.parquet"
    link.symlink_to(target)
    before = snapshot(target)
    _refused(_predict(cell, fra, link), "symbolic link")
    assert link.is_symlink() and snapshot(target) == before
