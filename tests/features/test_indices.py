"""Tests of cropglobe.features.indices."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe import samples
from cropglobe.errors import CropGlobeError
from cropglobe.features import indices


@pytest.fixture()
def ds():
    v = np.zeros((1, 4, 2), dtype=np.float32)
    v[0, :, 0] = [0.1, 0.2, 0.1, 0.5]  # blue, green, red, nir
    v[0, :, 1] = [0.1, 0.0, 0.0, 0.0]  # a degenerate observation
    return samples.build(
        samples.SampleArrays(v,
        bands=["blue", "green", "red", "nir"],
        time=np.array(["2023-01-01", "2023-01-06"], "datetime64[ns]"),
        sample_id=["a"],
        label=["corn"],
        country="FRA",
        year=2023),
    )


def test_formulas(ds):
    assert indices.index(ds, "NDVI")[0, 0] == pytest.approx(0.4 / 0.6)
    assert indices.index(ds, "gcvi")[0, 0] == pytest.approx(1.5)
    assert indices.index(ds, "NDWI")[0, 0] == pytest.approx(-0.3 / 0.7)
    assert indices.index(ds, "EVI")[0, 0] == pytest.approx(2.5 * 0.4 / (0.5 + 0.6 - 0.75 + 1))
    assert np.isnan(indices.index(ds, "NDVI")[0, 1])  # 0/0 is undefined, not an error


def test_with_indices(ds):
    out = indices.with_indices(ds, ["NDVI", "GCVI"])
    assert list(out["band"].values) == ["B2", "B3", "B4", "B8", "NDVI", "GCVI"]
    samples.validate(out)


def test_errors(ds):
    with pytest.raises(CropGlobeError, match="unknown spectral index 'XYZ'"):
        indices.index(ds, "XYZ")
    with pytest.raises(CropGlobeError, match="no swir1 band"):
        indices.index(ds, "LSWI")


def test_bands_used_by_indices_roles_and_names():
    from cropglobe.features.harmonic import DEFAULT_INPUTS, input_bands

    s2 = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]
    assert input_bands(s2) == ["B2", "B3", "B4", "B8", "B11", "B12"]  # GCVI reads green and NIR
    assert indices.bands_used(s2, ["NDRE"]) == ["B5", "B8A"]
    assert indices.bands_used(["B4", "B8A"], ["NDVI"]) == ["B4", "B8A"]  # NIR falls back to B8A
    assert indices.bands_used(s2, ["B7", "red"]) == ["B4", "B7"]
    assert len(DEFAULT_INPUTS) == 7
    with pytest.raises(CropGlobeError, match="no swir1 band"):
        indices.bands_used(["B2", "B3"], ["swir1"])
