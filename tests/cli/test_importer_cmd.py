"""``cropglobe import`` / ``cropglobe download`` through the console entry point."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from cropglobe import samples
from tests.readers import data


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
    data.worldcereal_long(tmp_path / "x.parquet", codes=[0, 1101060000, 1101060000, 1101060000])
    r = _cli("import", "worldcereal", tmp_path / "x.parquet", "--out", tmp_path / "x.zarr")
    assert r.returncode == 2 and "unknown label codes: 0 (1)" in r.stderr and "--unknown other" in r.stderr
    assert not (tmp_path / "x.zarr").exists()
    r = _cli("import", "worldcereal", tmp_path / "x.parquet", "--out", tmp_path / "x.zarr", "--unknown", "other")
    assert r.returncode == 0, r.stderr


def test_import_cropglobe_and_table(tmp_path):
    p = tmp_path / "median_S2_USA_month5-11_day5.npz"
    np.savez(p, fea=np.full((2, 430), 0.2, np.float32), lbl=np.array([0, 1]))
    r = _cli("import", "cropglobe", p, "--out", tmp_path / "c.zarr", "--year", 2021)
    assert r.returncode == 0, r.stderr
    assert samples.load(tmp_path / "c.zarr").attrs["layout"].startswith("flattened")
    r = _cli("import", "table", p, "--mapping", tmp_path / "missing.yaml", "--out", tmp_path / "t.zarr")
    assert r.returncode == 2 and "cannot read the table mapping" in r.stderr


def test_download_offline(tmp_path):
    r = _cli("download", "--dest", tmp_path / "dl", env={"HF_ENDPOINT": "http://127.0.0.1:9"})
    assert r.returncode == 2 and "cannot download dataset x-ytong/CropGlobe" in r.stderr
    assert not (tmp_path / "dl").exists()
