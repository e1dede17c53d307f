"""Tests of cropglobe.gapfill against numpy/xarray references."""

from __future__ import annotations

import numpy as np
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from cropglobe import gapfill


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
