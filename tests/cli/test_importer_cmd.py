"""``cropglobe import`` / ``cropglobe download`` through the console entry point."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from tests.sources.readers import data

from cropglobe import samples


def _cli(*args, env=None):
    code = "from cropglobe.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_import_worldcereal_then_info(tmp_path):
    data.worldcereal_long(tmp_path / "x.parquet")
    r = _cli("import", "worldcereal", tmp_path / "x.parquet", "--out", tmp_path / "x.zarr")
    assert r.returncode == 0, r.stderr
    assert "1101060000 maize: 1" in r.stdout and "B8A" in r.stdout
    assert samples.load(tmp_path / "x.zarr").sizes["sample"] == 4
    info = _cli("info", tmp_path / "x.zarr")
    assert info.returncode == 0 and "FRA" in info.stdout


def test_import_errors_are_one_line_and_write_nothing(tmp_path):
    data.worldcereal_long(tmp_path / "x.parquet", codes=[12345, 0, 1101060000, 1101060000])
    r = _cli("import", "worldcereal", tmp_path / "x.parquet", "--out", tmp_path / "x.zarr")
    assert r.returncode == 2 and "unknown label codes: 12345 (1)" in r.stderr and "--unknown other" in r.stderr
    assert not (tmp_path / "x.zarr").exists()
    r = _cli("import", "worldcereal", tmp_path / "x.parquet", "--out", tmp_path / "x.zarr", "--unknown", "other",
             "--season-year", "end")
    assert r.returncode == 0, r.stderr
    assert samples.load(tmp_path / "x.zarr").attrs["season_year"] == "end"
    assert "dropped samples with codes the WorldCereal legend calls unknown: 1" in " ".join(r.stdout.split())
    assert samples.load(tmp_path / "x.zarr").sizes["sample"] == 3
    r = _cli(
        "import",
        "worldcereal",
        tmp_path / "x.parquet",
        "--out",
        tmp_path / "k.zarr",
        "--unknown",
        "other",
        "--keep-code0",
    )
    assert r.returncode == 0, r.stderr
    assert "legend calls unknown" not in r.stdout and samples.load(tmp_path / "k.zarr").sizes["sample"] == 4


@pytest.mark.shared_data
def test_import_worldcereal_canada_file_as_published(shared_data, tmp_path):
    src = (
        shared_data
        / "worldcereal_extractions"
        / "presto-worldcereal"
        / "test_long_parquet_2017_CAN_AAFC-ACIGTD.parquet"
    )
    r = _cli("import", "worldcereal", src, "--out", tmp_path / "can.zarr")
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())  # rich may wrap long lines
    assert "dropped samples with codes the WorldCereal legend calls unknown: 200" in out
    assert (
        "timestamps snapped to month/dekad starts (local time stored as UTC): 65997 rows, 20 distinct values, "
        "shift up to 2 h"
        in out
    )
    assert "ignored columns (not imported, 18): AGERA5-precipitation-flux" in out and "S1-SIGMA0-VV" in out
    assert "season year from: year of 'valid_date' (3421)" in out
    ds = samples.load(tmp_path / "can.zarr")
    assert ds.sizes["sample"] == 3421 and ds.attrs["dropped_unknown_code0"] == 200


def test_import_cropglobe_and_table(tmp_path):
    p = tmp_path / "median_S2_USA_month5-11_day5.npz"
    np.savez(p, fea=np.full((2, 430), 0.2, np.float32), lbl=np.array([0, 1]))
    r = _cli("import", "cropglobe", p, "--out", tmp_path / "c.zarr", "--year", 2021)
    assert r.returncode == 0, r.stderr
    assert samples.load(tmp_path / "c.zarr").attrs["layout"].startswith("flattened")
    r = _cli("import", "table", p, "--mapping", tmp_path / "missing.yaml", "--out", tmp_path / "t.zarr")
    assert r.returncode == 2 and "cannot read the table mapping" in r.stderr


def test_import_earth_engine_window_files(tmp_path):
    from tests.sources.readers.test_table_ee import MAPPING

    files = data.ee_windows(tmp_path / "ee", n=5, n_windows=3)
    r = _cli("import", "table", *files, "-m", MAPPING, "--out", tmp_path / "ee.zarr", "--season-year", "end")
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert "values outside reflectance 0-1.5 set to missing: 1 (B2: 1)" in out
    assert "rows with 'valid' invalid set to missing in every band: 1" in out
    assert "covariates from" in out and "cov_aspect, cov_clay" in out and "samples without a row (NaN): 1" in out
    ds = samples.load(tmp_path / "ee.zarr")
    assert ds.sizes["sample"] == 5 and ds.attrs["season_year"] == "end" and set(ds["year"].values) == {2021}
    cov = tmp_path / "ee" / "covariates_static_arkansas.csv"
    r = _cli("import", "table", *files, cov, "-m", MAPPING, "--out", tmp_path / "bad.zarr")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "looks like a per-sample covariate table" in r.stderr and files[0].name not in r.stderr
    assert not (tmp_path / "bad.zarr").exists()


def test_download_offline(tmp_path):
    r = _cli("download", "--dest", tmp_path / "dl", env={"HF_ENDPOINT": "http://127.0.0.1:9"})
    assert r.returncode == 2 and "cannot download dataset x-ytong/CropGlobe" in r.stderr
    assert not (tmp_path / "dl").exists()


def test_import_names_the_region_of_every_sample(tmp_path):
    from tests.sources.readers.test_table_ee import MAPPING

    files = data.ee_windows(tmp_path / "ee", n=4, n_windows=3)
    r = _cli("import", "table", *files, "-m", MAPPING, "--region", "Arkansas", "--out", tmp_path / "ee.zarr")
    assert r.returncode == 0, r.stderr
    assert set(samples.load(tmp_path / "ee.zarr")["region"].values) == {"arkansas"}
    data.worldcereal_long(tmp_path / "x.parquet")
    bad = _cli("import", "worldcereal", tmp_path / "x.parquet", "--region", "a:b", "--out", tmp_path / "x.zarr")
    assert bad.returncode == 2 and "without ':'" in bad.stderr and not (tmp_path / "x.zarr").exists()


def test_import_worldcereal_with_a_legend_of_ones_own(tmp_path):
    data.worldcereal_long(tmp_path / "x.parquet")
    legend = tmp_path / "legend.yaml"
    legend.write_text("classes: [maize, wheat, soybean, meadow, other]\nmap: {1101060*: maize, 1101010*: wheat, "
                      "1106000020: soybean, 2001*: meadow}\n")
    r = _cli("import", "worldcereal", tmp_path / "x.parquet", "--out", tmp_path / "x.zarr", "--legend", legend)
    assert r.returncode == 0, r.stderr
    ds = samples.load(tmp_path / "x.zarr")
    assert ds["label"].values.tolist() == ["maize", "wheat", "soybean", "meadow"]
    assert list(ds.attrs["classes"]) == ["maize", "wheat", "soybean", "meadow", "other"]
    legend.write_text("classes: [maize, other]\nmap: {1101060*: corn}\n")
    r = _cli("import", "worldcereal", tmp_path / "x.parquet", "--out", tmp_path / "y.zarr", "--legend", legend)
    assert r.returncode == 2 and "'corn' is not a class of the legend" in r.stderr and len(r.stderr.splitlines()) == 1
