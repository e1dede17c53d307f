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


def _aligned_block(block, seed: int, scl: bool):
    """A raw uint16 block (DN, 0 = nodata) on the recipe's aligned 5-day bins, with gaps of every kind."""
    import dataclasses

    from cropglobe.mapping.cube import Decoding

    _, _, lat, ctx = block
    start, days = season.axis(5)
    rng = np.random.default_rng(seed)
    t, b, p = start.size, len(ctx.read_bands), lat.size
    refl = rng.integers(1, 6000, size=(t, b, p)).astype(np.uint16)
    w0, count = ctx.recipe.window_bins
    refl[w0 + 3, 2, 10:60] = 0  # one band missing in a window bin
    refl[:, :, 70:80] = 0  # pixels without any value
    refl[w0 + 5:w0 + 9, :, 90:95] = 0  # a gap of four window bins
    refl[: w0 + 2, :, 100:110] = 0  # nothing before the window's third bin: nearest value at the edge
    refl[:, 4][rng.random((t, p)) < 0.02] = 0  # scattered missing values of one band (a view)
    clear = rng.random((t, p)).astype(np.float32)
    clear[:, 200:] = 1.0  # most pixels clear throughout: the direct path
    codes = np.where(rng.random((t, p)) < 0.05, 9, 4).astype(np.uint8) if scl else None
    times = (np.datetime64("2023-01-01") + (start - 1).astype("timedelta64[D]")).astype("datetime64[ns]")
    ctx = dataclasses.replace(ctx, times=times, bin_days=days.astype(np.float64),
                              decoding=Decoding(scale=1e-4, nodata=0))
    return refl, clear, codes, lat, ctx


@pytest.mark.parametrize(("seed", "scl", "min_clear"), [(0, False, 3), (1, True, 3), (2, True, 1)])
def test_precomposited_window_equals_the_regridded_window(block, seed, scl, min_clear):
    """On the aligned bins the window is decoded straight for clear pixels: bit for bit the full re-gridding's."""
    import dataclasses

    from cropglobe.mapping.predict import window_block

    refl, clear, codes, lat, ctx = _aligned_block(block, seed, scl)
    ctx = dataclasses.replace(ctx, min_clear=min_clear)
    start, count = ctx.recipe.window_bins
    values, n_clear = composite_block(refl, clear, codes, lat, ctx)
    win, n_win, filled = window_block(refl, clear, codes, lat, ctx)
    np.testing.assert_array_equal(n_win, n_clear)
    ok = n_clear >= min_clear
    assert 0 < ok.sum() < ok.size
    np.testing.assert_array_equal(filled[ok], ~np.isnan(values).any(axis=(0, 1))[ok])
    np.testing.assert_array_equal(win.transpose(2, 1, 0)[:, :, ok], values[start:start + count][:, :, ok])


def test_precomposited_window_off_the_bins_regrids_the_year(block):
    """Dekadal steps (not the aligned bins) take the full year's re-gridding: the same window."""
    import dataclasses

    from cropglobe.mapping.predict import window_block

    refl, clear, _, lat, ctx = _aligned_block(block, 3, False)
    times = np.arange(np.datetime64("2023-01-01"), np.datetime64("2024-01-01"), np.timedelta64(10, "D"))
    ctx = dataclasses.replace(ctx, times=times.astype("datetime64[ns]"), bin_days=np.full(times.size, 10.0))
    refl, clear = refl[: times.size], clear[: times.size]
    start, count = ctx.recipe.window_bins
    values, n_clear = composite_block(refl, clear, None, lat, ctx)
    win, n_win, filled = window_block(refl, clear, None, lat, ctx)
    np.testing.assert_array_equal(n_win, n_clear)
    np.testing.assert_array_equal(filled, ~np.isnan(values).any(axis=(0, 1)))
    np.testing.assert_array_equal(win.transpose(2, 1, 0), values[start:start + count])


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
