"""Tests of cropglobe.features.harmonic: recovery of known sinusoids with gaps, errors, observation input."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.features import harmonic
from cropglobe.sources import simulate


def test_recovers_amplitudes_and_phases_with_gaps():
    rng = np.random.default_rng(0)
    m, t = 500, np.arange(0, 365, 5) + 2.5
    c = rng.uniform(0.1, 0.3, m)
    amp = rng.uniform(0.05, 0.2, (m, 2))
    phase = rng.uniform(-np.pi, np.pi, (m, 2))
    w = 2 * np.pi * t / 365.0
    y = c[:, None] + sum(amp[:, k, None] * np.cos((k + 1) * w[None] - phase[:, k, None]) for k in range(2))
    y[rng.random(y.shape) < 0.4] = np.nan  # 40 % gaps
    y[:10] = np.where(np.arange(t.size) < 30, y[:10], np.nan)  # long gap in some series
    y[10:20] = c[10:20, None] + sum(
        amp[10:20, k, None] * np.cos((k + 1) * w[None] - phase[10:20, k, None]) for k in range(2)
    )
    coef = harmonic.fit(y, t, order=2)
    np.testing.assert_allclose(coef[:, 0], c, atol=1e-9)
    for k in range(2):
        a, b = coef[:, 1 + 2 * k], coef[:, 2 + 2 * k]
        np.testing.assert_allclose(np.hypot(a, b), amp[:, k], atol=1e-9)
        np.testing.assert_allclose(np.angle(np.exp(1j * (np.arctan2(b, a) - phase[:, k]))), 0.0, atol=1e-7)


def test_matches_lstsq_with_noise():
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 365, 60))
    y = rng.normal(size=(20, 60))
    mask = rng.random(y.shape) > 0.3
    coef = harmonic.fit(y, t, mask=mask, order=3, period=300.0)
    x = harmonic.design_matrix(t, 3, 300.0)
    for i in range(20):
        ref = np.linalg.lstsq(x[mask[i]], y[i, mask[i]], rcond=None)[0]
        np.testing.assert_allclose(coef[i], ref, atol=1e-9)


def test_too_few_points_is_one_clear_error():
    y = np.full((3, 20), 0.5)
    y[2, 4:] = np.nan
    with pytest.raises(CropGlobeError, match=r"series 2 has 4 valid points for 5 coefficients"):
        harmonic.fit(y, np.arange(20) * 10.0)
    with pytest.raises(CropGlobeError, match="order=-1"):
        harmonic.fit(y, np.arange(20) * 10.0, order=-1)


def test_observation_level_and_names():
    ds = simulate.simulate(countries=["FRA"], samples_per_class=2, seed=5)
    feats = harmonic.harmonic(ds)
    assert feats.shape == (14, 35) and feats.dtype == np.float32 and np.isfinite(feats).all()
    assert len(harmonic.feature_names()) == 35 and harmonic.feature_names()[:2] == ["blue_c", "blue_cos1"]
    one = harmonic.harmonic(ds, order=1, inputs=("NDVI", "B8A"))
    assert one.shape == (14, 6)
    with pytest.raises(CropGlobeError, match="no such band"):
        harmonic.harmonic(ds, inputs=("B9",))
    cloudy = ds.assign(clear=ds["clear"] * 0.0 + 0.1)
    with pytest.raises(CropGlobeError, match=r"sample 'FRA-corn-00000' input 'blue' has 0 valid points"):
        harmonic.harmonic(cloudy)


def test_benchmark_plumbing_and_agreement():
    """The harmonic benchmark runs (quick) and matches lstsq (no timing asserted)."""
    from cropglobe import bench

    out = bench.discover()["harmonic"].module.run(quick=True)
    assert out["ratio"] > 0 and out["figures"]["features_per_pixel"] == 35
    assert out["figures"]["max_abs_coefficient_difference"] < 1e-8
