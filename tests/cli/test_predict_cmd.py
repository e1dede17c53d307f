"""Tests of ``cropglobe predict`` (mirrors src/cropglobe/cli/predict.py); SIMULATED data."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from cropglobe import experiment, samples
from cropglobe.cli import app
from cropglobe.sources import simulate

SIM = {"countries": ["FRA", "BEL"], "samples_per_class": 6, "seed": 4}
CELL = "FRA__harmonic__rf__none__s0"


@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "r"
    spec = {"data": {"simulate": SIM}, "sources": ["FRA"], "cells": [{"feature": "harmonic", "model": "rf"}],
            "model_options": {"rf": {"n_estimators": 15}}, "seeds": [0, 1]}
    experiment.run(experiment.parse_spec(spec), run_dir, progress=False)
    return run_dir / "cells" / CELL


@pytest.fixture(scope="module")
def bel(tmp_path_factory):
    obs = samples.select(simulate.simulate(**SIM), country="BEL")
    folder = tmp_path_factory.mktemp("samples")
    return obs, samples.save(obs, folder / "bel.zarr")


def _main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from cropglobe.cli import main; main()", *args],
                          capture_output=True, text=True, check=False)


def test_predict_writes_parquet_metrics_and_prints_scores(cell, bel, tmp_path):
    obs, store = bel
    out = tmp_path / "preds.parquet"
    res = CliRunner().invoke(app, ["predict", str(cell), str(store), "--out", str(out)], env={"COLUMNS": "160"})
    assert res.exit_code == 0, res.output
    assert f"predicted {obs.sizes['sample']} of {obs.sizes['sample']} samples (SIMULATED DATA)" in res.output
    assert "macro-F1" in res.output and "BEL" in res.output
    table = pd.read_parquet(out)
    assert len(table) == obs.sizes["sample"] and table["predicted"].notna().all()
    saved = json.loads((tmp_path / "preds.metrics.json").read_text())
    result = json.loads((cell / "result.json").read_text())
    row = next(r for r in result if r["target"] == "BEL")
    assert saved["targets"]["BEL"]["confusion"] == json.loads(row["confusion"])
    assert saved["targets"]["BEL"]["oa"] == pytest.approx(row["oa"])


def test_unlabelled_set_prints_no_scores(cell, bel, tmp_path):
    obs, _ = bel
    bare = samples.write_zarr(obs.drop_vars("label"), tmp_path / "bare.zarr")
    out = tmp_path / "p.parquet"
    res = CliRunner().invoke(app, ["predict", str(cell), str(bare), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "no labels: no scores" in res.output
    assert out.is_file() and not (tmp_path / "p.metrics.json").exists()


@pytest.mark.parametrize("case", ["missing band", "no cell", "bad out", "bad remaps"])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cell, bel, tmp_path, case):
    obs, store = bel
    out, cell_arg, extra = tmp_path / "p.parquet", str(cell), []
    if case == "missing band":
        store = samples.save(obs.drop_sel(band="B8"), tmp_path / "nob8.zarr")
        expect = "band B8 missing"
    elif case == "no cell":
        cell_arg, expect = str(tmp_path / "nowhere"), "model not found"
    elif case == "bad out":
        out, expect = tmp_path / "p.csv", "expected a .parquet file name"
    else:
        extra, expect = ["--remaps", str(tmp_path / "none.yaml")], "cannot read remaps"
    proc = _main("predict", cell_arg, str(store), "--out", str(out), *extra)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().startswith("error:") and expect in proc.stderr
    assert "Traceback" not in proc.stderr
    left = [p.name for p in tmp_path.iterdir() if not p.name.endswith(".zarr")]
    assert left == [], left


def test_member_and_prior_adaptation_options(cell, bel, tmp_path):
    _, store = bel
    out = tmp_path / "e.parquet"
    other = cell.parent / CELL.replace("__s0", "__s1")
    res = CliRunner().invoke(app, ["predict", str(cell), str(store), "--out", str(out), "--member", str(other),
                                   "--adapt", "prior"], env={"COLUMNS": "160"})
    assert res.exit_code == 0, res.output
    assert "seed ensemble of 2 cells" in res.output and "class prior of these samples (EM, no labels)" in res.output
    assert "target_prior" in json.loads((tmp_path / "e.metrics.json").read_text())
    bad = _main("predict", str(cell), str(store), "--out", str(tmp_path / "b.parquet"), "--adapt", "tent")
    assert bad.returncode == 2 and "'tent' is not one of 'none', 'prior', 'align', 'selftrain'" in bad.stderr
    assert not (tmp_path / "b.parquet").exists()
