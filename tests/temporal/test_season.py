"""Tests of cropglobe.temporal.season: window parsing, axes, window bins and alignment shifts."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.sources import simulate
from cropglobe.temporal import season


def test_parse_window_and_axis():
    assert season.parse_window("05-01:11-30") == (121, 334)
    start, width = season.axis(5)
    assert start.size == 73 and start[-1] == 361 and width.sum() == 365
    start, width = season.axis(10)
    assert start.size == 37 and width[-1] == 5
    assert season.bins_of_window(*season.axis(5), "05-01:11-30") == (24, 43)
    assert season.bins_of_window(*season.axis(10), "05-01:11-30") == (12, 22)


@pytest.mark.parametrize(("text", "match"), [
    ("May-Nov", "expected 'MM-DD:MM-DD'"),
    ("02-30:11-30", "02-30 is not a date"),
    ("11-01:03-31", "crosses the end of the aligned year"),
])
def test_bad_windows(text, match):
    with pytest.raises(CropGlobeError, match=match):
        season.parse_window(text)


@pytest.mark.parametrize("interval", [0, -1, 2.5, True, 400])
def test_bad_interval(interval):
    with pytest.raises(CropGlobeError, match="interval="):
        season.axis(interval)


def test_sample_shifts_hemisphere_and_offsets():
    ds = simulate.simulate(countries=["FRA", "AUS"], samples_per_class=1, seed=0)
    shifts, label = season.sample_shifts(ds, "hemisphere")
    south = ds["country"].values == "AUS"
    assert (shifts[south] == 182).all() and (shifts[~south] == 0).all() and "hemisphere" in label
    shifts, label = season.sample_shifts(ds, "none", {"AUS": -30})
    assert (shifts[south] == -30).all() and (shifts[~south] == 0).all() and "AUS -30 days" in label
    assert (season.sample_shifts(ds, -7)[0] == -7).all()
    with pytest.raises(CropGlobeError, match="not a whole number of days"):
        season.sample_shifts(ds, "none", {"AUS": 1.5})


def test_window_bins_needs_composite():
    ds = simulate.simulate(countries=["FRA"], samples_per_class=1, seed=0)
    with pytest.raises(CropGlobeError, match="expected a composite SampleSet"):
        season.window_bins(ds)
    assert np.issubdtype(ds["time"].dtype, np.datetime64)
