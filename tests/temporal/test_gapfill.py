"""Tests of cropglobe.temporal.gapfill against numpy/xarray references."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from cropglobe.temporal import gapfill


def test_bin_members():
    index, present = gapfill.bin_members(np.array([0, 2, 7, 8, 9, 30, -1]), 5, 3)
    assert index.shape == (3, 3)
    assert index[0][present[0]].tolist() == [0, 1]
    assert index[1][present[1]].tolist() == [2, 3, 4]
    assert not present[2].any()  # day 30 and -1 fall outside 3 bins


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_nanmedian_matches_numpy(k, seed):
    rng = np.random.default_rng(seed)
    x = rng.random((50, k)).astype(np.float32)
    x[rng.random(x.shape) < 0.4] = np.nan
    with np.errstate(all="ignore"), __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore")
        expect = np.nanmedian(x, axis=-1)
    np.testing.assert_allclose(gapfill.nanmedian_last(x), expect, atol=1e-7, equal_nan=True)


def test_fill_gaps_matches_xarray_recipe():
    rng = np.random.default_rng(0)
    v = rng.random((200, 30)).astype(np.float32)
    v[rng.random(v.shape) < 0.5] = np.nan
    v[0] = np.nan  # an all-missing row stays missing
    x = np.arange(30) * 5.0
    da = xr.DataArray(v, dims=("p", "t"), coords={"t": x})
    expect = da.interpolate_na("t").bfill("t").ffill("t").values
    np.testing.assert_allclose(gapfill.fill_gaps(v, x), expect, atol=1e-6, equal_nan=True)


def test_regrid_linear_irregular():
    src = np.array([[1.0, np.nan, 3.0, 7.0]])
    xs = np.array([0.0, 10.0, 20.0, 40.0])
    out = gapfill.regrid_linear(src, xs, np.array([-5.0, 0.0, 10.0, 30.0, 50.0]))
    np.testing.assert_allclose(out[0], [1.0, 1.0, 2.0, 5.0, 7.0])


def test_fill_gaps_3d_shared_and_band_specific_gaps():
    rng = np.random.default_rng(1)
    v = rng.random((40, 4, 25)).astype(np.float32)
    cloudy = rng.random((40, 25)) < 0.5
    v[np.broadcast_to(cloudy[:, None, :], v.shape)] = np.nan  # shared gaps
    v[:5, 2, rng.random(25) < 0.3] = np.nan  # band-specific gaps in 5 samples
    v[6] = np.nan  # a sample without any value
    x = np.cumsum(rng.integers(1, 10, 25)).astype(float)  # uneven spacing
    da = xr.DataArray(v, dims=("s", "b", "t"), coords={"t": x})
    expect = da.interpolate_na("t").bfill("t").ffill("t").values
    np.testing.assert_allclose(gapfill.fill_gaps(v, x), expect, atol=1e-6, equal_nan=True)
    gaps = np.isnan(v).sum(axis=1)
    same = v.copy()
    assert gapfill.fill_gaps(same, x, gaps=gaps, inplace=True) is same
    np.testing.assert_allclose(same, expect, atol=1e-6, equal_nan=True)


def test_bin_median_pairs_and_general_paths_agree_with_numpy():
    rng = np.random.default_rng(2)
    for day in (np.r_[0, 2, 5, 7, 10, 12, 30], np.r_[0, 1, 2, 5, 6, 8, 9, 30]):  # <= 2 and 3 per bin
        v = rng.random((30, 3, day.size)).astype(np.float32)
        v[rng.random(v.shape) < 0.2] = np.nan
        valid = rng.random((30, day.size)) < 0.7
        got = gapfill.bin_median(v, valid, day, 5, 4)
        expect = np.full((30, 3, 4), np.nan, dtype=np.float32)
        for b in range(4):
            members = (day // 5) == b
            block = np.where(valid[:, None, members], v[:, :, members], np.nan)
            with np.errstate(all="ignore"), __import__("warnings").catch_warnings():
                __import__("warnings").simplefilter("ignore")
                if members.any():
                    expect[:, :, b] = np.nanmedian(block, axis=2)
        np.testing.assert_allclose(got, expect, atol=1e-7, equal_nan=True)


@pytest.mark.parametrize("days", [np.arange(0, 60, 2.5).astype(int), np.array([0, 1, 3, 7, 8, 9, 12, 20, 21, 33, 34])])
def test_bin_median_time_major_equals_bin_median(days):
    from cropglobe.temporal.gapfill import bin_median, bin_median_time_major

    rng = np.random.default_rng(4)
    values = rng.random((days.size, 3, 50)).astype(np.float32)
    values[2, 1, :5] = np.nan  # one band missing on a clear date
    valid = rng.random((days.size, 50)) > 0.4
    got = bin_median_time_major(values, valid, days, 5, 8)
    want = bin_median(np.ascontiguousarray(values.transpose(2, 1, 0)), np.ascontiguousarray(valid.T), days, 5, 8)
    np.testing.assert_array_equal(got.transpose(2, 1, 0), want)
