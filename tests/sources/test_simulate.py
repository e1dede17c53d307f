"""Tests for the embedded phenology simulator: it must show the model's intent, not noise."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.sources import simulate


def _peak_day(ds, country: str, label: str) -> float:
    """Day (since 1 Jan of the season year) of the peak of the median clear-sky NDVI."""
    m = (ds["country"].values == country) & (ds["label"].values == label)
    r = ds["reflectance"].values[m]
    ndvi = (r[:, 6] - r[:, 2]) / (r[:, 6] + r[:, 2])
    ndvi[ds["clear"].values[m] < 0.75] = np.nan
    t = (ds["time"].values - np.datetime64("2023-01-01")).astype("timedelta64[D]").astype(float)
    daily = np.arange(0, 546)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # dates where every pixel is cloudy
        curve = np.nanmedian(ndvi, axis=0)
    ok = ~np.isnan(curve)
    smooth = np.convolve(np.interp(daily, t[ok], curve[ok]), np.ones(21) / 21, mode="same")
    window = (daily >= 90) & (daily <= 455)  # one season either side of the year boundary
    return float(daily[window][np.argmax(smooth[window])])


@pytest.fixture(scope="module")
def corn_set():
    return simulate.simulate(["FRA", "ARG", "USA"], samples_per_class=40, seed=3)


def test_attributes_and_class_availability(tiny_observations):
    ds = tiny_observations
    assert ds.attrs["simulated"] is True and "SIMULATED" in ds.attrs["source"]
    assert ds.attrs["time_kind"] == "observations"
    by_country = {c: set(ds["label"].values[ds["country"].values == c]) for c in simulate.CROPGLOBE_COUNTRIES}
    assert by_country["AUS"] == {"sugarcane", "cotton", "other"}
    assert by_country["CHN"] == {"corn", "soybean", "rice", "other"}
    assert "wheat" not in by_country["ARG"] and len(by_country["ARG"]) == 6
    assert len(by_country["FRA"]) == 7
    lat = ds["lat"].values
    assert (lat[ds["country"].values == "ARG"] < 0).all() and (lat[ds["country"].values == "FRA"] > 40).all()


def test_corn_peaks_six_months_apart_between_hemispheres(corn_set):
    fra, arg = _peak_day(corn_set, "FRA", "corn"), _peak_day(corn_set, "ARG", "corn")
    params = simulate.load_params()
    expected = params.hemisphere_offset_days + params.countries["ARG"].planting_offset
    assert abs((arg - fra) - expected) <= 12
    assert 170 <= fra <= 240  # July-August in France


def test_country_offset_moves_the_peak_by_the_configured_days():
    params = simulate.load_params()
    shifted = params.model_copy(deep=True)
    shifted.countries["FRA"].planting_offset = 30
    base = simulate.simulate(["FRA"], samples_per_class=40, seed=5, params=params)
    moved = simulate.simulate(["FRA"], samples_per_class=40, seed=5, params=shifted)
    for crop in ("corn", "soybean"):
        assert abs(_peak_day(moved, "FRA", crop) - _peak_day(base, "FRA", crop) - 30) <= 6


def test_latent_cover_follows_crop_calendars():
    params = simulate.load_params()
    t = np.arange(0, 365.0)
    peak = {c: t[np.argmax(simulate.cover_fractions(params.crops[c], t)["green"])] for c in params.crops}
    assert peak["wheat"] < peak["corn"] < peak["cotton"]
    rice = simulate.cover_fractions(params.crops["rice"], t)
    assert rice["water"][150] > 0.5 and rice["water"][230] < 0.1  # flooded before transplanting
    wheat = simulate.cover_fractions(params.crops["wheat"], t)["green"]
    assert wheat[330] > 0.15  # winter wheat is green before winter


def test_clouds_have_low_scores_and_bright_blue(tiny_observations):
    ds = tiny_observations
    score = ds["clear"].values
    blue = ds["reflectance"].values[:, 0]
    ok = ~np.isnan(score)
    cloudy, clear = ok & (score < 0.6), ok & (score >= 0.8)
    assert cloudy.mean() > 0.05 and clear.mean() > 0.3
    # cloud tops are bright in the blue band (shadows are dark): cloudy spread >> clear spread
    assert np.nanpercentile(blue[cloudy], 90) > 0.2 > np.nanpercentile(blue[clear], 90)
    assert np.isnan(ds["reflectance"].values).any()  # second orbit missing for some pixels


def test_deterministic_under_seed():
    a = simulate.simulate(["BEL"], samples_per_class=3, seed=11)
    b = simulate.simulate(["BEL"], samples_per_class=3, seed=11)
    c = simulate.simulate(["BEL"], samples_per_class=3, seed=12)
    np.testing.assert_array_equal(a["reflectance"].values, b["reflectance"].values)
    assert not np.array_equal(np.nan_to_num(a["reflectance"].values), np.nan_to_num(c["reflectance"].values))


def test_bad_inputs(tmp_path):
    with pytest.raises(CropGlobeError, match="no simulator profile for country 'KEN'"):
        simulate.simulate(["KEN"])
    with pytest.raises(CropGlobeError, match="samples_per_class must be > 0"):
        simulate.simulate(["FRA"], samples_per_class=0)
    bad = tmp_path / "p.yaml"
    bad.write_text(simulate._default_text().replace("peak: 0.92", "peak: 1.92"))
    with pytest.raises(CropGlobeError, match=r"p.yaml: field crops.corn.peak"):
        simulate.load_params(bad)
    with pytest.raises(CropGlobeError, match="cannot read simulator parameters"):
        simulate.load_params(tmp_path / "missing.yaml")


def test_a_misspelt_parameter_key_gets_did_you_mean(tmp_path, capsys):
    """A misspelt key of a simulator parameter file names the right one, through the CLI with exit 2 (issue 27)."""
    import yaml

    from cropglobe.cli import main

    table = yaml.safe_load(simulate._default_text())
    table["bandz"] = table.pop("bands")
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(table))
    with pytest.raises(CropGlobeError, match=r"field bandz: Extra inputs are not permitted; did you mean 'bands'\?"):
        simulate.load_params(path)
    with pytest.raises(SystemExit) as exit_:
        main(["data", "simulate", "--params", str(path), "--out", str(tmp_path / "o.zarr")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "did you mean 'bands'?" in err and not (tmp_path / "o.zarr").exists()
