"""``--precision`` of ``cropglobe map`` / ``cropglobe predict``: bf16 torch inference agrees with float32 on
the vast majority of pixels and samples; tabular models ignore it (mirrors the precision plumbing of
src/cropglobe/mapping/run.py, predict.py and samples.py). SIMULATED data."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from typer.testing import CliRunner

from cropglobe import experiment, samples
from cropglobe.cli import app, main
from cropglobe.errors import CropGlobeError
from cropglobe.mapping import MapOptions, make_map
from cropglobe.mapping.predict import inference_precision
from cropglobe.mapping.predict_table import PredictOptions, predict_file, predict_samples
from cropglobe.sources import simulate

SIM = {"countries": ["FRA"], "samples_per_class": 12, "seed": 4}
SPEC = {
    "name": "tiny-precision", "data": {"simulate": SIM}, "sources": ["FRA"], "targets": ["FRA"],
    "in_region_fraction": 0.3,
    "cells": [{"feature": "median2d", "model": "cropnet-lite"}, {"feature": "harmonic", "model": "rf"}],
    "seeds": [0], "train": {"epochs": 4, "batch_size": 16, "lr": 0.005, "precision": "32-true"},
    "model_options": {"rf": {"n_estimators": 20}},
}
TORCH, RF = "FRA__median2d__cropnet-lite__none__s0", "FRA__harmonic__rf__none__s0"


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "r"
    experiment.run(experiment.parse_spec(SPEC), run_dir, progress=False)
    return {"torch": run_dir / "cells" / TORCH, "tabular": run_dir / "cells" / RF}


def _map(cell, cube_store, out, precision):
    res = make_map(cell, cube_store, out, MapOptions(tile=16, scheduler="synchronous", precision=precision))
    with rasterio.open(res.paths["classes"]) as c, rasterio.open(res.paths["confidence"]) as f:
        return c.read(1), f.read(1), c.tags()["PRECISION"]


def test_precision_values_are_checked_and_auto_resolves_to_a_real_setting():
    assert inference_precision(None) == "32-true"
    assert inference_precision("bf16-mixed") == "bf16-mixed"
    assert inference_precision("auto") in ("bf16-mixed", "32-true")
    assert inference_precision("bf16-mixed", family="tabular") == "32-true"
    with pytest.raises(CropGlobeError, match="--precision fp8: expected one of auto, bf16-mixed, 32-true"):
        inference_precision("fp8")


@pytest.mark.slow
def test_bf16_map_agrees_with_the_float32_map_of_a_torch_cell(cells, cube_store, tmp_path):
    c32, f32, tag32 = _map(cells["torch"], cube_store, tmp_path / "fp32.tif", "32-true")
    c16, f16, tag16 = _map(cells["torch"], cube_store, tmp_path / "bf16.tif", "bf16-mixed")
    assert (tag32, tag16) == ("32-true", "bf16-mixed")
    mapped = c32 != 255
    np.testing.assert_array_equal(c16 == 255, ~mapped)  # nodata does not depend on the model
    assert mapped.sum() > 500
    assert (c16[mapped] == c32[mapped]).mean() >= 0.95
    assert np.abs(f16[mapped] - f32[mapped]).max() < 0.05


@pytest.mark.slow
def test_bf16_predictions_agree_with_float32_on_samples(cells):
    ds = simulate.simulate(["FRA"], samples_per_class=10, seed=9)
    p32 = predict_samples(cells["torch"], ds, options=PredictOptions(precision="32-true")).table
    p16 = predict_samples(cells["torch"], ds, options=PredictOptions(precision="bf16-mixed")).table
    ok = p32["predicted"].notna()
    assert ok.sum() > 50
    assert (p16["predicted"][ok] == p32["predicted"][ok]).mean() >= 0.95
    assert np.abs(p16.loc[ok, "confidence"] - p32.loc[ok, "confidence"]).max() < 0.05


@pytest.mark.slow
def test_tabular_cells_ignore_the_precision(cells, cube_store, tmp_path):
    c32, f32, _ = _map(cells["tabular"], cube_store, tmp_path / "a.tif", "32-true")
    c16, f16, tag = _map(cells["tabular"], cube_store, tmp_path / "b.tif", "bf16-mixed")
    assert tag == "32-true"
    np.testing.assert_array_equal(c16, c32)
    np.testing.assert_array_equal(f16, f32)


def _main(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return int(exc.value.code), capsys.readouterr().err


@pytest.mark.slow
def test_cli_precision_option_and_bad_value(cells, cube_store, tmp_path, capsys):
    out = tmp_path / "m.tif"
    code, err = _main(capsys, "map", str(cells["torch"]), str(cube_store), "--out", str(out), "--precision", "fp8",
                      "--quiet", "--scheduler", "synchronous")
    assert code == 2
    assert "'fp8' is not one of 'auto', 'bf16-mixed', '32-true'" in err  # a typed choice (issue 27)
    assert not list(tmp_path.iterdir())  # nothing written
    store = samples.save(simulate.simulate(["FRA"], samples_per_class=4, seed=3), tmp_path / "s.zarr")
    code, err = _main(capsys, "predict", str(cells["torch"]), str(store), "--out", str(tmp_path / "p.parquet"),
                      "--precision", "half")
    assert code == 2 and "'half' is not one of" in err and not (tmp_path / "p.parquet").exists()
    res = CliRunner().invoke(app, ["predict", str(cells["torch"]), str(store), "--out", str(tmp_path / "p.parquet"),
                              "--precision", "bf16-mixed"])
    assert res.exit_code == 0, res.output
    auto = predict_file(cells["tabular"], store, tmp_path / "q.parquet", PredictOptions(precision="auto"))
    assert auto.table.shape[0] == 28


@pytest.mark.slow
def test_the_real_data_precision_script_counts_the_classes_bf16_changes(cells, tmp_path):
    """scripts/precision_real.py (the issue-26 rule on real pixels), here on a SIMULATED SampleSet store."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "precision_real.py"
    spec = importlib.util.spec_from_file_location("precision_real", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    ds = simulate.simulate(["FRA"], samples_per_class=10, seed=9)
    samples.save(ds, tmp_path / "fra.zarr")
    row = script.compare(cells["torch"], tmp_path / "fra.zarr", repeat=1)
    p32 = predict_samples(cells["torch"], ds, options=PredictOptions(precision="32-true")).table
    p16 = predict_samples(cells["torch"], ds, options=PredictOptions(precision="bf16-mixed")).table
    ok = p32["predicted"].notna()
    assert row["samples"] == ok.sum() > 50
    assert row["changed"] == (p16["predicted"][ok] != p32["predicted"][ok]).sum()
    assert row["changed_share"] == pytest.approx(row["changed"] / row["samples"], abs=1e-5)
    assert 0 < row["max_prob_change"] < 0.05
    assert row["macro_f1_32-true"].startswith("FRA ") and row["cpu_s_bf16-mixed"] > 0
    assert f"| {row['cell']} | {row['samples']:,} | fra.zarr |" in script.table([row])
