"""openEO / WorldCereal cubes (one int16 ``_Unsigned`` variable per band, ``t, y, x``, monthly composites).

A 9-band cell (no B8A, season May-September) is trained with ``cropglobe transfer`` on SIMULATED
samples; the cubes are monthly composites of SIMULATED pixels written in the openEO layout, and the
real WorldCereal test cube (``shared_data``) is mapped as it is.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
import yaml
from typer.testing import CliRunner

from cropglobe import bands as _bands
from cropglobe.cli import app
from cropglobe.errors import CropGlobeError

BANDS9 = [b for b in _bands.S2_BANDS if b != "B8A"]
WINDOW = "05-01:09-30"
GRID = (8, 8)
ORIGIN = (600000.0, 5600000.0)  # EPSG:32631, Wallonia (Belgium)
MONTHS = pd.date_range("2023-01-01", periods=12, freq="MS")
NODATA = 65535


def write_openeo(path: Path, dn: np.ndarray, names: list[str], times: pd.DatetimeIndex, extra: bool = True) -> Path:
    """Write an openEO ``save_result``-style cube: int16 + ``_Unsigned`` per band, dims ``t, y, x``, ``crs`` variable.

    Args:
        path: ``.nc`` (NetCDF) or ``.zarr`` target.
        dn: uint16 digital numbers (time, band, y, x).
        names: Variable name of each band (``B02`` or ``S2-L2A-B02`` style).
        times: Period starts.
        extra: Add Sentinel-1, meteo and DEM variables as WorldCereal cubes have them.
    """
    from pyproj import CRS

    t, _, h, w = dn.shape
    wkt = CRS.from_epsg(32631).to_wkt("WKT1_GDAL")
    coords = {"t": ("t", times.to_numpy("datetime64[ns]"), {"standard_name": "t", "axis": "T"}),
              "x": ("x", ORIGIN[0] + 5.0 + 10.0 * np.arange(w), {"standard_name": "projection_x_coordinate"}),
              "y": ("y", ORIGIN[1] - 5.0 - 10.0 * np.arange(h), {"standard_name": "projection_y_coordinate"})}
    attrs = {"_Unsigned": "true", "grid_mapping": "crs", "units": ""}
    data = {n: (("t", "y", "x"), dn[:, i].view(np.int16), {**attrs, "long_name": n}) for i, n in enumerate(names)}
    if extra:
        rng = np.random.default_rng(0)
        for n in ("S1-SIGMA0-VH", "VV", "AGERA5-TMEAN", "temperature_mean", "DEM", "slope"):
            data[n] = (("t", "y", "x"), rng.integers(100, 30000, (t, h, w)).astype(np.int16), attrs)
    ds = xr.Dataset(data, coords=coords, attrs={"Conventions": "CF-1.9", "institution": "openEO platform"})
    zarr = path.suffix == ".zarr"
    crs_value = np.int32(0) if zarr else np.array(b"", dtype="S1")  # openEO's NetCDF: an empty char variable
    ds["crs"] = xr.DataArray(crs_value, attrs={"crs_wkt": wkt, "spatial_ref": wkt})
    enc = {"t": {"units": "days since 1990-01-01", "dtype": "int32"}}
    if zarr:
        ds.to_zarr(path, mode="w", encoding=enc, zarr_format=2, consolidated=True)
    else:
        ds.to_netcdf(path, encoding=enc)
    return path


def monthly_dn(seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """SIMULATED BEL pixels: monthly means of clear observations as L2A DN (time, band, y, x), and labels.

    Some pixels lack months (nodata 65535, inside the season too; pixel 11 keeps one season month,
    fewer than ``min_clear``), pixel 20 lacks every month, one value
    exceeds 15000 DN (reflectance > 1.5: missing, as the WorldCereal importer treats it).
    """
    from cropglobe.sources import simulate

    obs = simulate.simulate(["BEL"], samples_per_class=12, seed=seed)
    n = GRID[0] * GRID[1]
    obs = obs.isel(sample=np.random.default_rng(seed).permutation(obs.sizes["sample"])[:n]).sel(band=BANDS9)
    refl = obs["reflectance"].values  # (sample, band, time)
    ok = (obs["clear"].values >= 0.75) & np.isfinite(refl).all(axis=1)
    month = pd.DatetimeIndex(obs["time"].values).to_period("M").to_timestamp()
    out = np.full((12, len(BANDS9), n), NODATA, dtype=np.uint16)
    for i, m in enumerate(MONTHS):
        sel = ok & (month == m)[None, :]
        cnt = sel.sum(axis=1)
        mean = np.where(sel[:, None, :], refl, 0.0).sum(axis=2) / np.maximum(cnt, 1)[:, None]
        out[i] = np.where(cnt[:, None] > 0, np.round(mean * 10000), NODATA).astype(np.uint16).T
    out[6, :, 3] = NODATA  # July missing for pixel 3
    out[4:6, :, 10] = NODATA  # May-June missing for pixel 10 (three clear months left in the season)
    out[4:8, :, 11] = NODATA  # May-August missing for pixel 11: one clear month in the season, nodata
    out[:, :, 20] = NODATA  # pixel 20 has no data at all
    out[7, 2, 30] = 17000  # saturated value: missing
    return out.reshape(12, len(BANDS9), *GRID), obs["label"].values.astype(str)


@pytest.fixture(scope="module")
def cell9(tmp_path_factory) -> Path:
    """A 9-band (no B8A) median1d + LightGBM cell, May-September, from `cropglobe transfer` on SIMULATED data."""
    from cropglobe import samples
    from cropglobe.sources import simulate

    root = tmp_path_factory.mktemp("cell9")
    obs = simulate.simulate(["FRA", "BEL"], samples_per_class=25, seed=2).sel(band=BANDS9)
    samples.save(obs, root / "sim9.zarr")
    spec = {"name": "nine-bands", "data": {"path": str(root / "sim9.zarr")},
            "composite": {"interval": 5, "window": WINDOW, "align": "hemisphere", "clear_threshold": 0.75},
            "sources": ["FRA"], "targets": ["BEL"], "cells": [{"feature": "median1d", "model": "lightgbm"}],
            "model_options": {"lightgbm": {"n_estimators": 30}}}
    (root / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    res = CliRunner().invoke(app, ["transfer", str(root / "spec.yaml"), "--out", str(root / "run"), "--quiet"])
    assert res.exit_code == 0, res.output
    cells = sorted((root / "run" / "cells").glob("*/recipe.json"))
    assert len(cells) == 1, cells
    recipe = json.loads(cells[0].read_text())
    assert recipe["bands"] == BANDS9 and recipe["composite"]["window"] == WINDOW
    return cells[0].parent


@pytest.fixture(scope="module")
def openeo_cubes(tmp_path_factory) -> dict[str, Path]:
    """The same SIMULATED monthly cube as openEO NetCDF (``S2-L2A-B02`` names) and Zarr (``B02`` names)."""
    root = tmp_path_factory.mktemp("openeo")
    dn, _ = monthly_dn()
    nc = write_openeo(root / "cube.nc", dn, [f"S2-L2A-B{b[1:]:0>2}" for b in BANDS9], MONTHS)
    zarr = write_openeo(root / "cube.zarr", dn, [f"B{b[1:]:0>2}" for b in BANDS9], MONTHS)
    return {"nc": nc, "zarr": zarr}


def _map(cell: Path, cube: Path, out: Path, *extra: str) -> dict[str, Path]:
    res = CliRunner().invoke(app, ["map", str(cell), str(cube), "--out", str(out), "--tile", "16",
                                   "--scheduler", "synchronous", *extra])
    assert res.exit_code == 0, res.output
    return {"classes": out, "confidence": out.with_name(out.stem + "_confidence.tif"),
            "png": out.with_suffix(".png"), "areas": out.with_name(out.stem + "_areas.csv")}


def test_open_openeo_layout(openeo_cubes):
    from cropglobe.mapping import open_cube

    for cube_path in openeo_cubes.values():
        cube = open_cube(cube_path)
        assert cube.source.kind == "openeo"
        assert cube.bands == BANDS9
        assert cube.crs.to_epsg() == 32631
        assert tuple(cube.transform)[:6] == (10.0, 0.0, ORIGIN[0], 0.0, -10.0, ORIGIN[1])
        assert cube.bin_days.tolist() == MONTHS.days_in_month.tolist()
        assert (cube.times == MONTHS.to_numpy("datetime64[ns]")).all()
        assert set(cube.ds.attrs["ignored_variables"]) == {"S1-SIGMA0-VH", "VV", "AGERA5-TMEAN",
                                                          "temperature_mean", "DEM", "slope"}
        dec = cube.source.decoding
        assert (dec.scale, dec.nodata) == (1e-4, 65535.0)
        raw, clear, scl = cube.source.read_raw(slice(0, 8), slice(0, 8), ["B12", "B2"])
        assert raw.dtype == np.uint16 and raw.shape == (12, 2, 8, 8) and clear is None and scl is None
        dn, _ = monthly_dn()
        assert (raw[:, 1] == dn[:, 0]).all() and (raw[:, 0] == dn[:, -1]).all()
        b4 = cube.source.read_raw(slice(0, 8), slice(0, 8), ["B4"])[0]
        assert b4[7, 0, 3, 6] == NODATA, "a DN above 15000 must read as nodata"


def _training_features(cell: Path, dn: np.ndarray, lon: np.ndarray, lat: np.ndarray):
    """The training path: the pixels as a monthly composite SampleSet -> composite with the recipe -> features."""
    from cropglobe import samples
    from cropglobe.features import families as features
    from cropglobe.mapping import load_recipe
    from cropglobe.temporal import composite, season

    recipe = load_recipe(cell)
    t, b, h, w = dn.shape
    values = dn.reshape(t, b, h * w).transpose(2, 1, 0).astype(np.float32)
    values[values > 15000] = NODATA  # the WorldCereal importer's rule for DN above 15000
    ds = samples.build(samples.SampleArrays(values, bands=BANDS9, time=MONTHS.to_numpy("datetime64[ns]"),
                       sample_id=[f"px{i}" for i in range(h * w)], label=["other"] * (h * w), country="BEL",
                       year=2023, lon=lon, lat=lat, bin_days=MONTHS.days_in_month.to_numpy()), scale=1e-4,
                       nodata=NODATA, attrs={"time_kind": "composite"})
    full = composite.composite(ds, recipe.composite)  # the training call
    assert list(season.window_bins(full)) == list(recipe.window_bins)
    x = features.get_feature(recipe.feature).fn(season.season(full), **recipe.feature_options)
    x = x.reshape(len(x), -1) if recipe.flatten else x
    kept = np.array([int(s[2:]) for s in full["sample_id"].values.astype(str)])
    return recipe, np.asarray(x, dtype=np.float32), kept


def test_map_features_equal_training_features(cell9, openeo_cubes, tmp_path):
    """Features and probabilities of every pixel equal those of the same series imported as a SampleSet."""
    from cropglobe.mapping import MapOptions, locate, prepare
    from cropglobe.mapping.predict import block_inputs, predict_proba

    dn, _ = monthly_dn()
    _, cube, ctx = prepare(cell9, openeo_cubes["nc"], MapOptions(country="BEL"))
    assert ctx.year == 2023 and ctx.bin_days is not None
    h, w = cube.shape
    lon, lat = locate.lonlat(cube.transform, cube.crs, slice(0, h), slice(0, w))
    recipe, x_train, kept = _training_features(cell9, dn, lon, lat)
    assert set(range(h * w)) - set(kept.tolist()) == {11, 20}, "training drops the pixels without enough data"
    refl, clear, scl = cube.source.read_raw(slice(0, h), slice(0, w), ctx.read_bands)
    assert ctx.read_bands == BANDS9
    x_map, keep = block_inputs(refl.reshape(12, len(BANDS9), -1), clear, scl, lat, ctx)
    assert keep.tolist() == kept.tolist()
    np.testing.assert_array_equal(x_map, x_train)  # the same float32 arithmetic, bit for bit

    out = _map(cell9, openeo_cubes["nc"], tmp_path / "m.tif", "--country", "BEL")
    proba = predict_proba(recipe.load_model(), recipe, x_train)
    with rasterio.open(out["classes"]) as cls, rasterio.open(out["confidence"]) as conf:
        classes, confidence = cls.read(1).ravel(), conf.read(1).ravel()
        assert cls.tags()["SEASON_YEAR"] == "2023"
    assert (classes[[11, 20]] == 255).all() and np.isnan(confidence[[11, 20]]).all()
    assert (classes[kept] == proba.argmax(1)).all()
    np.testing.assert_allclose(confidence[kept], proba.max(1), rtol=1e-6)


def test_netcdf_and_zarr_give_the_same_map(cell9, openeo_cubes, tmp_path):
    maps = {k: _map(cell9, p, tmp_path / f"{k}.tif", "--country", "BEL") for k, p in openeo_cubes.items()}
    with rasterio.open(maps["nc"]["classes"]) as a, rasterio.open(maps["zarr"]["classes"]) as b:
        assert (a.read(1) == b.read(1)).all()
        assert a.crs.to_epsg() == 32631 and a.transform == rasterio.Affine(10, 0, ORIGIN[0], 0, -10, ORIGIN[1])
    areas = pd.read_csv(maps["zarr"]["areas"]).set_index("class")
    assert areas["hectares"].sum() == pytest.approx(GRID[0] * GRID[1] * 0.01)
    assert areas.loc["nodata", "pixels"] == 2
    assert maps["zarr"]["png"].read_bytes()[:4] == b"\x89PNG"


def test_missing_band_is_one_clear_error(cell9, tmp_path):
    dn, _ = monthly_dn()
    keep = [i for i, b in enumerate(BANDS9) if b != "B5"]
    cube = write_openeo(tmp_path / "no_b5.nc", np.ascontiguousarray(dn[:, keep]),
                        [f"B{BANDS9[i][1:]:0>2}" for i in keep], MONTHS)
    res = CliRunner().invoke(app, ["map", str(cell9), str(cube), "--out", str(tmp_path / "m.tif")])
    assert isinstance(res.exception, CropGlobeError)
    assert "B5 missing" in str(res.exception) and str(cube) in str(res.exception)
    assert not (tmp_path / "m.tif").exists()


@pytest.mark.parametrize("case", ["days", "scale", "no_bands", "no_crs", "two_names"])
def test_bad_openeo_cubes(case, tmp_path):
    from cropglobe.mapping import open_cube

    dn, _ = monthly_dn()
    names = [f"B{b[1:]:0>2}" for b in BANDS9]
    times, scale = MONTHS, None
    if case == "days":
        times = MONTHS + pd.Timedelta(days=4)
    path = write_openeo(tmp_path / "c.nc", dn, names, times)
    if case == "scale":
        scale = 1.0
    if case in ("no_bands", "no_crs", "two_names"):
        ds = xr.load_dataset(path, mask_and_scale=False, decode_coords=False)
        if case == "no_bands":
            ds = ds.drop_vars(names)
        elif case == "no_crs":
            ds = ds.drop_vars("crs")
            for n in ds.data_vars:
                ds[n].attrs.pop("grid_mapping", None)
        else:
            ds["S2-L2A-B02"] = ds["B02"]
        path = tmp_path / "d.nc"
        ds.to_netcdf(path)
    expect = {"days": "expected monthly", "scale": "expected reflectance 0-1", "no_bands": "one variable per band",
              "no_crs": "grid-mapping", "two_names": "both band B2"}[case]
    with pytest.raises(CropGlobeError, match=expect) as err:
        open_cube(path, scale=scale)
    assert str(path) in str(err.value)


def test_real_worldcereal_cubes(cell9, shared_data, tmp_path):
    """Map the real openEO / WorldCereal test cubes as they are (Belgium, Nov 2020 - Oct 2021; 2021)."""
    cubes = shared_data / "worldcereal_cubes"
    out = _map(cell9, cubes / "worldcereal_preprocessed_inputs.nc", tmp_path / "be.tif")
    with rasterio.open(out["classes"]) as src:
        classes = src.read(1)
        assert src.crs.to_epsg() == 32631 and (src.height, src.width) == (100, 100)
        assert tuple(src.transform)[:6] == (10.0, 0.0, 664000.0, 0.0, -10.0, 5612120.0)
        tags = src.tags()
        assert tags["SEASON_YEAR"] == "2021" and tags["COUNTRY"] == "BEL"
    with rasterio.open(out["confidence"]) as src:
        conf = src.read(1)
    mapped = classes != 255
    assert mapped.mean() > 0.99, "nearly every pixel of the real cube has clear months in May-September"
    assert np.isfinite(conf[mapped]).all() and (conf[mapped] <= 1 + 1e-6).all()
    areas = pd.read_csv(out["areas"]).set_index("class")
    assert areas["hectares"].sum() == pytest.approx(100 * 100 * 0.01)
    assert out["png"].read_bytes()[:4] == b"\x89PNG"
    other = _map(cell9, cubes / "worldcereal_inputs.nc", tmp_path / "laea.tif", "--country", "BEL")
    with rasterio.open(other["classes"]) as src:
        assert (src.height, src.width) == (15, 15) and src.crs.to_epsg() == 3035
        assert src.tags()["SEASON_YEAR"] == "2021"


def test_season_year_of_monthly_composites_counts_the_last_month_whole():
    """Nov 2020 - Oct 2021 monthly composites cover May-September and May-October 2021, not May-November."""
    from types import SimpleNamespace

    from cropglobe.mapping import locate
    from cropglobe.recipe import CompositeSettings

    times = pd.date_range("2020-11-01", periods=12, freq="MS")
    widths = times.days_in_month.to_numpy()
    for window in ("05-01:09-30", "05-01:10-31"):
        recipe = SimpleNamespace(composite=CompositeSettings(window=window, align="hemisphere"))
        assert locate.season_year(times.to_numpy("datetime64[ns]"), recipe, "BEL", 50.6, bin_days=widths) == 2021
    recipe = SimpleNamespace(composite=CompositeSettings(window="05-01:10-31", align="hemisphere"))
    with pytest.raises(CropGlobeError, match="do not cover"):  # observation dates: October 1 is the last day
        locate.season_year(times.to_numpy("datetime64[ns]"), recipe, "BEL", 50.6)
    recipe = SimpleNamespace(composite=CompositeSettings(window="05-01:11-30", align="hemisphere"))
    with pytest.raises(CropGlobeError, match="do not cover"):
        locate.season_year(times.to_numpy("datetime64[ns]"), recipe, "BEL", 50.6, bin_days=widths)


def test_year_option_overrides_and_is_checked(cell9, openeo_cubes, tmp_path):
    out = _map(cell9, openeo_cubes["zarr"], tmp_path / "y.tif", "--country", "BEL", "--year", "2023")
    with rasterio.open(out["classes"]) as src:
        assert src.tags()["SEASON_YEAR"] == "2023"
    res = CliRunner().invoke(app, ["map", str(cell9), str(openeo_cubes["zarr"]), "--out", str(tmp_path / "z.tif"),
                                   "--country", "BEL", "--year", "2024"])
    assert isinstance(res.exception, CropGlobeError) and "2024" in str(res.exception)
