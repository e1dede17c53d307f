"""Bad inputs to ``cropglobe map``: one clear CropGlobeError (exit 2 on the CLI), nothing written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import MapOptions, make_map, write_cube


def _nothing_written(folder: Path) -> None:
    assert not folder.exists() or not any(folder.iterdir()), list(folder.iterdir())


def test_missing_model_folder(cube_store, tmp_path):
    with pytest.raises(CropGlobeError, match="model not found"):
        make_map(tmp_path / "nope", cube_store, tmp_path / "out" / "map.tif", MapOptions(scheduler="synchronous"))
    _nothing_written(tmp_path / "out")


def test_missing_recipe_and_model_file(cell, cube_store, tmp_path):
    no_recipe = tmp_path / "cell_a"
    no_recipe.mkdir()
    shutil.copy(cell / "model", no_recipe / "model")
    with pytest.raises(CropGlobeError, match="recipe not found"):
        make_map(no_recipe, cube_store, tmp_path / "out" / "map.tif", MapOptions(scheduler="synchronous"))
    no_model = tmp_path / "cell_b"
    no_model.mkdir()
    shutil.copy(cell / "recipe.json", no_model / "recipe.json")
    with pytest.raises(CropGlobeError, match="model file not found"):
        make_map(no_model / "recipe.json", cube_store, tmp_path / "out" / "map.tif",
                 MapOptions(scheduler="synchronous"))
    _nothing_written(tmp_path / "out")


def test_recipe_field_missing(cell, cube_store, tmp_path):
    bad = tmp_path / "cell"
    shutil.copytree(cell, bad)
    recipe = json.loads((bad / "recipe.json").read_text())
    del recipe["window_bins"]
    (bad / "recipe.json").write_text(json.dumps(recipe))
    with pytest.raises(CropGlobeError, match="'window_bins' is missing"):
        make_map(bad, cube_store, tmp_path / "out" / "map.tif", MapOptions(scheduler="synchronous"))
    _nothing_written(tmp_path / "out")


def test_cube_without_crs(cell, sim_cube, tmp_path):
    cube = sim_cube[0].drop_vars("spatial_ref")
    for v in cube.data_vars:
        cube[v].attrs.pop("grid_mapping", None)
        cube[v].encoding.pop("grid_mapping", None)
    store = write_cube(cube, tmp_path / "nocrs.zarr")
    with pytest.raises(CropGlobeError, match="no CRS"):
        make_map(cell, store, tmp_path / "out" / "map.tif", MapOptions(scheduler="synchronous"))
    _nothing_written(tmp_path / "out")


def test_bands_not_matching_the_model(cell, sim_cube, tmp_path):
    store = write_cube(sim_cube[0].isel(band=slice(0, 6)), tmp_path / "six.zarr")
    with pytest.raises(
        CropGlobeError, match=r"B8, B11, B12 missing; .* needs \['B2', 'B3', 'B4', 'B8', 'B11', 'B12'\]"
    ):
        make_map(cell, store, tmp_path / "out" / "map.tif", MapOptions(scheduler="synchronous"))
    _nothing_written(tmp_path / "out")


def test_a_cube_with_only_the_bands_the_features_read_maps(cell, sim_cube, cube_store, tmp_path):
    """Harmonic features read 6 of the 10 bands: a cube holding just those gives the same map."""
    import rasterio

    six = write_cube(sim_cube[0].sel(band=["B2", "B3", "B4", "B8", "B11", "B12"]), tmp_path / "six.zarr")
    a = make_map(cell, six, tmp_path / "six.tif", MapOptions(scheduler="synchronous"))
    b = make_map(cell, cube_store, tmp_path / "all.tif", MapOptions(scheduler="synchronous"))
    with rasterio.open(a.paths["classes"]) as ra, rasterio.open(b.paths["classes"]) as rb:
        np.testing.assert_array_equal(ra.read(1), rb.read(1))


def test_dates_outside_the_season(cell, sim_cube, tmp_path):
    cube = sim_cube[0]
    store = write_cube(cube.isel(time=cube["time"].values < cube["time"].values[0] + 120 * 86400 * 10**9),
                       tmp_path / "spring.zarr")
    with pytest.raises(CropGlobeError, match="do not cover the model's season window"):
        make_map(cell, store, tmp_path / "out" / "map.tif", MapOptions(scheduler="synchronous"))
    _nothing_written(tmp_path / "out")


def test_unscaled_integers_need_a_scale(cell, sim_cube, tmp_path):
    cube = sim_cube[0].copy()
    cube["reflectance"] = (cube["reflectance"].fillna(0) * 10000).astype("uint16")
    store = write_cube(cube, tmp_path / "dn.zarr")
    with pytest.raises(CropGlobeError, match="look like scaled integers"):
        make_map(cell, store, tmp_path / "out" / "map.tif", MapOptions(scheduler="synchronous"))
    _nothing_written(tmp_path / "out")


def test_missing_input_and_bad_options(cell, cube_store, tmp_path):
    with pytest.raises(CropGlobeError, match="input not found"):
        make_map(cell, tmp_path / "none.zarr", tmp_path / "out" / "map.tif", MapOptions(scheduler="synchronous"))
    with pytest.raises(CropGlobeError, match="at least 16"):
        make_map(cell, cube_store, tmp_path / "out" / "map.tif", MapOptions(tile=4, scheduler="synchronous"))
    with pytest.raises(CropGlobeError, match="unknown country"):
        make_map(cell, cube_store, tmp_path / "out" / "map.tif", MapOptions(country="XXX", scheduler="synchronous"))
    _nothing_written(tmp_path / "out")


def test_cli_reports_one_line_and_writes_nothing(cube_store, tmp_path):
    exe = Path(sys.executable).with_name("cropglobe")
    proc = subprocess.run([str(exe), "map", str(tmp_path / "missing"), str(cube_store), "--out",
                           str(tmp_path / "out" / "map.tif")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "model not found" in proc.stderr and "Traceback" not in proc.stderr
    _nothing_written(tmp_path / "out")


def test_cli_maps(cell, cube_store, tmp_path):
    exe = Path(sys.executable).with_name("cropglobe")
    proc = subprocess.run([str(exe), "map", str(cell), str(cube_store), "--out", str(tmp_path / "m.tif"),
                           "--tile", "32", "--scheduler", "synchronous"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "1,024 pixels" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.png", "m.tif", "m_areas.csv", "m_confidence.png",
                                                          "m_confidence.tif"]
