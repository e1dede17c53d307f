"""Presto inputs from composites: months, normalisation, masks, month index and location."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from cropglobe.errors import CropGlobeError
from cropglobe.features.presto.encoder import CHANNELS
from cropglobe.features.presto.inputs import build_inputs, month_of_day, monthly
from cropglobe.sources import simulate
from cropglobe.temporal import composite, season


@pytest.fixture(scope="module")
def window() -> xr.Dataset:
    ds = simulate.simulate(["FRA", "AUS"], samples_per_class=2, seed=4)
    return season.season(composite.composite(ds))


def test_month_of_day_and_monthly_means():
    assert month_of_day(np.array([1, 31, 32, 59, 60, 365, 366])).tolist() == [1, 1, 2, 2, 3, 12, 1]
    time = np.array([26, 31, 56, 61])   # 5-day bins centred on Jan 28, Feb 2, Feb 27, Mar 3
    values = np.array([[[1.0, 2.0, np.nan, 5.0]]], dtype=np.float32)
    out, months = monthly(values, time, np.full(4, 5))
    assert months.tolist() == [1, 2, 3]
    assert out[0, 0].tolist() == [1.0, 2.0, 5.0]   # February: the NaN bin is ignored


def test_s2_window_becomes_monthly_masked_inputs(window):
    inp = build_inputs(window)
    n = window.sizes["sample"]
    assert inp.x.shape == (n, 7, 17) and inp.months.tolist() == [5, 6, 7, 8, 9, 10, 11]
    absent = [CHANNELS.index(c) for c in ("VV", "VH", "temperature_2m", "total_precipitation", "elevation", "slope")]
    assert inp.mask[:, :, absent].all() and not inp.mask[:, :, 2:12].any() and not inp.mask[:, :, 16].any()
    assert (inp.x[:, :, absent] == 0).all()
    # S2 reflectance is Presto's DN / 10000; the June step is the mean of June's bins
    refl = window["reflectance"].sel(band="B4").values
    june = (window["time"].values + 2 >= 152) & (window["time"].values + 2 < 182)
    np.testing.assert_allclose(inp.x[:, 1, CHANNELS.index("B4")], refl[:, june].mean(1), rtol=1e-5)
    b8, b4 = inp.x[..., CHANNELS.index("B8")], inp.x[..., CHANNELS.index("B4")]
    np.testing.assert_allclose(inp.x[..., 16], (b8 - b4) / (b8 + b4), rtol=1e-5)
    # hemisphere alignment: a southern sample's aligned May is November (month index 10)
    south = window["shift_days"].values == 182
    assert south.any() and (~south).any()
    assert (inp.month[~south, 0] == 4).all() and (inp.month[south, 0] == 10).all()
    assert (inp.month[south, -1] == 4).all()
    np.testing.assert_allclose(inp.latlon[:, 0], window["lat"].values, rtol=1e-6)
    assert not inp.latlon_mask.any() and build_inputs(window, latlon=False).latlon_mask.all()


def test_missing_bands_months_and_coordinates_are_masked(window):
    ds = window.drop_sel(band=["B8A", "B8"]).copy(deep=True)
    ds["reflectance"][0, :, :8] = np.nan                 # sample 0 has no May data at all
    ds = ds.assign_coords(lat=("sample", np.where(np.arange(ds.sizes["sample"]) == 1, np.nan, ds["lat"].values)))
    inp = build_inputs(ds)
    assert inp.mask[:, :, CHANNELS.index("B8A")].all() and inp.mask[:, :, CHANNELS.index("B8")].all()
    assert inp.mask[:, :, 16].all()                      # NDVI needs B8
    assert inp.mask[0, 0, 2:12].all() and not inp.mask[0, 1, 2].any() and not inp.mask[1, 0, 2]
    assert inp.latlon_mask.tolist()[:3] == [False, True, False]
    assert "B8A" not in inp.present and "NDVI" not in inp.present


def test_inputs_that_presto_cannot_read_are_clear_errors(window, tiny_observations):
    with pytest.raises(CropGlobeError, match="expected a composite SampleSet"):
        build_inputs(tiny_observations)
    other = window.assign_coords(
        band=["MIR", "SWIR1", "SWIR2", "EVI", "GCVI", "LSWI", "SAVI", "NDWI", "NDRE", "R0550.3"]
    )
    with pytest.raises(CropGlobeError, match="is a Presto channel"):
        build_inputs(other)
    bare = window.drop_vars(["lat", "lon"])
    with pytest.raises(CropGlobeError, match="no lat/lon coordinates but latlon=True"):
        build_inputs(bare)
    assert build_inputs(bare, latlon=False).latlon_mask.all()
