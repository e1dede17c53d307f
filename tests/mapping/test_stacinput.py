"""``cropglobe map --bbox --start --end --stac``: a generated static STAC catalog of small COGs, mapped offline.

The catalog comes from the acquisition tests' generator (tests/sources/acquire/scene.py) with a season's
worth of dates; the model is trained on SIMULATED data (accuracy is not the point here).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import rasterio
import xarray as xr
from pyproj import Transformer
from tests.sources.acquire import scene

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import NODATA_CLASS, MapOptions, StacQuery, make_map, write_cube
from cropglobe.mapping.stacinput import fetch_cube, parse_bbox

DATES = [dt.datetime(2023, 4, 20, 10, 30, tzinfo=dt.UTC) + dt.timedelta(days=25 * i) for i in range(10)]
X_RANGE, Y_RANGE = (507_000.0, 513_000.0), (4_980_000.0, 4_986_000.0)  # spans both tiles and the cloud


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("stac")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scene, "DATES", DATES)
        return scene.write_catalog(root)


@pytest.fixture(scope="module")
def bbox() -> str:
    to_ll = Transformer.from_crs(scene.CRS, "EPSG:4326", always_xy=True)
    w, s = to_ll.transform(X_RANGE[0] + 50, Y_RANGE[0] + 50)
    e, n = to_ll.transform(X_RANGE[1] - 50, Y_RANGE[1] - 50)
    return f"{w:.6f},{s:.6f},{e:.6f},{n:.6f}"


@pytest.fixture(scope="module")
def fetched(catalog, bbox, tmp_path_factory):
    return fetch_cube(StacQuery(bbox, "2023-04-01", "2023-12-31", str(catalog), resolution=scene.IMG_RES),
                      tmp_path_factory.mktemp("f") / "cube.zarr")


def _in_window() -> int:
    return sum(dt.date(2023, 5, 1) <= d.date() <= dt.date(2023, 11, 30) for d in DATES)


def test_fetched_cube_values_grid_and_scl(fetched):
    ds = xr.open_zarr(fetched, decode_coords="all")
    assert ds.rio.crs.to_epsg() == 32631
    x, y = ds["x"].values, ds["y"].values
    assert np.allclose((x - 50) % 100, 0) and np.allclose((y - 50) % 100, 0)  # on the scene's 100 m grid
    assert x.min() <= X_RANGE[0] + 100 and x.max() >= X_RANGE[1] - 100
    gx, gy = np.meshgrid(x, y)
    for d in (0, scene.CLOUDY_DATE, scene.OFFSET_DATE):
        expect = scene.dn(gx, gy, 4, d).astype(np.float32) * np.float32(1e-4)  # offset date: +1000 DN removed
        np.testing.assert_allclose(ds["reflectance"].isel(time=d, band=4).values, expect, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(ds["scl"].isel(time=d).values, scene.scl(gx, gy, d))
    assert (ds["scl"].isel(time=scene.CLOUDY_DATE).values == 9).any()


def test_map_from_stac_masks_clouds_and_equals_the_cube_path(cell, catalog, bbox, fetched, tmp_path):
    k = _in_window()
    query = StacQuery(bbox=bbox, start="2023-04-01", end="2023-12-31", stac=str(catalog), resolution=scene.IMG_RES)
    res = make_map(cell, query, tmp_path / "stac.tif", MapOptions(country="FRA", min_clear=k, scheduler="synchronous"))
    ds = xr.open_zarr(fetched, decode_coords="all")
    with rasterio.open(res.paths["classes"]) as src:
        got = src.read(1)
        assert src.crs.to_epsg() == 32631 and src.transform == ds.rio.transform()
    cloudy = (ds["scl"].values != 4).any(axis=0)  # under the cloud on one date: one clear date short
    assert cloudy.any() and (~cloudy).any()
    assert (got[cloudy] == NODATA_CLASS).all()
    assert (got[~cloudy] != NODATA_CLASS).all()
    # the same data built independently from the generator, through the cube path
    gx, gy = np.meshgrid(ds["x"].values, ds["y"].values)
    refl = np.stack([np.stack([scene.dn(gx, gy, b, d).astype(np.float32) * np.float32(1e-4) for b in range(10)])
                     for d in range(len(DATES))])
    scl = np.stack([scene.scl(gx, gy, d) for d in range(len(DATES))])
    cube = xr.Dataset({"reflectance": (("time", "band", "y", "x"), refl), "scl": (("time", "y", "x"), scl)},
                      coords={"time": np.array([d.date() for d in DATES], dtype="datetime64[ns]"),
                              "band": ds["band"].values, "y": ds["y"].values, "x": ds["x"].values})
    store = write_cube(cube.rio.write_crs(scene.CRS).rio.write_transform(ds.rio.transform()), tmp_path / "ref.zarr")
    ref = make_map(cell, store, tmp_path / "ref.tif", MapOptions(country="FRA", min_clear=k, scheduler="synchronous"))
    with rasterio.open(ref.paths["classes"]) as a, rasterio.open(res.paths["classes"]) as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))
    with rasterio.open(ref.paths["confidence"]) as a, rasterio.open(res.paths["confidence"]) as b:
        np.testing.assert_allclose(a.read(1), b.read(1), equal_nan=True, atol=1e-6)


def test_stac_bad_inputs(cell, catalog, bbox, tmp_path):
    with pytest.raises(CropGlobeError, match="W,S,E,N"):
        parse_bbox("3,45,2")
    with pytest.raises(CropGlobeError, match="unknown collection 'nope'"):
        make_map(cell, StacQuery(bbox=bbox, start="2023-04-01", end="2023-12-31", stac=str(catalog), collection="nope"),
                 tmp_path / "out" / "m.tif", MapOptions(scheduler="synchronous"))
    with pytest.raises(CropGlobeError, match="either an input cube or a bbox"):
        make_map(cell, None, tmp_path / "out" / "m.tif", MapOptions(scheduler="synchronous"))
    with pytest.raises(CropGlobeError, match="expected a date"):
        make_map(cell, StacQuery(bbox=bbox, start="2023-13-01", end="2023-12-31", stac=str(catalog)),
                 tmp_path / "out" / "m.tif", MapOptions(scheduler="synchronous"))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_bbox_options(cell, catalog, bbox, tmp_path):
    from typer.testing import CliRunner

    from cropglobe.cli import app

    out = tmp_path / "cli" / "m.tif"
    res = CliRunner().invoke(app, ["map", str(cell), "--out", str(out), "--scheduler", "synchronous"])
    assert isinstance(res.exception, CropGlobeError) and "either an input cube or a bbox" in str(res.exception)
    assert not out.parent.exists()
    res = CliRunner().invoke(app, ["map", str(cell), "--bbox", bbox, "--start", "2023-04-01", "--end", "2023-12-31",
                                   "--stac", str(catalog), "--resolution", "100", "--country", "FRA",
                                   "--out", str(out), "--scheduler", "synchronous"])
    assert res.exit_code == 0, res.output
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 32631 and src.res == (100.0, 100.0)
