"""Model options and sample years are checked before any work (issue 29, Medium 6 and 10).

SIMULATED data for the study; tiny generated files for the importers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.sources.readers.data import worldcereal_long
from typer.testing import CliRunner

from cropglobe import experiment, models, samples
from cropglobe.cli import app
from cropglobe.errors import CropGlobeError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SIM = {"countries": ["FRA", "BEL"], "samples_per_class": 4, "seed": 2}


def _spec(lightgbm_options):
    return experiment.parse_spec({
        "data": {"simulate": SIM}, "sources": ["FRA"],
        "cells": [{"feature": "harmonic", "model": "rf"}, {"feature": "harmonic", "model": "lightgbm"}],
        "model_options": {"rf": {"n_estimators": 3}, "lightgbm": lightgbm_options}})


@pytest.mark.parametrize(("options", "message"), [
    ({"n_jobz": 1}, r"model_options.lightgbm: model 'lightgbm': unknown option\(s\) \['n_jobz'\]"),
    ({"n_estimators": -3}, "n_estimators: -3 is below the minimum 1|n_estimators.*-3"),
    ({"learning_rate": float("inf")}, r"learning_rate inf: expected a number in \(0, inf\]"),
    ({"num_leaves": 1.5}, "num_leaves"),
])
def test_a_bad_option_of_a_later_cell_fails_before_the_first_cell_trains(tmp_path, options, message):
    run_dir = tmp_path / "run"
    with pytest.raises(CropGlobeError, match=message):
        experiment.run(_spec(options), run_dir, progress=False)
    assert not (run_dir / "cells").exists()  # the rf cell (first) did not train


@pytest.mark.parametrize(("name", "options", "message"), [
    ("rf", {"n_estimators": -3}, "The 'n_estimators' parameter of RandomForestClassifier must be an int in the "
                                 r"range \[1, inf\)"),
    ("rf", {"max_features": "most"}, "max_features"),
    ("rf", {"seed": -1}, "seed"),
    ("cropnet", {"widht": 3}, r"unknown option\(s\) \['widht'\]"),
    ("rff", {}, "rff"),
])
def test_study_options_are_checked_without_training(name, options, message):
    with pytest.raises(CropGlobeError, match=message):
        models.check_study_options({name: options})


def test_shipped_configs_pass_the_options_check():
    from cropglobe import yamlfile

    for path in sorted(CONFIGS.rglob("*.yaml")):
        raw = yamlfile.load(path)
        if isinstance(raw, dict) and "model_options" in raw:
            models.check_study_options(raw["model_options"])


# ---------------------------------------------------------------- years (Medium 10, Low: --year -5)

@pytest.mark.parametrize("year", ["1000000000000", "-5", "99999999999999999999"])
def test_import_cropglobe_refuses_a_year_that_would_wrap(tmp_path, year):
    for name, arrays in [("median_S2_USA_month5-11_day5.npz", {"fea": np.full((2, 430), 0.2, np.float32)}),
                         ("harmonic_USA_month5-11.npz", {"fea": np.full((2, 60), 0.2, np.float32)})]:
        src = tmp_path / name
        np.savez(src, lbl=np.array([0, 1]), **arrays)
        out = tmp_path / f"{src.stem}.zarr"
        result = CliRunner().invoke(app, ["import", "cropglobe", str(src), "--out", str(out), "--year", year])
        assert isinstance(result.exception, CropGlobeError), (name, result.exception, result.output)
        assert "expected a whole number from 1900 to 2200" in str(result.exception)
        assert not out.exists()


def test_worldcereal_and_table_importers_refuse_a_year_that_would_wrap(tmp_path):
    from cropglobe.sources.readers import read_table, read_worldcereal

    df = worldcereal_long(tmp_path / "wc.parquet")
    df.assign(year=10**12).to_parquet(tmp_path / "wc.parquet")
    with pytest.raises(CropGlobeError, match="year 1000000000000 .*expected a whole number from 1900 to 2200"):
        read_worldcereal(tmp_path / "wc.parquet")
    rows = [{"point_id": "p0", "system:time_start": 1_680_000_000_000 + t * 432_000_000, "crop": "maize",
             "longitude": 5.0, "latitude": 45.0, "country": "FRA", "season": 10**12,
             **{b: 1000 for b in ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]}} for t in range(3)]
    import pandas as pd

    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(CropGlobeError, match="year 1000000000000 .*expected a whole number from 1900 to 2200"):
        read_table(tmp_path / "t.csv", CONFIGS / "tables" / "gee_export_example.yaml")


def test_check_years():
    assert samples.check_years(np.array([2020, 2021.0], dtype=object), "w").dtype == np.int32
    for bad in ([np.nan], [2020.5], ["x"], [True], [2**40]):
        with pytest.raises(CropGlobeError, match="year"):
            samples.check_years(np.asarray(bad, dtype=object), "w")
