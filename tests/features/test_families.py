"""Tests of cropglobe.features.families: the registry and the median / harmonic families."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.features import families as features
from cropglobe.sources import simulate
from cropglobe.temporal import composite


@pytest.fixture(scope="module")
def window():
    """SIMULATED season-window composite (FRA + ARG)."""
    obs = simulate.simulate(countries=["FRA", "ARG"], samples_per_class=3, seed=4)
    return composite.season(composite.composite(obs))


def test_registry_kinds_and_shapes(window):
    n, b, t = window.sizes["sample"], window.sizes["band"], window.sizes["time"]
    assert set(features.FEATURES) >= {"median2d", "median1d", "harmonic"}
    m2 = features.get_feature("median2d")
    assert m2.kind == "matrix" and m2.fn(window).shape == (n, b, t) == (n, 10, 43)
    m1 = features.get_feature("median1d")
    assert m1.kind == "vector" and m1.fn(window).shape == (n, b * t)
    h = features.get_feature("harmonic")
    assert h.kind == "vector" and h.fn(window).shape == (n, 35)
    for name in ("median2d", "median1d", "harmonic"):  # the Sentinel-2 families (emit needs EMIT bands)
        out = features.get_feature(name).fn(window)
        assert out.dtype == np.float32 and np.isfinite(out).all()


def test_median1d_is_band_major_flattening(window):
    m2, m1 = features.median2d(window), features.median1d(window)
    np.testing.assert_array_equal(m1[:, :43], m2[:, 0, :])
    np.testing.assert_array_equal(m1[3], m2[3].ravel())


def test_harmonic_options(window):
    out = features.get_feature("harmonic").fn(window, order=1, inputs=("nir", "NDVI"))
    assert out.shape == (window.sizes["sample"], 6)


def test_unknown_family_and_uncomposited_input(window):
    with pytest.raises(CropGlobeError, match="unknown feature family 'hyper'"):
        features.get_feature("hyper")
    obs = simulate.simulate(countries=["FRA"], samples_per_class=1, seed=0)
    with pytest.raises(CropGlobeError, match="median2d: expected a composite SampleSet"):
        features.median2d(obs)
    holed = window.copy(deep=True)
    holed["reflectance"].values[1, 2, :] = np.nan
    with pytest.raises(CropGlobeError, match="1 samples still have missing values"):
        features.median1d(holed)


def test_featurespec_kind_checked():
    with pytest.raises(ValueError, match="kind 'cube'"):
        features.FeatureSpec("x", features.median2d, "cube")
