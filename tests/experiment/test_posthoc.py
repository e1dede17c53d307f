"""Adapting a finished run afterwards (mirrors src/cropglobe/experiment/posthoc.py); SIMULATED data.

The tiny run of tests/experiment/conftest.py (two seeds of a random forest); the torch methods (AdaBN,
self-training) on runs with CropNet cells are covered by tests/experiment/test_adapt.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cropglobe.cells.run_folder import RunFolder
from cropglobe.errors import CropGlobeError
from cropglobe.experiment import posthoc


def test_split_parts_reads_the_runs_manifest(rf_run, rf_job):
    ids = rf_job.prepared.full["sample_id"].values.astype(str)
    manifest = json.loads(RunFolder(rf_run).split_path(["FRA"], 0).read_text(encoding="utf-8"))
    for part in ("train", "val", "test"):
        assert list(ids[rf_job.parts[part]]) == manifest[part]
    with pytest.raises(CropGlobeError, match="split manifest missing"):
        posthoc.split_parts(rf_run, ["FRA"], 7, "", {})


def test_adapt_run_rescores_the_saved_cells_as_the_run_did(rf_run, tmp_path):
    out = tmp_path / "adaptation"
    rows = posthoc.adapt_run(rf_run, methods=["prior"], out=out)
    assert sorted(p.name for p in out.iterdir()) == ["adaptation.md", "adaptation.parquet"]
    none = rows[rows["adaptation"] == "none"]
    assert len(none) == 2 * 3 and none["matches_run"].all()  # 2 seeds x (hold-out, BEL, ARG)
    assert set(rows["adaptation"]) >= {"none", "prior"}
    ens = rows[rows["seed"] == -1]
    assert sorted(set(ens["target"])) == ["ARG", "BEL"] and len(ens) == 2 * 2  # (none, prior) x 2 targets
    assert np.isfinite(rows["macro_f1"]).all()
    again = posthoc.adapt_run(rf_run, methods=["prior"], out=out)  # a previous adaptation folder is replaced
    assert again["macro_f1"].tolist() == rows["macro_f1"].tolist()


def test_adapt_run_selects_seeds_and_cells(rf_run, tmp_path):
    rows = posthoc.adapt_run(rf_run, methods=["none"], out=tmp_path / "a", seeds=[1], cells=["harmonic__rf__none"])
    assert set(rows["seed"]) == {1} and len(rows) == 3  # one seed: no ensemble
    with pytest.raises(CropGlobeError, match=r"--seed \[5\]: expected seeds of the run \[0, 1\]"):
        posthoc.adapt_run(rf_run, out=tmp_path / "b", seeds=[5])
    with pytest.raises(CropGlobeError, match=r"--cell \['x__y__z'\]"):
        posthoc.adapt_run(rf_run, out=tmp_path / "b", cells=["x__y__z"])


def test_adapt_run_refuses_bad_inputs(rf_run, tmp_path):
    with pytest.raises(CropGlobeError, match="adaptation method 'magic' is unknown"):
        posthoc.adapt_run(rf_run, methods=["magic"], out=tmp_path / "a")
    with pytest.raises(CropGlobeError, match="no config.yaml"):
        posthoc.adapt_run(tmp_path, out=tmp_path / "b")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me", encoding="utf-8")
    assert not posthoc.is_adaptation_folder(mine)
    with pytest.raises(CropGlobeError, match="cropglobe adaptation folder"):
        posthoc.adapt_run(rf_run, out=mine)
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_markdown_tables_per_pair(rf_run, tmp_path):
    rows = posthoc.adapt_run(rf_run, methods=["none"], out=tmp_path / "a")
    text = "\n".join(posthoc.markdown(rows, title="T"))
    assert text.startswith("# T") and "FRA → BEL" in text and "FRA → ARG" in text
