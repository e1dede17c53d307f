"""Tests for study data preparation: mixed temporal layouts and per-sample season coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cropglobe import experiment, samples
from cropglobe.errors import CropGlobeError
from cropglobe.experiment.data import prepare_study
from cropglobe.sources import simulate
from cropglobe.temporal import composite
from cropglobe.temporal.settings import CompositeSettings


def _monthly(obs, country: str, months: pd.DatetimeIndex, prefix: str):
    """Monthly composites (medians of the observations of each month) as a dated composite set."""
    days = pd.DatetimeIndex(obs["time"].values)
    refl = obs["reflectance"].values
    out = np.full(refl.shape[:2] + (len(months),), np.nan, np.float32)
    for j, m in enumerate(months):
        inside = (days >= m) & (days < m + pd.offsets.MonthBegin(1))
        if inside.any():
            out[:, :, j] = np.nanmedian(refl[:, :, inside], axis=2)
    return samples.build(
        samples.SampleArrays(out, bands=list(obs["band"].values), time=months.to_numpy("datetime64[ns]"),
        sample_id=[f"{prefix}{i}" for i in range(obs.sizes["sample"])], label=obs["label"].values,
        country=country, year=obs["year"].values, lon=obs["lon"].values, lat=obs["lat"].values,
        bin_days=months.days_in_month.to_numpy()), attrs={"simulated": True, "source": "monthly test set"})


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """SIMULATED: FRA as observations, BEL as monthly composites (two time layouts)."""
    root = tmp_path_factory.mktemp("mixed")
    obs = simulate.simulate(["FRA", "BEL"], samples_per_class=4, seed=3)
    fra = samples.select(obs, country="FRA")
    bel = samples.select(obs, country="BEL")
    months = pd.date_range("2023-01-01", "2023-12-01", freq="MS")
    bel_monthly = _monthly(bel, "BEL", months, "bel-")
    samples.save(fra, root / "fra.zarr")
    samples.save(bel_monthly, root / "bel.zarr")
    return root, fra, bel_monthly


def _spec(root, **composite_options):
    return experiment.parse_spec({
        "name": "mixed", "data": {"path": [str(root / "fra.zarr"), str(root / "bel.zarr")]},
        "composite": {"interval": 5, "window": "05-01:09-30", "align": "none", **composite_options},
        "sources": ["FRA"], "targets": ["BEL"],
        "cells": [{"feature": "median1d", "model": "rf"}], "seeds": [0],
    })


def test_parts_with_different_time_steps_join_on_one_axis(mixed):
    root, fra, bel = mixed
    prep = prepare_study(_spec(root))
    full = prep.full
    assert full.sizes["time"] == 73 and set(full["country"].values) == {"FRA", "BEL"}
    # each part equals its own composite: the join changes nothing
    for part in (fra, bel):
        alone = composite.composite(part, CompositeSettings(interval=5, window="05-01:09-30", align="none"))
        sel = full.sel(sample=np.isin(full["sample_id"].values, alone["sample_id"].values))
        np.testing.assert_array_equal(sel["reflectance"].values, alone["reflectance"].values)
    assert prep.window == composite.window_bins(full)
    assert "5-day" not in full.attrs["regridded_from"] and "observations" in full.attrs["regridded_from"]


def test_samples_not_covering_the_window_are_dropped_per_country(mixed, tmp_path):
    root, _, bel = mixed
    # five BEL samples whose series end in July (a short extraction): they cannot cover May-Sep
    short = bel.copy(deep=True)
    refl = short["reflectance"].values
    late = pd.DatetimeIndex(short["time"].values) >= pd.Timestamp("2023-08-01")
    refl[:5, :, late] = np.nan
    short["reflectance"].values[:] = refl
    samples.save(short, tmp_path / "bel.zarr")
    samples.save(samples.load(root / "fra.zarr"), tmp_path / "fra.zarr")
    prep = prepare_study(_spec(tmp_path))
    assert prep.full.attrs["dropped_coverage"] == {"BEL": 5}
    assert (prep.full["country"].values == "BEL").sum() == short.sizes["sample"] - 5
    assert "BEL 5 not covering the window" in prep.description
    with pytest.raises(CropGlobeError, match=r"lies outside the data's dates for 5 of .*BEL 5.*coverage='drop'"):
        prepare_study(_spec(tmp_path, coverage="error"))


def test_a_country_left_empty_is_one_clear_error(mixed, tmp_path):
    root, _, bel = mixed
    early = bel.sel(time=bel["time"] < np.datetime64("2023-07-01"))
    samples.save(early, tmp_path / "bel.zarr")
    samples.save(samples.load(root / "fra.zarr"), tmp_path / "fra.zarr")
    with pytest.raises(CropGlobeError, match=r"lies outside the data's dates for every sample \(BEL 28\)"):
        prepare_study(_spec(tmp_path))
    # one table, two countries: the NLD samples end in June, so NLD is left empty
    two = bel.copy(deep=True)
    nld = np.arange(two.sizes["sample"]) < 8
    two = two.assign_coords(country=("sample", np.where(nld, "NLD", "BEL")))
    june = pd.DatetimeIndex(two["time"].values) >= pd.Timestamp("2023-07-01")
    two["reflectance"].values[np.ix_(nld, np.ones(two.sizes["band"], bool), june)] = np.nan
    samples.save(two, tmp_path / "two.zarr")
    spec = _spec(tmp_path)
    spec.data.path = [str(tmp_path / "fra.zarr"), str(tmp_path / "two.zarr")]
    spec.targets = ["BEL", "NLD"]
    with pytest.raises(CropGlobeError, match=r"country NLD has no samples left after compositing \(8 dropped because "
                                             r"their data do not cover the season window, 0 with too few clear"):
        prepare_study(spec)


def test_coverage_uses_the_width_of_coarse_steps():
    starts = np.array(["2023-05-01", "2023-06-01", "2023-09-01"], dtype="datetime64[D]")
    ends = starts + np.array([30, 29, 29]).astype("timedelta64[D]")
    has = np.array([[True, True, True], [False, True, True], [True, True, False]])
    got = composite.covers_window(has, starts, ends, np.datetime64("2023-05-01"), np.datetime64("2023-09-30"))
    assert got.tolist() == [True, False, False]
    # observations (no width): one bin's tolerance at each edge
    obs = np.array(["2023-05-04", "2023-09-27"], dtype="datetime64[D]")
    both = np.array([[True, True]])
    assert composite.covers_window(both, obs, obs, np.datetime64("2023-05-01"), np.datetime64("2023-09-30"), 4)[0]
    assert not composite.covers_window(both, obs, obs, np.datetime64("2023-05-01"), np.datetime64("2023-09-30"), 2)[0]


def test_open_set_placeholders_are_refused_for_tabular_models_before_training():
    from cropglobe.experiment.data import check_cells
    from cropglobe.study.spec import CellSpec

    check_cells([CellSpec(feature="median2d", model="tempcnn", augmentation="season-wide-open")])
    with pytest.raises(CropGlobeError, match="'unknowns' .* trains torch models only"):
        check_cells([CellSpec(feature="median1d", model="rf", augmentation="season-wide-open", copies=2)])
