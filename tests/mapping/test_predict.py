"""The time-major block pipeline equals the training composite; pre-composited cubes; the distilled fast path."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import xarray as xr

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import MapOptions, make_map, prepare, write_cube
from cropglobe.mapping.predict import composite_block, reference_composite
from cropglobe.temporal import season


@pytest.fixture(scope="module")
def block(cell, cube_store):
    recipe, cube, ctx = prepare(cell, cube_store)
    refl, clear, _ = cube.source.read_raw(slice(0, 32), slice(0, 32), ctx.read_bands)  # raw, as tiles read
    t, b = refl.shape[:2]
    lat = np.linspace(50.0, 50.1, 32 * 32)
    return refl.reshape(t, b, -1), clear.reshape(t, -1), lat, ctx


def test_block_composite_equals_training_composite(block):
    refl, clear, lat, ctx = block
    values, n_clear = composite_block(refl, clear, None, lat, ctx)
    ref = reference_composite(refl, clear, None, lat, ctx)
    np.testing.assert_array_equal(n_clear, ref["n_clear"].values)
    np.testing.assert_allclose(values.transpose(2, 1, 0), ref["reflectance"].values, rtol=0, atol=1e-6, equal_nan=True)
    assert (n_clear == 0).sum() == 40  # the fully cloudy block


def test_block_composite_with_scl_codes(block):
    refl, clear, lat, ctx = block
    scl = np.where(clear >= 0.75, 4, 9).astype(np.uint8)
    scl[::7] = 8  # cloud medium probability on some dates
    values, n_clear = composite_block(refl, None, scl, lat, ctx)
    ref = reference_composite(refl, None, scl, lat, ctx)
    np.testing.assert_array_equal(n_clear, ref["n_clear"].values)
    np.testing.assert_allclose(values.transpose(2, 1, 0), ref["reflectance"].values, rtol=0, atol=1e-6, equal_nan=True)


def _precomposited(sim_cube, block, doy: bool) -> xr.Dataset:
    refl, clear, lat, ctx = block
    cube = sim_cube[0]
    values, _ = composite_block(refl, clear, None, lat, ctx)
    start, days = season.axis(5)
    time = (
        start if doy else (np.datetime64("2023-01-01") + (start - 1).astype("timedelta64[D]")).astype("datetime64[ns]")
    )
    ds = xr.Dataset({"reflectance": (("time", "band", "y", "x"), values.reshape(len(start), -1, 32, 32))},
                    coords={"time": time, "bin_days": ("time", days), "band": ctx.read_bands,
                            "y": cube["y"].values, "x": cube["x"].values},
                    attrs={"simulated": 1, **({"year": 2023} if doy else {})})
    return ds.rio.write_crs(cube.rio.crs).rio.write_transform(cube.rio.transform())


@pytest.mark.parametrize("doy", [False, True])
def test_precomposited_cube_maps_like_the_observations(cell, sim_cube, block, cube_store, tmp_path, doy):
    store = write_cube(_precomposited(sim_cube, block, doy), tmp_path / "comp.zarr")
    a = make_map(cell, store, tmp_path / "comp.tif", MapOptions(scheduler="synchronous", country="FRA"))
    b = make_map(cell, cube_store, tmp_path / "obs.tif", MapOptions(scheduler="synchronous", country="FRA"))
    with rasterio.open(a.paths["classes"]) as ra, rasterio.open(b.paths["classes"]) as rb:
        got, want = ra.read(1), rb.read(1)
    cloudy = want == 255
    assert (got[~cloudy] == want[~cloudy]).all()
    assert (got[cloudy] == 255).all()  # all-NaN composite: nodata


def test_precomposited_doy_without_year_is_an_error(cell, sim_cube, block, tmp_path):
    ds = _precomposited(sim_cube, block, doy=True)
    del ds.attrs["year"]
    store = write_cube(ds, tmp_path / "comp.zarr")
    with pytest.raises(CropGlobeError, match="no 'year' attribute"):
        make_map(cell, store, tmp_path / "out" / "m.tif", MapOptions(scheduler="synchronous"))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("min_clear", "margin"), [(1, 6), (3, 6), (1, 0), (3, 2)])
def test_window_block_equals_the_full_composite_window(block, min_clear, margin):
    import dataclasses

    from cropglobe.mapping.predict import window_block

    refl, clear, lat, ctx = block
    ctx = dataclasses.replace(ctx, min_clear=min_clear)
    refl = refl.copy()
    refl[40:44, 3, 100:140] = ctx.decoding.nodata  # one band missing on some clear dates: bands with different gaps
    start, count = ctx.recipe.window_bins
    first = np.flatnonzero(np.abs(ctx.times.astype("datetime64[D]") - np.datetime64("2023-05-03")) <= 2)
    clear = clear.copy()
    clear[first, 200:400] = 0.0  # window's first bin cloudy: interpolation reaches outside the window
    values, n_clear = composite_block(refl, clear, None, lat, ctx)
    win, n_win, filled = window_block(refl, clear, None, lat, ctx, margin)
    np.testing.assert_array_equal(n_win, n_clear)
    ok = n_clear >= min_clear
    np.testing.assert_array_equal(filled[ok], ~np.isnan(values).any(axis=(0, 1))[ok])
    # float32 vs float64 interpolation where a pixel's bands differ in gaps only outside the window
    win = win.transpose(2, 1, 0)  # sample-major -> (count, band, P) as composite_block
    np.testing.assert_allclose(win[:, :, ok], values[start:start + count][:, :, ok], rtol=0, atol=1e-6)
    assert not np.isnan(win[:, :, ok & filled]).any()


def test_used_dates_leave_the_composite_unchanged(block):
    import dataclasses

    from cropglobe.mapping.predict import used_dates

    refl, clear, lat, ctx = block
    dates = used_dates(ctx, lat)
    values, n_clear = composite_block(refl, clear, None, lat, ctx)
    sub = dataclasses.replace(ctx, times=ctx.times[dates])
    got, got_n = composite_block(refl[dates], clear[dates], None, lat, sub)
    np.testing.assert_array_equal(got_n, n_clear)
    np.testing.assert_array_equal(got, values)
    assert dates.stop < ctx.times.size  # the cube runs into the next year: those dates are skipped
