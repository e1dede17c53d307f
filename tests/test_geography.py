"""Tests for the country registry and transfer-scenario typing."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe import geography
from cropglobe.errors import CropGlobeError
from cropglobe.geography import Scenario


def test_registry_covers_iso_countries():
    reg = geography.registry()
    assert len(reg) >= 249
    assert geography.country("fra") == geography.Country("FRA", "France", "Europe", "N")
    assert geography.country("ARG").hemisphere == "S"
    assert geography.country("AUS").continent == "Oceania"
    assert geography.country("BRA").hemisphere == "both"


def test_unknown_country():
    with pytest.raises(CropGlobeError, match="unknown country code 'FR'"):
        geography.country("FR")


def test_hemisphere_from_sample_latitudes_for_equatorial_countries():
    assert geography.hemisphere_of("BRA", np.array([-15.0, -12.0, 2.0])) == "S"
    assert geography.hemisphere_of("KEN", np.array([1.0, 0.5])) == "N"
    with pytest.raises(CropGlobeError, match="spans both hemispheres"):
        geography.hemisphere_of("BRA")


@pytest.mark.parametrize(
    ("src", "tgt", "kind"),
    [("FRA", "FRA", Scenario.IN_REGION), ("FRA", "BEL", Scenario.CROSS_COUNTRY),
     ("FRA", "USA", Scenario.CROSS_CONTINENT), ("FRA", "CHN", Scenario.CROSS_CONTINENT),
     ("FRA", "ARG", Scenario.CROSS_HEMISPHERE), ("USA", "AUS", Scenario.CROSS_HEMISPHERE),
     ("ARG", "AUS", Scenario.CROSS_CONTINENT)],
)
def test_scenarios(src, tgt, kind):
    assert geography.scenario(src, tgt) is kind


def test_scenario_uses_latitudes_for_countries_on_the_equator():
    south = np.array([-12.0, -14.0])
    assert geography.scenario("ARG", "BRA", target_lat=south) is Scenario.CROSS_COUNTRY
    assert geography.scenario("FRA", "BRA", target_lat=south) is Scenario.CROSS_HEMISPHERE


def test_nearest_country_from_coordinates():
    lon = np.array([2.35, -58.4, 32.6, 151.2])
    lat = np.array([48.85, -34.6, 0.35, -33.9])
    assert list(geography.nearest_country(lon, lat)) == ["FRA", "ARG", "UGA", "AUS"]
    with pytest.raises(CropGlobeError, match="lack valid lon/lat"):
        geography.nearest_country(np.array([np.nan]), np.array([0.0]))
