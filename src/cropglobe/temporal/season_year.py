"""Which year names a southern season, declared on import and checked against the data's dates.

A SampleSet's ``year`` is the calendar year in which a sample's *aligned year* starts
(:mod:`cropglobe.temporal.season`): 1 January for northern samples, 1 January + 182 days (2 July)
for southern ones, whose season crosses the new year. A southern sample with ``year: 2019``
therefore has the aligned May-September window 2019-10-30 ... 2020-03-30: the season is named by
the year it *starts* in (``season_year="start"``, cropglobe's convention and the default).

Others name the southern season by the year it *ends* in: the CropGlobe paper's southern "2023"
season is July 2022 - June 2023 (Tong & Wang, arXiv:2509.03497). An import that follows them
declares ``season_year="end"`` (table mapping ``season_year: end``, CLI ``--season-year end``), and
the importer stores ``year - 1`` for southern samples (northern seasons lie inside one calendar
year: both conventions agree). The declaration and the number of samples moved are recorded in
``attrs["season_year"]`` and ``attrs["season_year_shifted"]``.

Either way the southern years are checked against the dates: a southern sample with observations
none of which lies in its aligned year (e.g. one declared 2019 under ``start`` whose observations
all lie in July 2018 - June 2019) is an error that names the sample, its aligned year and its
dates, and suggests the other convention where it would fit. Northern samples are not checked:
the convention does not touch them, and their data often start in the autumn before the season
year (winter crops, WorldCereal's harvest-year labels); compositing drops samples whose data do
not cover the season window and counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cropglobe.errors import CropGlobeError
from cropglobe.geography import hemisphere_of
from cropglobe.temporal.season import HEMISPHERE_SHIFT_DAYS, YEAR_DAYS

CONVENTIONS: tuple[str, ...] = ("start", "end")


def southern(countries: np.ndarray, lat: np.ndarray, strict: bool = True) -> np.ndarray:
    """True for samples in the southern hemisphere (the rule of ``align="hemisphere"``).

    Args:
        countries: ISO3 code per sample.
        lat: Latitude per sample (NaN when unknown).
        strict: Raise for an unknown country or one on both sides of the equator without
            latitudes; when False their samples count as northern (left unchecked here; the
            SampleSet checks countries, compositing needs the latitudes).

    Raises:
        CropGlobeError: (``strict``) For an unknown country or an undecidable hemisphere.
    """
    countries = np.asarray(countries).astype(str)
    lat = np.broadcast_to(np.asarray(lat, dtype=float), countries.shape)
    out = np.zeros(countries.shape, dtype=bool)
    for iso in np.unique(countries):
        rows = countries == iso
        try:
            out[rows] = hemisphere_of(iso, lat[rows]) == "S"
        except CropGlobeError:
            if strict:
                raise
    return out


@dataclass(frozen=True)
class Dates:
    """When the samples were observed, as :func:`apply` checks the years against.

    Attributes:
        times: The time axis; only datetime axes are checked (day-of-year axes carry no year).
        present: (sample, time) True where the sample has a value.
        bin_days: Width of each time step for composites (a step overlapping the year counts); None: one day.
    """

    times: np.ndarray
    present: np.ndarray
    bin_days: np.ndarray | int | None = None


def apply(years: np.ndarray, countries: np.ndarray, lat: np.ndarray, dates: Dates, convention: str = "start", *,
          ids: np.ndarray | None = None, where: str = "input") -> tuple[np.ndarray, dict[str, Any]]:
    """Turn declared season years into cropglobe's convention and check them against the dates.

    Args:
        years: Declared season year per sample.
        countries: ISO3 code per sample.
        lat: Latitude per sample (NaN when unknown).
        dates: The time axis, where each sample has a value and the steps' widths (:class:`Dates`).
        convention: ``"start"`` (the year a southern season starts in) or ``"end"`` (the year it ends in).
        ids: Sample ids, for messages.
        where: The input (file), for messages.

    Returns:
        (years in cropglobe's convention, attrs ``season_year`` and ``season_year_shifted``).

    Raises:
        CropGlobeError: For an unknown convention, or southern samples with no observation in their
            aligned year.
    """
    if convention not in CONVENTIONS:
        raise CropGlobeError(f"season_year={convention!r}: expected 'start' (a southern season is named by the year "
                             "it starts in) or 'end' (by the year it ends in)")
    declared = np.asarray(years, dtype=np.int64)
    try:
        south = southern(countries, lat, strict=convention == "end")
    except CropGlobeError as err:
        raise CropGlobeError(f"{where}: season_year=end moves southern samples only: {err}") from None
    stored = declared - (south if convention == "end" else 0)
    t = np.asarray(dates.times)
    if t.size and np.issubdtype(t.dtype, np.datetime64):
        _check(declared, stored, south, Dates(t, np.asarray(dates.present, dtype=bool), dates.bin_days), convention,
               ids, where)
    return stored, {"season_year": convention, "season_year_shifted": int(south.sum()) if convention == "end" else 0}


def _origin(stored: np.ndarray, south: np.ndarray) -> np.ndarray:
    return ((stored - 1970).astype("datetime64[Y]").astype("datetime64[D]")
            + np.where(south, HEMISPHERE_SHIFT_DAYS, 0).astype("timedelta64[D]"))


def _fits(stored: np.ndarray, south: np.ndarray, start: np.ndarray, end: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Per sample: some present step overlaps its aligned year."""
    origin = _origin(stored, south)[:, None]
    inside = (start[None, :] < origin + np.timedelta64(YEAR_DAYS, "D")) & (end[None, :] >= origin)
    return (present & inside).any(axis=1)


def _check(declared: np.ndarray, stored: np.ndarray, south: np.ndarray, dates: Dates, convention: str,
           ids: np.ndarray | None, where: str) -> None:
    """Raise when a southern sample has no observation inside its stored season year (with a hint)."""
    times, present, bin_days = dates.times, dates.present, dates.bin_days
    start = times.astype("datetime64[D]")
    width = np.broadcast_to(np.asarray(1 if bin_days is None else bin_days, dtype=np.int64), start.shape)
    end = start + (width - 1).astype("timedelta64[D]")
    rows = np.flatnonzero(south & present.any(axis=1))
    if rows.size == 0:
        return
    bad = np.zeros(south.size, dtype=bool)
    bad[rows] = ~_fits(stored[rows], south[rows], start, end, present[rows])
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    origin = _origin(stored[i:i + 1], south[i:i + 1])[0]
    seen = np.flatnonzero(present[i])
    name = f"sample {ids[i]}" if ids is not None else f"sample {i + 1}"
    other = "end" if convention == "start" else "start"
    hint = "; check the year column or value"
    alt = declared[i:i + 1] - (1 if other == "end" else 0)
    if _fits(alt, south[i:i + 1], start, end, present[i:i + 1])[0]:
        way = "ends in (the CropGlobe paper's convention)" if other == "end" else "starts in"
        hint = (f"; if the years name each southern season by the year it {way}, declare season_year: {other} "
                f"(CLI: --season-year {other})")
    raise CropGlobeError(
        f"{where}: {int(bad.sum())} of {rows.size} southern samples have no observation inside their season year "
        f"(e.g. {name}, year {declared[i]}: under season_year={convention} its aligned year runs {origin}.."
        f"{origin + np.timedelta64(YEAR_DAYS - 1, 'D')}, but its observations lie in {start[seen[0]]}..{end[seen[-1]]})"
        f"; expected the year of each sample's season{hint}"
    )
