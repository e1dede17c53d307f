"""``mapping/locate.py``: pixel-centre coordinates, the country under a map and the season year of its dates."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from affine import Affine
from pyproj import Transformer

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import locate
from cropglobe.temporal.settings import CompositeSettings

RECIPE = SimpleNamespace(composite=CompositeSettings())  # season_year reads the compositing settings only


def test_lonlat_gives_pixel_centres_row_major():
    transform = Affine(0.5, 0, 10.0, 0, -0.25, 50.0)  # 0.5 deg wide, 0.25 deg high pixels from (10 E, 50 N)
    lon, lat = locate.lonlat(transform, "EPSG:4326", slice(1, 3), slice(0, 2))
    np.testing.assert_allclose(lon, [10.25, 10.75, 10.25, 10.75])
    np.testing.assert_allclose(lat, [49.625, 49.625, 49.375, 49.375])


def test_lonlat_projects_a_utm_grid():
    transform = Affine(10, 0, 500_000, 0, -10, 5_000_000)
    lon, lat = locate.lonlat(transform, "EPSG:32631", slice(0, 2), slice(0, 3))
    x, y = np.meshgrid(500_005 + 10 * np.arange(3), 4_999_995 - 10 * np.arange(2))
    want = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True).transform(x.ravel(), y.ravel())
    np.testing.assert_allclose(lon, want[0], atol=1e-9)
    np.testing.assert_allclose(lat, want[1], atol=1e-9)
    assert abs(lon[0] - 3.0) < 0.01  # the central meridian of zone 31


@pytest.mark.parametrize(("lon", "lat", "iso3"), [(2.35, 48.85, "FRA"), (4.35, 50.85, "BEL"), (-58.4, -34.6, "ARG")])
def test_the_country_is_that_of_the_nearest_city(lon, lat, iso3):
    assert locate.country_at(lon, lat) == iso3


def _days(start: str, end: str) -> np.ndarray:
    return np.arange(np.datetime64(start), np.datetime64(end) + 1, 5).astype("datetime64[ns]")


def test_the_season_year_is_the_one_whose_window_the_dates_cover():
    assert locate.season_year(_days("2023-03-01", "2023-12-31"), RECIPE, "FRA", 48.8) == 2023
    assert locate.season_year(_days("2023-03-01", "2023-12-31"), RECIPE, "FRA", 48.8, year=2023) == 2023
    # southern: the aligned year starts on 2 July, so May-November is November-May of the next calendar year
    assert locate.season_year(_days("2023-07-01", "2024-06-30"), RECIPE, "ARG", -34.6) == 2023


def test_dates_that_miss_the_window_name_the_candidates():
    with pytest.raises(CropGlobeError, match="do not cover the model's season window .* candidates 2022: "):
        locate.season_year(_days("2023-03-01", "2023-12-31"), RECIPE, "FRA", 48.8, year=2022)
    with pytest.raises(CropGlobeError, match="northern calendar"):
        locate.season_year(_days("2023-06-01", "2023-09-30"), RECIPE, "FRA", 48.8)
    with pytest.raises(CropGlobeError, match=r"\+\d+ days"):
        locate.season_year(_days("2023-03-01", "2023-12-31"), RECIPE, "ARG", -34.6)  # a northern year only
