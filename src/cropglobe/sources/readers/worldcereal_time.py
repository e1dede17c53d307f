"""Time axes of WorldCereal extractions: period starts, local-time offsets, wide columns, season years.

WorldCereal composites are monthly or dekadal (days 1/11/21). Some published files store each
period start as Central European local midnight written as UTC (presto-worldcereal's Canada
2017 file: ``2016-12-31T23:00`` is January 2017, ``2017-03-31T22:00`` is April 2017), so a
time stamp *within one day* (before or after) of a month or dekad start is snapped to that
start; how many and by how much is returned for the SampleSet attributes and history. Anything
further than a day from a period start is an error.

Wide tables follow WorldCereal's loaders (``align_to_composite_window`` in
WorldCereal/worldcereal-classification, MIT): column ``ts0`` is the month that contains
``start_date`` (a mid-month start such as 2017-10-26 means October 2017) and ``end_date`` falls
in the month of the last column or the month after it. A start/end time less than a day before
a month start (local time stored as UTC) counts for that next month.

Season years come from the ``year`` column, else the year of ``valid_date`` (rounded to the
nearest day, so local midnight stored as UTC keeps its date), else the calendar year holding
most of the sample's time steps (ties go to the later year, the harvest year).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cropglobe.errors import CropGlobeError

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Snapped:
    """Record of time stamps moved to the nearest period start."""

    field: str
    values: int
    rows: int
    max_shift_hours: float

    def as_attr(self) -> dict[str, Any]:
        """The record as a SampleSet attribute (plain JSON types)."""
        return {"field": self.field, "values": self.values, "rows": self.rows,
                "max_shift_hours": self.max_shift_hours}

    def describe(self) -> str:
        """One line for the history and the CLI summary."""
        return (f"snapped {self.rows} {self.field!r} rows ({self.values} distinct values) to the nearest month/dekad "
                f"start, shift up to {self.max_shift_hours:g} h (local time stored as UTC)")


def naive_utc(values: Any, where: str, field: str) -> pd.DatetimeIndex:
    """Parse dates as UTC and drop the time zone (naive values are taken as UTC).

    Raises:
        CropGlobeError: On values that are not dates or are empty.
    """
    raw = (values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))).reset_index(drop=True)
    mixed = None if pd.api.types.is_datetime64_any_dtype(raw) else "mixed"  # text dates, with or without a time
    try:
        t = (
            pd.DatetimeIndex(pd.to_datetime(raw, utc=True, errors="coerce", format=mixed))
            .tz_localize(None)
            .as_unit("ns")
        )
    except (ValueError, TypeError, OverflowError) as err:
        raise CropGlobeError(f"{where}: column {field!r} cannot be read as dates ({err})") from None
    bad = t.isna()
    if bad.any():
        example = raw[bad].iloc[0]
        raise CropGlobeError(
            f"{where}: column {field!r} has {int(bad.sum())} values that are not dates (e.g. {example!r}); "
            "expected a date on every row"
        )
    return t


def _month_start(t: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return t.to_period("M").to_timestamp().as_unit("ns")


def _dekad_floor(t: pd.DatetimeIndex) -> pd.DatetimeIndex:
    offset = np.where(t.day < 11, 0, np.where(t.day < 21, 10, 20))
    return _month_start(t) + pd.to_timedelta(offset, unit="D")


def snap_to_period_starts(
    t: pd.DatetimeIndex, where: str, field: str = "timestamp"
) -> tuple[pd.DatetimeIndex, Snapped | None]:
    """Move time stamps within one day of a month/dekad start onto that start.

    Args:
        t: Time stamps (naive UTC).
        where: The input (file), for messages.
        field: The column, for messages and the record.

    Returns:
        (snapped time stamps, record of the move or None when nothing moved).

    Raises:
        CropGlobeError: When a time stamp lies more than a day from every month and dekad start.
    """
    codes, uniq = pd.factorize(t, sort=True)
    u = pd.DatetimeIndex(uniq)
    lo = _dekad_floor(u)
    hi = pd.DatetimeIndex(np.where(lo.day == 21, _month_start(lo + pd.Timedelta(days=15)), lo + pd.Timedelta(days=10)))
    nearest = pd.DatetimeIndex(np.where((u - lo) <= (hi - u), lo, hi))
    shift = nearest - u
    far = np.abs(shift) > DAY
    if far.any():
        shown = ", ".join(str(x) for x in u[far][:3])
        days = sorted(set(u.day.tolist()))[:8]
        raise CropGlobeError(
            f"{where}: {int(far.sum())} {field!r} values lie more than a day from a month start or dekad start "
            f"(e.g. {shown}; days found {days}); expected month starts (monthly composites) or days 1/11/21 "
            "(dekads), shifted by a time zone at most")
    moved = shift != pd.Timedelta(0)
    if not moved.any():
        return t, None
    record = Snapped(field, int(moved.sum()), int(moved[codes].sum()),
                     round(float(np.abs(shift[moved]).max() / pd.Timedelta(hours=1)), 2))
    return pd.DatetimeIndex(nearest[codes]), record


def period_of(times: np.ndarray) -> str:
    """``"month"`` when every (snapped) time is a month start, else ``"dekad"``."""
    return "month" if (pd.DatetimeIndex(times).day == 1).all() else "dekad"


def bin_days(times: np.ndarray, period: str) -> np.ndarray:
    """Days from each bin start to the next month start (monthly) or dekad start (dekadal)."""
    t = pd.DatetimeIndex(times)
    if period == "month":
        return t.days_in_month.to_numpy(np.int32)
    return np.where(t.day < 21, 10, t.days_in_month - 20).astype(np.int32)


def _month_number(t: pd.DatetimeIndex) -> np.ndarray:
    """Months since year 0 of the month holding each date (less than a day before a month start: that month)."""
    late = ((t.to_period("M") + 1).to_timestamp().as_unit("ns") - t) < DAY
    return t.year.to_numpy(np.int64) * 12 + t.month.to_numpy(np.int64) - 1 + late.astype(np.int64)


def _month_starts(number: np.ndarray) -> pd.DatetimeIndex:
    """Month start of each month number (months since year 0)."""
    n = np.asarray(number, dtype=np.int64)
    return pd.DatetimeIndex(pd.to_datetime(pd.DataFrame({"year": n // 12, "month": n % 12 + 1, "day": 1}))).as_unit(
        "ns"
    )


def wide_offsets(start: Any, end: Any | None, n_ts: int, ids: np.ndarray, where: str) -> tuple[np.ndarray, str]:
    """Month number of column ``ts0`` per sample, checked against ``end_date`` (module doc).

    Args:
        start: ``start_date`` per sample.
        end: ``end_date`` per sample, or None when the table has none.
        n_ts: Number of time columns (ts0 .. ts{n_ts-1}).
        ids: Sample ids, for messages.
        where: The input (file), for messages.

    Returns:
        (months since year 0 of ts0 per sample, the rule applied, for the attributes).

    Raises:
        CropGlobeError: When ``end_date`` is neither in the month of the last column nor the month after.
    """
    t0 = naive_utc(start, where, "start_date")
    first = _month_number(t0)
    mid = int((np.abs(t0 - _month_starts(first)) >= DAY).sum())
    rule = "ts0 = month containing start_date (WorldCereal); end_date in the month of the last column or the next"
    if mid:
        rule += f"; {mid} samples start mid-month"
    if end is None:
        return first, rule + " (no end_date column)"
    t1 = naive_utc(end, where, "end_date")
    gap = _month_number(t1) - (first + n_ts - 1)
    bad = (gap < 0) | (gap > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        span = _month_starts(np.array([first[i], first[i] + n_ts - 1])).strftime("%Y-%m")
        raise CropGlobeError(
            f"{where}: columns ts0..ts{n_ts - 1} do not span start_date..end_date as monthly steps for "
            f"{int(bad.sum())} "
            f"samples (e.g. {ids[i]}: start_date {t0[i]} gives ts0 = {span[0]} and ts{n_ts - 1} = {span[1]}, "
            f"but end_date is {t1[i]}); expected end_date in the month of ts{n_ts - 1} or the month after"
        )
    return first, rule


def month_axis(first: np.ndarray, n_ts: int) -> tuple[np.ndarray, np.ndarray]:
    """The union of all samples' monthly windows and each sample's offset into it.

    Returns:
        (datetime64[ns] month starts, offset per sample).
    """
    base = int(first.min())
    times = _month_starts(np.arange(base, int(first.max()) + n_ts))
    return times.to_numpy("datetime64[ns]"), (first - base).astype(np.int64)


def season_years(
    meta: pd.DataFrame, present: np.ndarray, times: np.ndarray, where: str
) -> tuple[np.ndarray, dict[str, int]]:
    """Season year per sample from ``year``, else ``valid_date``, else the dates (module doc).

    Args:
        meta: One row per sample.
        present: (sample, time) True where the sample has a time step.
        times: The datetime time axis.
        where: The input (file), for messages.

    Returns:
        (year per sample, {rule: number of samples}).

    Raises:
        CropGlobeError: On a ``year`` that is not a whole number.
    """
    years = np.full(len(meta), -1, dtype=np.int64)
    used: dict[str, int] = {}
    if "year" in meta.columns:
        ok, values = _year_column(meta["year"], where)
        years[ok] = values[ok]
        used["column 'year'"] = int(ok.sum())
    todo = np.flatnonzero(years < 0)
    if todo.size and "valid_date" in meta.columns:
        v = meta["valid_date"].iloc[todo]
        has = v.notna().to_numpy()
        if has.any():
            years[todo[has]] = naive_utc(v[has], where, "valid_date").round("D").year.to_numpy(np.int64)
            used["year of 'valid_date'"] = int(has.sum())
    todo = np.flatnonzero(years < 0)
    if todo.size:
        years[todo] = _majority_year(present[todo], times)
        used["year holding most time steps"] = int(todo.size)
    return years, used


def _year_column(col: pd.Series, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(has a year, year) per sample from a ``year`` column; empty values are left to the next rule."""
    y = pd.to_numeric(col, errors="coerce").to_numpy(np.float64)
    ok = np.isfinite(y)
    bad = (ok & (y != np.round(y))) | (~ok & col.notna().to_numpy())
    if bad.any():
        example = col.iloc[int(np.flatnonzero(bad)[0])]
        shown = repr(example) if isinstance(example, str) else str(example)
        raise CropGlobeError(f"{where}: column 'year' has {int(bad.sum())} values that are not whole years (e.g. "
                             f"{shown}); expected e.g. 2021")
    return ok, np.where(ok, y, -1).astype(np.int64)


def _majority_year(present: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Calendar year holding most of each sample's time steps (ties: the later year)."""
    t_year = pd.DatetimeIndex(times).year.to_numpy(np.int64)
    uniq = np.unique(t_year)
    counts = present.astype(np.int64) @ (t_year[:, None] == uniq[None, :]).astype(np.int64)
    return uniq[len(uniq) - 1 - np.argmax(counts[:, ::-1], axis=1)]
