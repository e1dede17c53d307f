"""Low items of issue 29: run names that leave runs/, duplicate or negative seeds, lr .inf, adapt --out.

SIMULATED data only in specs that are refused before any data is read.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cropglobe import experiment
from cropglobe.cli import app
from cropglobe.errors import CropGlobeError

BASE = ("data: {simulate: {countries: [FRA, BEL], samples_per_class: 2}}\nsources: [FRA]\n"
        "cells: [{feature: harmonic, model: rf}]\n")


@pytest.mark.parametrize("name", ["../escape", "/tmp/abs", "a/b", ".."])
def test_a_run_name_that_leaves_runs_is_refused(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: '{name}'\n" + BASE)
    result = CliRunner().invoke(app, ["transfer", str(spec)])
    assert isinstance(result.exception, CropGlobeError), (result.exception, result.output)
    assert "expected a plain folder name" in str(result.exception)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


@pytest.mark.parametrize(("extra", "message"), [
    ("seeds: [0, 1, 0]\n", "field seeds: expected distinct whole numbers >= 0"),
    ("seeds: [-3]\n", "field seeds: expected distinct whole numbers >= 0"),
    ("train: {lr: .inf}\n", "field train.lr: Input should be a finite number"),
    ("train: {lr: .nan}\n", "field train.lr: Input should be a finite number"),
    ("train: {weight_decay: .inf}\n", "field train.weight_decay: Input should be a finite number"),
])
def test_bad_seeds_and_learning_rates_are_one_error(tmp_path, extra, message):
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: x\n" + BASE + extra)
    with pytest.raises(CropGlobeError, match=message):
        experiment.load_spec(spec)


def test_adapt_out_keeps_a_user_folder_and_accepts_its_own(tmp_path):
    from cropglobe.experiment.posthoc import is_adaptation_folder

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "adaptation.md").write_text("my notes")
    (mine / "thesis.txt").write_text("x")
    result = CliRunner().invoke(app, ["adapt", str(tmp_path / "run"), "--out", str(mine)])
    assert isinstance(result.exception, CropGlobeError) and "not a previous cropglobe adaptation folder" in str(
        result.exception)
    assert (mine / "adaptation.md").read_text() == "my notes"
    (mine / "thesis.txt").unlink()
    assert is_adaptation_folder(mine)  # only adapt's own tables: a previous output


def test_a_negative_seed_is_one_error(tmp_path):
    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "s.zarr"), "-n", "2", "--seed", "-1"])
    assert isinstance(result.exception, CropGlobeError) and "seed" in str(result.exception), result.output
    assert not (tmp_path / "s.zarr").exists()
