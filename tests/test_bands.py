"""``bands.py``: canonical band names from every spelling the importers meet, value ranges, masking."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe import bands
from cropglobe.errors import CropGlobeError


@pytest.mark.parametrize(("name", "canonical"), [
    ("B02", "B2"), ("b2", "B2"), ("B8a", "B8A"), ("b08", "B8"), ("B11", "B11"), (" B12 ", "B12"),
    ("S2-L2A-B02", "B2"), ("s2-l1c-b8a", "B8A"), ("OPTICAL-B05", "B5"),
    ("blue", "B2"), ("NIR08", "B8A"), ("swir22", "B12"), ("coastal", "B1"),
    ("ndvi", "NDVI"), ("swir1", "SWIR1"), ("R0550.3", "R0550.3"),
])
def test_every_spelling_has_one_canonical_name(name, canonical):
    assert bands.canonical_band(name) == canonical
    assert bands.canonical_band(canonical) == canonical  # canonical names are fixed points


@pytest.mark.parametrize(("asset", "s2", "generic"), [
    ("red", "B4", "RED"), ("nir", "B8", "NIR"), ("blue", "B2", "BLUE"), ("green", "B3", "GREEN"),
])
def test_an_earth_search_asset_in_lowercase_and_a_generic_band_in_capitals(asset, s2, generic):
    """``red`` is Earth Search's Sentinel-2 asset (B4); ``RED`` is the red band of MODIS / Landsat tables."""
    assert bands.canonical_band(asset) == s2
    assert bands.canonical_band(generic) == generic
    assert bands.canonical_band(generic.title()) == generic  # "Red": not the STAC spelling
    assert generic in bands.GENERIC_REFLECTANCE_BANDS


def test_a_modis_table_keeps_its_generic_bands():
    """The MOD13Q1 6-band columns (MIR, BLUE, NIR, RED, EVI, NDVI) stay MODIS bands, not Sentinel-2 ones."""
    from cropglobe import samples

    names = ["MIR", "BLUE", "NIR", "RED", "EVI", "NDVI"]
    ds = samples.build(samples.SampleArrays(np.full((1, 6, 2), 0.2, np.float32), bands=names,
                                            time=np.array(["2013-09-14", "2013-09-30"], "datetime64[ns]"),
                                            sample_id=["0"], label=["other"], country="BRA", year=2013))
    assert list(ds["band"].values) == names
    assert not set(ds["band"].values) & set(bands.S2_BANDS)


@pytest.mark.parametrize("name", ["B13", "B0", "B8B", "S2-L2A-B13", "nir07", "r550", ""])
def test_an_unknown_band_is_refused_naming_what_is_expected(name):
    with pytest.raises(CropGlobeError, match=f"unknown band name {name!r}: expected a Sentinel-2 band"):
        bands.canonical_band(name)


def test_the_paper_bands_are_canonical_and_ordered_by_wavelength_except_b8a():
    assert [bands.canonical_band(b) for b in bands.S2_BANDS] == list(bands.S2_BANDS)
    wavelengths = [bands.S2_WAVELENGTH_NM[b] for b in bands.S2_BANDS]
    assert wavelengths == sorted(wavelengths)


def test_indices_have_a_signed_range_reflectance_does_not():
    assert bands.is_index_band("NDVI") and not bands.is_index_band("B4")
    assert bands.valid_range("NDVI") == (-1.5, 1.5)
    assert bands.valid_range("B4") == (0.0, 1.5)


def test_out_of_range_values_become_nan_in_place_and_are_counted():
    values = np.array([[[0.1, -0.01, 1.5, 1.51], [-0.5, 0.2, -1.6, np.nan]]], dtype=np.float32)  # (1, 2 bands, 4)
    counts = bands.mask_out_of_range(values, ["B4", "NDVI"])
    assert counts == {"B4": 2, "NDVI": 1}
    np.testing.assert_array_equal(np.isnan(values[0, 0]), [False, True, False, True])  # 1.5 itself is kept
    np.testing.assert_array_equal(np.isnan(values[0, 1]), [False, False, True, True])  # NaN stays NaN, not counted
    assert bands.mask_out_of_range(values, ["B4", "NDVI"]) == {}
