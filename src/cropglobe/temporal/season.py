"""Season windows and hemisphere alignment on the aligned (northern) calendar.

A composite's ``time`` axis is the *aligned* calendar: integer bin-start days of year counted from
the start of each sample's aligned year. A northern sample's aligned year is its season year's
calendar year (1 January); a sample shifted by ``shift_days`` starts its aligned year that many days
later. ``--align hemisphere`` shifts southern-hemisphere samples by
:data:`HEMISPHERE_SHIFT_DAYS` (half of 365 days, rounded down), so the north's May-November season
window lines up with the south's November-May season, as the paper's cross-hemisphere transfer
assumes (Tong & Wang, arXiv:2509.03497, Sec. on phenology shifts between hemispheres). A southern
window therefore uses dates from two calendar years (e.g. 2023-10-31 to 2024-05-28).

Season windows are written ``MM-DD:MM-DD`` in the aligned calendar (a non-leap year is used to
turn month-days into days of year) and must not cross the aligned year's end.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import xarray as xr

from cropglobe import geography, yamlfile
from cropglobe.checks import is_whole, whole_number
from cropglobe.errors import CropGlobeError

#: Days a southern-hemisphere sample's aligned year is shifted by (six months = 365 // 2).
HEMISPHERE_SHIFT_DAYS = 182
#: Length of the aligned year in days (a leap year's 366th day falls outside it).
YEAR_DAYS = 365
_WINDOW = re.compile(r"^\s*(\d{1,2})-(\d{1,2})\s*:\s*(\d{1,2})-(\d{1,2})\s*$")


def parse_window(window: str) -> tuple[int, int]:
    """Parse ``"MM-DD:MM-DD"`` into first and last day of year (1-365, inclusive).

    Raises:
        CropGlobeError: If the text is malformed, a date does not exist, or the window crosses the
            end of the aligned year.
    """
    match = _WINDOW.match(str(window))
    if not match:
        raise CropGlobeError(f"season window {window!r}: expected 'MM-DD:MM-DD', e.g. '05-01:11-30'")
    m1, d1, m2, d2 = (int(g) for g in match.groups())
    doys = []
    for month, day in ((m1, d1), (m2, d2)):
        try:
            date = np.datetime64(f"2023-{month:02d}-{day:02d}")
        except ValueError:
            raise CropGlobeError(f"season window {window!r}: {month:02d}-{day:02d} is not a date") from None
        doys.append(int((date - np.datetime64("2023-01-01")).astype(int)) + 1)
    if doys[1] < doys[0]:
        raise CropGlobeError(
            f"season window {window!r} crosses the end of the aligned year; expected start <= end "
            "(use --align hemisphere or --align DAYS to move a southern season into one aligned year)"
        )
    return doys[0], doys[1]


def axis(interval: int) -> tuple[np.ndarray, np.ndarray]:
    """Return bin-start days of year (1, 1+interval, ...) and bin widths covering 365 days.

    Raises:
        CropGlobeError: If ``interval`` is not a positive whole number of days up to 365.
    """
    interval = whole_number(interval, "interval", 1, YEAR_DAYS, unit="days")
    start = np.arange(0, YEAR_DAYS, int(interval))
    width = np.minimum(int(interval), YEAR_DAYS - start)
    return (start + 1).astype(np.int32), width.astype(np.int32)


def bins_of_window(time: np.ndarray, bin_days: np.ndarray, window: str) -> tuple[int, int]:
    """Return (start, count) of the bins of an aligned axis that overlap a season window.

    Raises:
        CropGlobeError: If no bin overlaps the window.
    """
    first, last = parse_window(window)
    t = np.asarray(time, dtype=np.int64)
    end = t + np.asarray(bin_days, dtype=np.int64) - 1
    hit = np.flatnonzero((end >= first) & (t <= last))
    if hit.size == 0:
        raise CropGlobeError(f"season window {window!r} has no bin on the axis {t.min()}..{end.max()}")
    return int(hit[0]), int(hit[-1] - hit[0] + 1)


def window_bins(ds: xr.Dataset) -> tuple[int, int]:
    """Return ``(start, count)`` of the season window inside a full-year composite's time axis.

    For the default 5-day axis and the May-November window this is ``(24, 43)``.

    Raises:
        CropGlobeError: If ``ds`` is not an aligned composite with a ``season_window`` attribute.
    """
    if ds.attrs.get("time_kind") != "composite" or "bin_days" not in ds.coords:
        raise CropGlobeError("window_bins: expected a composite SampleSet (time_kind='composite' with bin_days)")
    window = ds.attrs.get("season_window") or ""
    if not window:
        raise CropGlobeError("window_bins: the composite has no 'season_window' attribute")
    if np.issubdtype(ds["time"].dtype, np.datetime64):
        raise CropGlobeError("window_bins: expected integer day-of-year time (an aligned composite from composite())")
    return bins_of_window(ds["time"].values, ds["bin_days"].values, window)


def season(ds: xr.Dataset) -> xr.Dataset:
    """Slice a full-year aligned composite to its season window (attrs record the slice)."""
    start, count = window_bins(ds)
    out = ds.isel(time=slice(start, start + count))
    out.attrs = {**ds.attrs, "window_bins": [start, count], "history": [*ds.attrs.get("history", []),
                                                                         f"season(window={ds.attrs['season_window']})"]}
    return out


def load_offsets(offsets: Mapping[str, int] | str | os.PathLike | None) -> dict[str, int]:
    """Read per-country alignment offsets (days) from a mapping or a YAML file ``{ISO3: days}``.

    Raises:
        CropGlobeError: If the file is missing or a key/value is not ISO3 -> whole days.
    """
    if offsets is None:
        return {}
    where = "offsets"
    if isinstance(offsets, (str, os.PathLike)):
        where = str(offsets)
        try:
            offsets = yamlfile.load(offsets) or {}
        except OSError as err:
            raise CropGlobeError(f"{where}: cannot read alignment offsets ({err.strerror})") from None
    if not isinstance(offsets, Mapping):
        raise CropGlobeError(f"{where}: expected a mapping of ISO3 country code to days, e.g. {{AUS: 170}}")
    out: dict[str, int] = {}
    for key, value in offsets.items():
        try:
            iso = geography.country(str(key)).iso3
        except CropGlobeError as err:
            raise CropGlobeError(f"{where}: key {key!r}: {err}") from None
        if not is_whole(value):
            raise CropGlobeError(f"{where}: {iso}: offset {value!r} is not a whole number of days")
        out[iso] = int(value)
    return out


def calendar_groups(origins: np.ndarray) -> Iterator[tuple[Any, slice | np.ndarray]]:
    """Group points by their aligned calendar (a shift in days or an origin date), one group per value.

    Compositing runs once per calendar; every stage that composites (``composite``, the map's blocks)
    loops over these groups.

    Yields:
        ``(value, index)``: the index is ``slice(None)`` when every point shares the value (no copy),
        else the points' positions.
    """
    origins = np.asarray(origins)
    for value in np.unique(origins):
        rows = np.flatnonzero(origins == value)
        yield value, (slice(None) if rows.size == origins.size else rows)


def sample_shifts(ds: xr.Dataset, align: str | int = "hemisphere",
                  offsets: Mapping[str, int] | str | os.PathLike | None = None) -> tuple[np.ndarray, str]:
    """Return each sample's alignment shift in days and a description of the alignment.

    Args:
        ds: SampleSet with ``country`` and ``lat`` per sample.
        align: ``"hemisphere"`` (southern samples shifted by :data:`HEMISPHERE_SHIFT_DAYS`),
            ``"none"``, or a whole number of days (an int or a numeric string) for every sample.
        offsets: Per-country days (mapping or YAML file) that replace the ``align`` shift for the
            countries they list.

    Raises:
        CropGlobeError: For an unknown ``align`` value or bad offsets.
    """
    countries = ds["country"].values
    lat = ds["lat"].values if "lat" in ds.variables else np.full(countries.shape, np.nan)
    return shifts(countries, lat, align, offsets)


def shifts(countries: np.ndarray | list[str], lat: np.ndarray, align: str | int = "hemisphere",
           offsets: Mapping[str, int] | str | os.PathLike | None = None) -> tuple[np.ndarray, str]:
    """Alignment shifts in days of points given by country and latitude (see :func:`sample_shifts`).

    Args:
        countries: ISO3 code per point (one code for all points when a single string).
        lat: Latitude per point (decides the hemisphere of countries spanning the equator).
        align: ``"hemisphere"``, ``"none"`` or a whole number of days.
        offsets: Per-country days replacing the ``align`` shift for the countries they list.

    Returns:
        ``(shifts (N,) int64, description of the alignment)``.

    Raises:
        CropGlobeError: For an unknown ``align`` value or bad offsets.
    """
    lat = np.atleast_1d(np.asarray(lat))
    countries = np.broadcast_to(np.asarray(countries).astype(str), lat.shape)
    n = countries.size
    text = str(align).strip().lower()
    if text == "hemisphere":
        out = np.zeros(n, dtype=np.int64)
        for iso in np.unique(countries):
            rows = countries == iso
            if geography.hemisphere_of(iso, lat[rows]) == "S":
                out[rows] = HEMISPHERE_SHIFT_DAYS
        label = f"hemisphere (southern samples +{HEMISPHERE_SHIFT_DAYS} days)"
    elif text == "none":
        out, label = np.zeros(n, dtype=np.int64), "none"
    elif re.fullmatch(r"[+-]?\d+", text):
        out, label = np.full(n, int(text), dtype=np.int64), f"{int(text)} days"
    else:
        raise CropGlobeError(f"align={align!r}: expected 'hemisphere', 'none' or a whole number of days")
    table = load_offsets(offsets)
    for iso, days in table.items():
        out[countries == iso] = days
    if table:
        label += "; per-country offsets " + ", ".join(f"{k} {v:+d} days" for k, v in sorted(table.items()))
    return out, label
