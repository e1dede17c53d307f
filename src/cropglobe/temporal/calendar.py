"""The aligned compositing calendar, computed once per composite or map (:class:`Calendar`).

Every stage that bins observations onto the aligned year asks the same questions: the bins
(:func:`cropglobe.temporal.season.axis`), the season window in days and in bins
(:func:`~cropglobe.temporal.season.parse_window`, :func:`~cropglobe.temporal.season.bins_of_window`),
each point's alignment shift (hemisphere or a fixed number of days, per-country offsets:
:func:`~cropglobe.temporal.season.shifts`), its aligned 1 January and the groups of points that share
a calendar (:func:`~cropglobe.temporal.season.calendar_groups`). :class:`Calendar` answers them from
one object built once: :func:`cropglobe.temporal.composite.composite`, the map's blocks
(:mod:`cropglobe.mapping.predict`), the map's season year (:mod:`cropglobe.mapping.locate`) and Earth
Engine exports (:mod:`cropglobe.sources.acquire.gee`) use it (tests/temporal/test_calendar.py
checks that they agree with it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cropglobe.temporal import season

_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class Calendar:
    """The aligned calendar of a compositing setting: bins, season window and alignment rule.

    Attributes:
        interval: Bin width in days.
        window: Season window ``MM-DD:MM-DD`` on the aligned calendar.
        align: ``"hemisphere"``, ``"none"`` or a whole number of days.
        offsets: Per-country days replacing the ``align`` shift (a mapping or a YAML file).
        bin_start: Bin-start days of the aligned year (1, 1 + interval, ...).
        bin_days: Bin widths in days.
        first: First day of the season window on the aligned year (1-based).
        last: Last day of the season window on the aligned year (1-based).
    """

    interval: int = 5
    window: str = "05-01:11-30"
    align: str | int = "hemisphere"
    offsets: Mapping[str, int] | str | os.PathLike | None = None
    bin_start: np.ndarray = field(init=False, repr=False, compare=False)
    bin_days: np.ndarray = field(init=False, repr=False, compare=False)
    first: int = field(init=False)
    last: int = field(init=False)

    def __post_init__(self) -> None:
        start, days = season.axis(self.interval)
        first, last = season.parse_window(self.window)
        for name, value in (("interval", int(self.interval)), ("bin_start", start), ("bin_days", days),
                            ("first", first), ("last", last)):
            object.__setattr__(self, name, value)

    @classmethod
    def of(cls, settings: Any) -> Calendar:
        """The calendar of compositing settings (a :class:`~cropglobe.temporal.settings.CompositeSettings`)."""
        return cls(int(settings.interval), settings.window, settings.align, settings.offsets)

    @property
    def n_bins(self) -> int:
        """Bins of the aligned year."""
        return int(self.bin_start.size)

    @property
    def year_days(self) -> int:
        """Days the bins cover from the aligned 1 January (observations beyond are not binned)."""
        return self.n_bins * self.interval

    @property
    def window_bins(self) -> tuple[int, int]:
        """``(start, count)`` of the season window's bins."""
        return season.bins_of_window(self.bin_start, self.bin_days, self.window)

    def shifts(self, countries: np.ndarray | list[str] | str, lat: np.ndarray) -> tuple[np.ndarray, str]:
        """Each point's shift in days (country and latitude) and the alignment's description."""
        return season.shifts(countries, lat, self.align, self.offsets)

    @staticmethod
    def origins(years: np.ndarray | int, shifts: np.ndarray) -> np.ndarray:
        """Each point's aligned 1 January (``datetime64[D]``): 1 January of its year plus its shift."""
        years = np.broadcast_to(np.asarray(years, dtype=np.int64), np.shape(shifts))
        return (years - 1970).astype("datetime64[Y]").astype("datetime64[D]") + np.asarray(shifts).astype(
            "timedelta64[D]")

    @staticmethod
    def groups(origins: np.ndarray) -> Iterator[tuple[Any, slice | np.ndarray]]:
        """The points grouped by calendar (:func:`cropglobe.temporal.season.calendar_groups`)."""
        return season.calendar_groups(origins)

    @staticmethod
    def days_from(dates: np.ndarray, origin: np.datetime64) -> np.ndarray:
        """Whole days (int64) of ``dates`` after an aligned 1 January."""
        return (np.asarray(dates).astype("datetime64[D]") - np.datetime64(origin, "D")).astype(np.int64)

    def in_window(self, rel_days: np.ndarray) -> np.ndarray:
        """Which days (after the aligned 1 January, 0-based) lie inside the season window."""
        return (rel_days >= self.first - 1) & (rel_days < self.last)

    def window_span(self, origin: np.datetime64) -> tuple[np.datetime64, np.datetime64]:
        """The first and last date of the season window of the calendar starting at ``origin``."""
        o = np.datetime64(origin, "D")
        return o + (self.first - 1) * _DAY, o + (self.last - 1) * _DAY
