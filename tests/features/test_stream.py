"""Streaming composite -> features block by block equals the whole-set computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from cropglobe import samples
from cropglobe.errors import CropGlobeError
from cropglobe.features import families as features
from cropglobe.features import stream as pipeline
from cropglobe.sources import simulate
from cropglobe.temporal import composite
from cropglobe.temporal.settings import CompositeSettings


@pytest.fixture(scope="module")
def observations(tmp_path_factory: pytest.TempPathFactory) -> tuple[xr.Dataset, Path]:
    """A simulated set whose first 100 samples are all cloudy and samples 150-159 too (SIMULATED)."""
    ds = simulate.simulate(countries=["USA", "FRA", "ARG"], samples_per_class=12, seed=4)
    clear = ds["clear"].values.copy()
    clear[:100] = 0.0
    clear[150:160] = 0.0
    ds["clear"] = (ds["clear"].dims, clear)
    path = tmp_path_factory.mktemp("obs") / "obs.zarr"
    samples.save(ds, path)
    return samples.load(path), path


def test_stream_equals_the_whole_set(observations: tuple[xr.Dataset, Path], tmp_path: Path) -> None:
    ds, path = observations
    whole = composite.season(composite.composite(ds))
    res = pipeline.stream(path, tmp_path / "f.zarr", ("median2d", "harmonic", "median1d"), block=100)
    assert res.blocks == -(-ds.sizes["sample"] // 100)
    assert res.samples_out == whole.sizes["sample"] == ds.sizes["sample"] - 110
    assert res.dropped == 110 and [b["samples"] for b in res.dropped_blocks] == ["0:100"]
    out = xr.open_zarr(tmp_path / "f.zarr")
    np.testing.assert_array_equal(out["sample_id"].values, whole["sample_id"].values)
    np.testing.assert_array_equal(out["median2d"].values, features.median2d(whole))
    np.testing.assert_array_equal(out["median1d"].values, features.median1d(whole))
    np.testing.assert_allclose(out["harmonic"].values, features.harmonic(whole), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(out["n_clear"].values, whole["n_clear"].values)
    np.testing.assert_array_equal(out["window_time"].values, whole["time"].values)
    assert out.attrs["simulated"] is True and out.attrs["time_kind"] == "features"
    assert out.attrs["dropped_samples"] == 110
    assert sum(out.attrs["dropped_min_clear"].values()) == 10  # the partial block's; block 0 is listed whole
    assert set(out.attrs["dropped_sample_ids"]) == set(ds["sample_id"].values[list(range(100)) + list(range(150, 160))])


def test_stream_with_no_kept_sample_is_an_error(observations: tuple[xr.Dataset, Path], tmp_path: Path) -> None:
    _, path = observations
    with pytest.raises(CropGlobeError, match="no block kept a sample"):
        pipeline.stream(path, tmp_path / "f.zarr", block=50, composite_options={"min_clear": 10_000})
    assert not (tmp_path / "f.zarr").exists()


def test_stream_refuses_unknown_family_and_bad_block(observations: tuple[xr.Dataset, Path], tmp_path: Path) -> None:
    _, path = observations
    with pytest.raises(CropGlobeError, match="unknown feature family 'nope'"):
        pipeline.stream(path, tmp_path / "f.zarr", ("nope",))
    with pytest.raises(CropGlobeError, match="block=0"):
        pipeline.stream(path, tmp_path / "f.zarr", block=0)


def test_stream_with_coverage_fill_equals_the_whole_set_and_counts_the_filled(tmp_path: Path) -> None:
    """SIMULATED: the FRA samples' observations stop 20 days before the window's end (30 November)."""
    ds = simulate.simulate(countries=["FRA", "USA"], samples_per_class=3, seed=2)
    refl = ds["reflectance"].values.copy()
    fra = ds["country"].values == "FRA"
    late = ds["time"].values > np.datetime64("2023-11-10")
    refl[np.ix_(fra, np.ones(refl.shape[1], bool), late)] = np.nan
    ds["reflectance"] = (ds["reflectance"].dims, refl)
    samples.save(ds, tmp_path / "obs.zarr")
    options = {"coverage": "fill", "fill_days": 30}
    whole = composite.season(composite.composite(ds, CompositeSettings(**options)))
    res = pipeline.stream(tmp_path / "obs.zarr", tmp_path / "f.zarr", ("median1d",), block=10,
                          composite_options=options)
    assert res.samples_out == whole.sizes["sample"] == ds.sizes["sample"] and res.dropped == 0
    assert res.by_country["edge_filled"] == {"FRA": int(fra.sum())}
    out = xr.open_zarr(tmp_path / "f.zarr")
    np.testing.assert_array_equal(out["median1d"].values, features.median1d(whole))
    assert out.attrs["edge_filled"] == {"FRA": int(fra.sum())}
    with pytest.raises(CropGlobeError, match="field coverage: Input should be 'drop', 'error' or 'fill'"):
        pipeline.check_composite_options({"coverage": "hold"})
    drop = pipeline.stream(tmp_path / "obs.zarr", tmp_path / "d.zarr", ("median1d",), block=10)
    assert drop.dropped == int(fra.sum()) and drop.by_country["edge_filled"] == {}  # blocks of FRA only: whole


def test_misspelt_composite_options_get_did_you_mean():
    """An unknown composite option names the closest known one (issue 27)."""
    with pytest.raises(CropGlobeError, match=r"composite options \['coverge'\]: unknown; .*did you mean 'coverage'\?"):
        pipeline.check_composite_options({"coverge": "drop"})
    with pytest.raises(CropGlobeError, match=r"coverage: Input should be 'drop', 'error' or 'fill'"):
        pipeline.check_composite_options({"coverage": "hold"})
