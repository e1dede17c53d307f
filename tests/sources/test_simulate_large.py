"""Tiled, perturbed simulated sets written block by block (SIMULATED DATA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cropglobe import samples
from cropglobe.sources import simulate, simulate_large


def test_write_tiled_gives_a_valid_set_of_distinct_samples(tmp_path: Path) -> None:
    path = simulate_large.write_tiled(tmp_path / "big.zarr", 1000, base_per_class=3, block=300,
                                      countries=["USA", "AUS"], seed=2)
    ds = samples.load(path)
    base = simulate.simulate(countries=["USA", "AUS"], samples_per_class=3, seed=2)
    m = base.sizes["sample"]
    assert ds.sizes["sample"] == 1000 and len(set(ds["sample_id"].values)) == 1000
    assert ds.attrs["simulated"] is True and ds.attrs["time_kind"] == "observations"
    np.testing.assert_array_equal(ds["time"].values, base["time"].values)
    src = np.arange(1000) % m
    np.testing.assert_array_equal(ds["label"].values, base["label"].values[src])
    np.testing.assert_array_equal(ds["clear"].values, base["clear"].values[src])
    got, ref = ds["reflectance"].values, base["reflectance"].values[src]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    ok = np.isfinite(ref) & (ref > 0.01) & (ref < 0.99)
    rel = np.abs(got[ok] / ref[ok] - 1)
    assert 0.005 < rel.mean() < 0.05 and rel.max() < 0.2  # perturbed repeats, close to their base sample
    assert not np.array_equal(got[:m], got[m:2 * m])  # repeats differ from one another
