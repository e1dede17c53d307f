"""Tests of cropglobe.temporal.composite: bins, gap filling, hemisphere alignment, coarse input, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cropglobe import samples
from cropglobe.errors import CropGlobeError
from cropglobe.features import indices
from cropglobe.sources import simulate
from cropglobe.temporal import composite as C
from cropglobe.temporal import season
from cropglobe.temporal.settings import CompositeSettings


@pytest.fixture(scope="module")
def sim():
    """SIMULATED: FRA (north) plus ARG and AUS (south), 8 samples per class."""
    return simulate.simulate(countries=["FRA", "ARG", "AUS"], samples_per_class=8, seed=3)


def _obs(values, dates, clear=None, scl=None, country="FRA", year=2023, lat=45.0):
    """Observation-level set from a (N, B, T) array (bands B2.. in order)."""
    values = np.asarray(values, dtype=np.float32)
    n, nb, _ = values.shape
    return samples.build(
        samples.SampleArrays(values,
        bands=list(simulate.load_params().bands[:nb]),
        time=np.asarray(dates, "datetime64[ns]"),
        sample_id=[f"s{i}" for i in range(n)],
        label=["corn"] * n,
        country=country,
        year=year,
        lat=np.full(n, lat),
        lon=np.zeros(n),
        clear=clear,
        scl=scl),
    )


def test_simulated_full_year_and_window(sim):
    c = C.composite(sim)
    assert c.sizes["time"] == 73 and c.attrs["time_kind"] == "composite"
    assert c["time"].values[:3].tolist() == [1, 6, 11] and (c["bin_days"].values == 5).all()
    assert C.window_bins(c) == (24, 43)
    s = C.season(c)
    assert s.sizes["time"] == 43 and s["time"].values[0] == 121
    assert not np.isnan(c["reflectance"].values).any()
    assert c.attrs["simulated"] is True and c.attrs["season_window"] == "05-01:11-30"
    south = np.isin(c["country"].values, ["ARG", "AUS"])
    assert (c["shift_days"].values[south] == season.HEMISPHERE_SHIFT_DAYS).all()
    assert (c["shift_days"].values[~south] == 0).all()
    assert ((c["filled_fraction"].values >= 0) & (c["filled_fraction"].values < 1)).all()
    assert c.attrs["dropped_samples"] == 0


def _peak_bin(c, iso, cls):
    """Centre of the NDVI peak: midway between the half-maximum crossings of the median NDVI."""
    ndvi = indices.index(c, "NDVI")
    rows = (c["country"].values == iso) & (c["label"].values == cls)
    curve = np.median(ndvi[rows], axis=0)
    top = int(np.argmax(curve))
    half = (curve.max() + curve.min()) / 2
    above = curve >= half
    lo = top - int(np.argmin(above[top::-1])) if not above[: top + 1].all() else 0
    hi = top + int(np.argmin(above[top:])) if not above[top:].all() else curve.size
    return (lo + hi) / 2


@pytest.mark.parametrize(("south", "cls"), [("ARG", "corn"), ("AUS", "cotton")])
def test_hemisphere_alignment_lines_up_peaks(sim, south, cls):
    """After alignment only the simulator's country shift (planting offset, season length) is left."""
    prof, fra = simulate.load_params().countries[south], simulate.load_params().countries["FRA"]
    residual_days = abs(prof.planting_offset - fra.planting_offset) + abs(prof.season_length - 1.0) * 100
    aligned = C.composite(sim, CompositeSettings(align="hemisphere"))
    assert abs(_peak_bin(aligned, south, cls) - _peak_bin(aligned, "FRA", cls)) <= residual_days / 5 + 2
    raw = C.composite(sim, CompositeSettings(align="none"))
    assert abs(_peak_bin(raw, south, cls) - _peak_bin(raw, "FRA", cls)) >= 25


def test_hemisphere_alignment_exact_without_country_shifts():
    """SIMULATED with the southern countries' planting offset and season length set to FRA's."""
    params = simulate.load_params().model_copy(deep=True)
    fra = params.countries["FRA"]
    for iso in ("ARG", "AUS"):
        params.countries[iso] = params.countries[iso].model_copy(
            update={"planting_offset": fra.planting_offset, "season_length": fra.season_length})
    ds = simulate.simulate(countries=["FRA", "ARG", "AUS"], samples_per_class=8, seed=6, params=params)
    aligned = C.composite(ds, CompositeSettings(align="hemisphere"))
    assert abs(_peak_bin(aligned, "ARG", "corn") - _peak_bin(aligned, "FRA", "corn")) <= 1
    assert abs(_peak_bin(aligned, "AUS", "cotton") - _peak_bin(aligned, "FRA", "cotton")) <= 1


def test_southern_window_uses_two_calendar_years(sim):
    arg = samples.select(sim, country="ARG")
    # the aligned window of a 2023 southern sample ends in May 2024: dropping 2024 breaks it
    only_2023 = arg.sel(time=arg["time"] < np.datetime64("2024-01-01"))
    with pytest.raises(CropGlobeError, match=r"outside the data's dates.*ARG.*next calendar year"):
        C.composite(only_2023, CompositeSettings(align="hemisphere"))
    c = C.composite(arg, CompositeSettings(align="hemisphere"))
    start, count = C.window_bins(c)
    # values in the last window bin come from 2024 dates: they equal the median of those dates
    last = c["time"].values[start + count - 1]
    first_day = np.datetime64("2023-01-01") + np.timedelta64(182 + int(last) - 1, "D")
    assert str(first_day).startswith("2024-05")
    days = arg["time"].values.astype("datetime64[D]")
    in_bin = (days >= first_day) & (days < first_day + np.timedelta64(5, "D"))
    ok = C.clear_mask(arg) & in_bin[None, :]
    i = int(np.flatnonzero(ok.any(axis=1))[0])  # a sample seen clear in that bin
    expect = np.median(arg["reflectance"].values[i][:, ok[i]], axis=1)
    np.testing.assert_allclose(c["reflectance"].values[i, :, start + count - 1], expect, atol=1e-6)


def test_median_and_linear_gap_fill_exact():
    dates = np.datetime64("2023-01-01") + np.array([0, 2, 3, 10, 364]).astype("timedelta64[D]")
    v = np.array([[[0.1, 0.3, 0.2, 0.5, 0.9]]])
    clear = np.array([[1.0, 1.0, 0.2, 1.0, 1.0]])  # the third observation is cloudy
    c = C.composite(_obs(v, dates, clear=clear), CompositeSettings(align="none", window="01-01:12-31", min_clear=1))
    r = c["reflectance"].values[0, 0]
    assert r[0] == pytest.approx(0.2)  # median of 0.1 and 0.3 (0.2 cloudy excluded)
    assert r[1] == pytest.approx(0.35)  # bin 2 (days 5-9) empty: halfway between bins 1 and 3
    assert r[2] == pytest.approx(0.5)
    assert r[72] == pytest.approx(0.9)
    assert r[40] == pytest.approx(0.5 + (0.9 - 0.5) * (40 - 2) / 70, abs=1e-6)
    assert c["filled_fraction"].values[0] == pytest.approx(70 / 73)
    assert c["n_clear"].values[0] == 4


def test_scl_codes_and_boolean_mask():
    dates = np.datetime64("2023-05-01") + np.arange(0, 40, 5).astype("timedelta64[D]")
    v = np.full((1, 2, 8), 0.2)
    v[0, :, 3] = 0.9  # a cloud
    scl = np.array([[4, 5, 6, 9, 4, 4, 4, 4]])
    c = C.composite(_obs(v, dates, scl=scl), CompositeSettings(align="none", window="05-01:05-31", min_clear=1))
    assert np.allclose(c["reflectance"].values, 0.2)
    mask = np.array([[True, True, True, False, True, True, True, True]])
    c2 = C.composite(_obs(v, dates, clear=mask), CompositeSettings(align="none", window="05-01:05-31", min_clear=1))
    assert np.allclose(c2["reflectance"].values, 0.2)


def test_min_clear_drops_and_reports():
    dates = np.datetime64("2023-01-01") + np.arange(0, 365, 5).astype("timedelta64[D]")
    v = np.full((3, 1, dates.size), 0.3)
    clear = np.ones((3, dates.size))
    clear[1, 25:] = 0.0  # sample s1 has nothing clear after mid-May
    c = C.composite(_obs(v, dates, clear=clear), CompositeSettings(align="none", min_clear=5))
    assert c.sizes["sample"] == 2 and c.attrs["dropped_samples"] == 1
    assert c.attrs["dropped_sample_ids"] == ["s1"]


def test_offsets_and_explicit_days(sim, tmp_path):
    path = tmp_path / "offsets.yaml"
    path.write_text("AUS: 170\n")
    c = C.composite(sim, CompositeSettings.model_construct(align="hemisphere", offsets=path))
    assert (c["shift_days"].values[c["country"].values == "AUS"] == 170).all()
    assert (c["shift_days"].values[c["country"].values == "ARG"] == 182).all()
    fra = samples.select(sim, country="FRA")
    c10 = C.composite(fra, CompositeSettings(align="10"))
    assert (c10["shift_days"].values == 10).all() and "10 days" in c10.attrs["alignment"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("XXX: 3\n")
    with pytest.raises(CropGlobeError, match="bad.yaml: key 'XXX'"):
        C.composite(fra, CompositeSettings.model_construct(offsets=bad))


def test_other_intervals():
    dates = np.datetime64("2023-01-01") + np.arange(0, 365, 3).astype("timedelta64[D]")
    v = np.linspace(0.1, 0.5, dates.size)[None, None, :]
    c = C.composite(_obs(v, dates), CompositeSettings(interval=10, align="none", min_clear=1))
    assert c.sizes["time"] == 37 and c["bin_days"].values[-1] == 5 and C.window_bins(c) == (12, 22)
    c1 = C.composite(_obs(v, dates), CompositeSettings(interval=1, align="none", min_clear=1))
    assert c1.sizes["time"] == 365


def test_bad_inputs(sim):
    fra = samples.select(sim, country="FRA")
    with pytest.raises(CropGlobeError, match="interval=0"):
        C.composite(fra, CompositeSettings.model_construct(interval=0))
    with pytest.raises(CropGlobeError, match="interval=-5"):
        C.composite(fra, CompositeSettings.model_construct(interval=-5))
    with pytest.raises(CropGlobeError, match="no clear observations at all"):
        C.composite(fra.assign(clear=fra["clear"] * 0.0))
    jan = fra.sel(time=fra["time"] < np.datetime64("2023-03-01"))
    with pytest.raises(CropGlobeError, match=r"season window 05-01:11-30 lies outside the data's dates"):
        C.composite(jan)
    shuffled = fra.isel(time=np.r_[1, 0, 2:fra.sizes["time"]])
    with pytest.raises(CropGlobeError, match="not strictly increasing at time index 1"):
        C.composite(shuffled)
    with pytest.raises(CropGlobeError, match="crosses the end of the aligned year"):
        C.composite(fra, CompositeSettings(window="11-01:03-31"))
    with pytest.raises(CropGlobeError, match="align='north'"):
        C.composite(fra, CompositeSettings(align="north"))
    with pytest.raises(CropGlobeError, match="every one of the"):
        C.composite(fra, CompositeSettings(min_clear=10_000))


def test_coarse_input_regridded():
    dekads = pd.date_range("2022-12-01", "2024-01-31", freq="10D").values.astype("datetime64[D]")
    doy = (dekads - np.datetime64("2023-01-01")).astype(float) + 5.0  # centre of each 10-day step
    v = (0.2 + 0.001 * doy)[None, None, :].astype(np.float32)
    ds = samples.build(samples.SampleArrays(np.repeat(v, 2, axis=0), bands=["B2"], time=dekads.astype("datetime64[ns]"),
                       sample_id=["a", "b"], label=["corn", "wheat"], country="FRA", year=2023, bin_days=10))
    assert ds.attrs["time_kind"] == "composite"
    c = C.composite(ds, CompositeSettings(interval=5, align="none"))
    centre = c["time"].values - 1 + 2.5
    np.testing.assert_allclose(c["reflectance"].values[0, 0], 0.2 + 0.001 * centre, atol=1e-6)
    assert "10-day composites" in c.attrs["regridded_from"]


def test_zarr_round_trip(sim, tmp_path):
    c = C.composite(samples.select(sim, country="FRA"))
    back = samples.load(samples.save(c, tmp_path / "c.zarr"))
    assert C.window_bins(back) == (24, 43)
    np.testing.assert_array_equal(back["shift_days"].values, c["shift_days"].values)


def test_worldcereal_dekadal_onto_5_and_10_days(shared_data):
    root = shared_data / "worldcereal_extractions" / "worldcereal-classification"
    d = pd.read_parquet(root / "2023_FRA_LPIS_POLY_110_dekad.geoparquet")
    names = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
    cols = [f"S2-L2A-{b}" for b in names]
    cube = d.pivot_table(index="sample_id", columns="timestamp", values=cols)[cols]
    x = cube.to_numpy(dtype=float, copy=True).reshape(len(cube), len(cols), -1)
    stamps = pd.DatetimeIndex(cube.columns.get_level_values(1).unique())
    ends = np.where(stamps.day < 21, stamps + pd.Timedelta(days=10), stamps + pd.offsets.MonthBegin(1))
    bin_days = (pd.DatetimeIndex(ends) - stamps).days.to_numpy()
    x[x == 65535] = np.nan
    has_data = ~np.isnan(x).all(axis=(0, 2))  # B8A is nodata throughout this file
    meta = d.groupby("sample_id").first().loc[cube.index]
    ds = samples.build(
        samples.SampleArrays(x[:, has_data] * 1e-4,
        bands=[n for n, k in zip(names, has_data, strict=True) if k],
        time=stamps.values,
        sample_id=cube.index,
        label=["other"] * len(cube),
        country="FRA",
        year=meta["year"].to_numpy(),
        lon=meta["lon"].to_numpy(),
        lat=meta["lat"].to_numpy(),
        bin_days=bin_days),
    )
    for interval, bins, window in ((5, 73, 43), (10, 37, 22)):
        c = C.composite(ds, CompositeSettings(interval=interval))
        assert c.sizes["time"] == bins and C.window_bins(c)[1] == window
        assert c.sizes["sample"] + c.attrs["dropped_samples"] == len(cube)
        assert not np.isnan(c["reflectance"].values).any()
        assert "10-day composites" in c.attrs["regridded_from"]
        # interpolation stays within the range of the source values
        assert np.nanmin(ds["reflectance"].values) - 1e-6 <= c["reflectance"].values.min()
        assert c["reflectance"].values.max() <= np.nanmax(ds["reflectance"].values) + 1e-6


def test_benchmark_plumbing_and_agreement():
    """The composite benchmark runs (quick) and agrees with the xarray recipe (no timing asserted)."""
    from cropglobe import bench

    out = bench.discover()["composite"].module.run(quick=True)
    assert out["ratio"] > 0 and out["figures"]["bins"] == 73
    assert out["figures"]["max_abs_difference"] <= 1e-6 and out["figures"]["cells_defined_only_in_one"] == 0


def _short_series(end_days: list[int], start_days: list[int] | None = None, coarse: bool = False):
    """Tiny set: one sample per entry, a ramp every 5 days (10 for ``coarse``, dekads) of 2023 that starts
    ``start_days`` after 1 May and stops ``end_days`` before 30 November (the default window's edges)."""
    step = 10 if coarse else 5
    dates = np.arange(np.datetime64("2023-01-01"), np.datetime64("2024-01-01"), step)
    values = np.tile(np.linspace(0.1, 0.5, dates.size, dtype=np.float32), (len(end_days), 2, 1))
    starts = start_days or [0] * len(end_days)
    for i, (s, e) in enumerate(zip(starts, end_days, strict=True)):
        last = (dates + (step - 1 if coarse else 0) > np.datetime64("2023-11-30") - e) & (e > 0)
        first = (dates < np.datetime64("2023-05-01") + s) & (s > 0)
        values[i][:, last | first] = np.nan
    ds = _obs(values, dates)
    if coarse:
        ds = ds.assign_coords(bin_days=("time", np.full(dates.size, step)))
        ds.attrs["time_kind"] = "composite"
    return ds, values


@pytest.mark.parametrize("coarse", [False, True])
def test_coverage_fill_keeps_short_edge_gaps_and_drops_longer_ones(coarse):
    # the data stop 0, 20 and 51 days before the window's end / start 0, 25 and 40 days after its start
    ds, values = _short_series([0, 20, 51, 0, 0], [0, 0, 0, 25, 40], coarse)
    drop = C.composite(ds, CompositeSettings(coverage="drop", min_clear=1))
    fill = C.composite(ds, CompositeSettings(coverage="fill", fill_days=30, min_clear=1))
    assert drop["sample_id"].values.tolist() == ["s0"]
    assert fill["sample_id"].values.tolist() == ["s0", "s1", "s3"]
    assert fill.attrs["edge_filled"] == {"FRA": 2} and fill.attrs["dropped_coverage"] == {"FRA": 2}
    assert drop.attrs["edge_filled"] == {}
    assert fill.attrs["composite_settings"]["coverage"] == "fill"
    assert fill.attrs["composite_settings"]["fill_days"] == 30
    start, count = C.window_bins(fill)
    win = C.season(fill)["reflectance"].values
    assert not np.isnan(win).any()
    # s1's last window bins hold its last value (nearest at the edge: the gap filler's own rule)
    last = values[1, 0][np.isfinite(values[1, 0])][-1]
    assert win[1, 0, -1] == pytest.approx(last, abs=1e-6) and win[1, 0, -2] == pytest.approx(last, abs=1e-6)
    # s3's first window bin holds its first value
    first = values[3, 0][np.isfinite(values[3, 0])][0]
    assert win[2, 0, 0] == pytest.approx(first, abs=1e-6)
    # the sample that covers the window is the same either way
    np.testing.assert_array_equal(fill["reflectance"].values[0], drop["reflectance"].values[0])
    assert (start, count) == (24, 43)
    # a longer fill_days keeps them all; the limit is in days of the window
    assert C.composite(ds, CompositeSettings(coverage="fill", fill_days=60, min_clear=1)).sizes["sample"] == 5
    assert C.composite(ds, CompositeSettings(coverage="fill", fill_days=0, min_clear=1)).sizes["sample"] == 1


def test_coverage_error_and_bad_fill_days():
    ds, _ = _short_series([0, 20])
    with pytest.raises(CropGlobeError, match="coverage='fill' to fill short edge gaps"):
        C.composite(ds, CompositeSettings(coverage="error", min_clear=1))
    with pytest.raises(CropGlobeError, match="expected 'drop', 'error' or 'fill'"):
        C.composite(ds, CompositeSettings.model_construct(coverage="hold"))
    with pytest.raises(CropGlobeError, match="fill_days"):
        C.composite(ds, CompositeSettings.model_construct(coverage="fill", fill_days=-1))
    with pytest.raises(CropGlobeError, match="fill_days"):
        C.composite(ds, CompositeSettings.model_construct(coverage="fill", fill_days=2.5))
