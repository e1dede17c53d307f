"""Country rule: ref_id tokens and nearest GeoNames city."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import country


def test_nearest_city_countries():
    lon = np.array([32.58, 31.58, 36.82, 2.35])  # Kampala, Juba, Nairobi, Paris
    lat = np.array([0.35, 4.85, -1.29, 48.86])
    assert list(country.nearest_country(lon, lat)) == ["UGA", "SSD", "KEN", "FRA"]


def test_ref_id_tokens():
    ref = np.array(["2023_FRA_LPIS_POLY_110", "2021_BE_LPIS-Flanders", "2017_AF_One-Acre-Fund-MEL_POINT_110"])
    got = country.from_ref_id(ref, np.array([9.2, 4.4, 34.6]), np.array([41.9, 51.0, 0.6]))
    assert list(got) == ["FRA", "BEL", "KEN"]  # FRA token kept even for Corsica; AF (Africa) resolved by coordinates


def test_missing_coordinates_error():
    with pytest.raises(CropGlobeError, match="lack valid lon/lat"):
        country.nearest_country(np.array([np.nan]), np.array([1.0]))
