"""Irregular observations -> fixed-interval median composites on the aligned season calendar.

The temporal pipeline of Tong & Wang (arXiv:2509.03497): Sentinel-2 observations passing a
clear-sky test are reduced to median composites in fixed bins (5 days by default, giving 73 bins
over a year), gaps are filled by linear interpolation in time with the nearest value at the edges,
and southern-hemisphere samples are put on the northern calendar (see :mod:`cropglobe.temporal.season`).
The result is the *full-year* composite (augmentation reads outside the season window);
:func:`season` slices the window (May-November: 43 five-day bins).

Clear-sky test per observation: a ``clear`` score >= ``clear_threshold`` (Cloud Score+ ``cs_cdf``
style; a boolean mask stored as 0/1 works the same), and/or Sentinel-2 scene-classification
``scl`` codes in ``scl_keep`` (default 4 vegetation, 5 bare soil, 6 water; cloud, shadow, snow,
saturated and no-data codes are dropped). Data that is already composited on a coarser grid
(dekadal, monthly: ``time_kind="composite"`` with datetime ``time`` and ``bin_days``) is re-gridded
onto the requested bins by linear interpolation between bin centres, and the attributes say so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from cropglobe import samples
from cropglobe.checks import is_whole, whole_number
from cropglobe.errors import CropGlobeError
from cropglobe.temporal import gapfill
from cropglobe.temporal import season as _season
from cropglobe.temporal.calendar import Calendar
from cropglobe.temporal.season import season, window_bins
from cropglobe.temporal.settings import SCL_KEEP, CompositeSettings

__all__ = ["composite", "season", "window_bins", "clear_mask", "SCL_KEEP", "CompositeSettings"]

log = logging.getLogger(__name__)
_DAY = np.timedelta64(1, "D")


def clear_mask(ds: xr.Dataset, clear_threshold: float = 0.75, scl_keep: tuple[int, ...] = SCL_KEEP) -> np.ndarray:
    """Return the (sample, time) mask of usable observations.

    An observation is usable when at least one band is finite, its ``clear`` score (if present) is
    >= ``clear_threshold`` and its ``scl`` code (if present) is in ``scl_keep``.

    Raises:
        CropGlobeError: If ``clear_threshold`` is outside [0, 1].
    """
    return _clear(np.ascontiguousarray(ds["reflectance"].transpose("sample", "band", "time").values), ds,
                  clear_threshold, scl_keep)


def _clear(refl: np.ndarray, ds: xr.Dataset, clear_threshold: float, scl_keep: tuple[int, ...]) -> np.ndarray:
    """:func:`clear_mask` on an already C-contiguous (sample, band, time) reflectance array."""
    if not 0.0 <= float(clear_threshold) <= 1.0:
        raise CropGlobeError(f"clear_threshold={clear_threshold!r}: expected a score in [0, 1]")
    score = ds["clear"].transpose("sample", "time").values if "clear" in ds else None
    scl = ds["scl"].transpose("sample", "time").values if "scl" in ds else None
    return usable(refl, score, scl, clear_threshold, scl_keep)


def usable(refl: np.ndarray, clear: np.ndarray | None, scl: np.ndarray | None, clear_threshold: float,
           scl_keep: tuple[int, ...] = SCL_KEEP) -> np.ndarray:
    """The clear-sky rule on arrays: some band observed, ``clear`` >= threshold, ``scl`` code kept.

    ``refl`` has the band axis second, (sample, band, time) or time-major (time, band, pixel);
    ``clear`` and ``scl`` have ``refl``'s shape without that axis. Used by :func:`composite` and
    by the map tiles, so both apply the same rule.
    """
    ok = ~np.isnan(np.fmax.reduce(refl, axis=1))  # fmax skips NaN: NaN only when every band is NaN
    if clear is not None:
        ok &= np.asarray(clear, dtype=np.float32) >= np.float32(clear_threshold)  # NaN compares False
    if scl is not None:
        ok &= np.isin(scl, np.asarray(scl_keep))
    return ok


def _check_dates(ds: xr.Dataset) -> np.ndarray:
    if "reflectance" not in ds or "time" not in ds.coords:
        raise CropGlobeError("composite: expected a SampleSet with 'reflectance' and a 'time' coordinate")
    for name in ("year", "country", "sample_id"):
        if name not in ds.coords:
            raise CropGlobeError(f"composite: missing per-sample coordinate {name!r}")
    t = ds["time"].values
    if t.size > 1:
        step = np.diff(t.astype("datetime64[ns]").astype(np.int64) if np.issubdtype(t.dtype, np.datetime64)
                       else t.astype(np.int64))
        bad = np.flatnonzero(step <= 0)
        if bad.size:
            i = int(bad[0])
            raise CropGlobeError(
                f"composite: dates are not strictly increasing at time index {i + 1} "
                f"({t[i]} then {t[i + 1]}); expected sorted, unique dates"
            )
    return t


def _centres(time: np.ndarray, ds: xr.Dataset) -> np.ndarray:
    """Bin-centre datetimes of a coarse composite (start + half its width), in day units."""
    width = ds["bin_days"].values.astype(np.float64)
    return time.astype("datetime64[D]").astype(np.float64) + width / 2.0


def composite(ds: xr.Dataset, settings: CompositeSettings | None = None, chunk: int = 2048) -> xr.Dataset:
    """Composite a SampleSet onto the full-year aligned calendar (median bins + gap filling).

    Args:
        ds: Observation-level SampleSet (datetime ``time``), or a coarser composite with datetime
            ``time`` and ``bin_days`` (dekadal, monthly), re-gridded by interpolation.
        settings: How to composite (default: ``CompositeSettings()``), the object a recipe records.
            Its values are checked here again and a bad one raises :class:`CropGlobeError` naming it, so
            user input may come unvalidated (``CompositeSettings.model_construct(...)``, whose
            ``offsets`` may then also name a YAML file). Its fields:

            * ``interval``: bin width in days (73 bins for 5 days; the last bin is shorter when 365 is
              not a multiple).
            * ``window``: season window ``MM-DD:MM-DD`` on the aligned calendar.
            * ``align``: ``"hemisphere"``, ``"none"`` or a number of days for every sample.
            * ``clear_threshold``: minimum ``clear`` score of a usable observation.
            * ``min_clear``: samples with fewer usable observations (coarse input: usable steps) inside the
              season window are dropped; their number is in ``attrs["dropped_samples"]`` and logged.
            * ``offsets``: per-country shift in days (mapping or YAML file), replacing ``align`` for them.
            * ``scl_keep``: scene-classification codes counted as clear when ``scl`` is present.
            * ``coverage``: what to do with samples whose data do not span the aligned season window
              (multi-year tables, short extractions): ``"drop"`` them (counts per country in
              ``attrs["dropped_coverage"]``, logged), raise (``"error"``), or ``"fill"``: keep samples
              whose data stop at most ``fill_days`` short of either window edge. Their missing edge bins
              hold the nearest value (the gap filler's own edge rule, which every sample's cloudy edge
              bins already get, and which the map kernels reproduce); the kept ones are counted per
              country in ``attrs["edge_filled"]``, longer edge gaps are dropped. See :func:`covers_window`.
            * ``fill_days``: the longest edge gap ``coverage="fill"`` fills, in days of the window.
        chunk: Pixels per block of the vectorised median.

    Returns:
        A composite SampleSet: integer ``time`` (bin-start aligned day of year), ``bin_days``,
        per-sample coords ``shift_days``, ``n_clear``, ``filled_fraction`` (share of band x bin
        cells filled over the year) and ``filled_fraction_window``; attrs ``season_window``,
        ``alignment``, ``interval``, ``dropped_samples``, ``dropped_sample_ids``,
        ``dropped_coverage``, ``dropped_min_clear`` and ``edge_filled`` (per-country counts), ``regridded_from`` and
        ``composite_settings`` (these arguments as :class:`~cropglobe.temporal.settings.CompositeSettings`
        values: what a recipe records and :meth:`CompositeSettings.from_attrs` reads back).

    Raises:
        CropGlobeError: For interval <= 0, non-monotonic dates, a window outside every sample's
            dates (or any sample's with ``coverage="error"``), no clear observation at all, or when
            every sample has fewer than ``min_clear``.
    """
    given = CompositeSettings() if settings is None else settings
    interval, window, align, clear_threshold = given.interval, given.window, given.align, given.clear_threshold
    min_clear, offsets, scl_keep = given.min_clear, given.offsets, given.scl_keep
    coverage, fill_days = given.coverage, given.fill_days
    cal = Calendar(interval, window, align, offsets)  # the aligned calendar, once
    bin_start, bin_days, first, last = cal.bin_start, cal.bin_days, cal.first, cal.last
    min_clear = whole_number(min_clear, "min_clear", 0)
    if coverage not in ("drop", "error", "fill"):
        raise CropGlobeError(f"coverage={coverage!r}: expected 'drop', 'error' or 'fill'")
    settings = CompositeSettings.model_construct(
        interval=int(interval), window=window, align=int(align) if is_whole(align) else str(align),
        clear_threshold=float(clear_threshold), min_clear=min_clear, offsets=_season.load_offsets(offsets) or None,
        scl_keep=tuple(int(c) for c in scl_keep), coverage=coverage,
        fill_days=whole_number(fill_days, "fill_days", 0, 180))
    t = _check_dates(ds)
    if not np.issubdtype(t.dtype, np.datetime64):
        raise CropGlobeError(
            "composite: the time axis holds day-of-year integers (an already aligned composite); expected "
            "datetime observation dates or a dated coarse composite (dekadal, monthly)"
        )
    coarse = ds.attrs.get("time_kind") == "composite"
    if coarse and "bin_days" not in ds.coords:
        raise CropGlobeError("composite: a dated composite input needs a 'bin_days' coordinate along time")
    refl = np.ascontiguousarray(ds["reflectance"].transpose("sample", "band", "time").values)
    valid = _clear(refl, ds, clear_threshold, scl_keep)
    if not valid.any():
        what = ["a finite value"] + ([f"clear >= {clear_threshold:g}"] if "clear" in ds else []) + \
               ([f"scl in {list(scl_keep)}"] if "scl" in ds else [])
        raise CropGlobeError(
            f"composite: no clear observations at all in {ds.sizes['sample']} samples "
            f"(an observation needs {' and '.join(what)})"
        )
    countries = ds["country"].values
    shifts, align_label = cal.shifts(countries, ds["lat"].values if "lat" in ds.variables
                                     else np.full(countries.shape, np.nan))
    origin = cal.origins(ds["year"].values, shifts)
    days = t.astype("datetime64[D]")
    n, nb = refl.shape[:2]
    shape = (n, nb, bin_start.size)
    out = np.empty(shape, dtype=np.float32)
    gaps = np.empty((n, bin_start.size), dtype=np.int16)  # bands missing per (sample, bin) before filling
    n_clear = np.zeros(n, dtype=np.int64)
    covered = np.ones(n, dtype=bool)
    strict = np.ones(n, dtype=bool)  # covered without the edge fill
    has_data = ~np.isnan(np.fmax.reduce(refl, axis=1))
    ends = days + (ds["bin_days"].values.astype(np.int64) - 1).astype("timedelta64[D]") if coarse else days
    for start, take in cal.groups(origin):  # one calendar at a time (a slice: no copy)
        span = cal.window_span(start)
        covered[take] = covers_window(has_data[take], days, ends, *span, settings.edge_tolerance(not coarse))
        if coverage == "fill":
            strict[take] = covers_window(has_data[take], days, ends, *span, 0 if coarse else int(interval) - 1)
        ok = valid[take]
        if coarse:
            rel = _centres(t, ds) - start.astype(np.float64)  # bin centres, days from the aligned start
            values, missing = _regrid_coarse(refl[take], ok, rel, days - start, ds, bin_start, bin_days)
            gaps[take] = missing.sum(axis=1)
        else:
            rel = cal.days_from(days, start)
            values = gapfill.bin_median(refl[take], ok, rel, int(interval), bin_start.size, chunk=chunk)
            gaps[take] = np.isnan(values).sum(axis=1)
        if isinstance(take, slice):
            out = values
        else:
            out[take] = values
        n_clear[take] = (ok & cal.in_window(rel)[None, :]).sum(axis=1)
    if not coarse:
        out = gapfill.fill_gaps(out, bin_start.astype(np.float64), gaps=gaps, inplace=True)
    countries = ds["country"].values.astype(str)
    _check_coverage(ds, covered, origin, days, first, last, window, coverage)
    keep = (n_clear >= min_clear) & covered
    ids = ds["sample_id"].values.astype(str)
    dropped = ids[~keep]
    by_coverage = _per_country(countries[~covered])
    by_clear = _per_country(countries[covered & (n_clear < min_clear)])
    by_fill = _per_country(countries[keep & ~strict])
    if by_fill:
        log.info("composite: filled the window edges (up to %d days) of %d of %d samples (%s)", settings.fill_days,
                 int((keep & ~strict).sum()), n, _counts_text(by_fill))
    if by_coverage:
        log.warning("composite: dropped %d of %d samples whose data do not cover the season window %s (%s)",
                    int((~covered).sum()), n, window, _counts_text(by_coverage))
    if not keep.any():
        raise CropGlobeError(
            f"composite: every one of the {n} samples has fewer than min_clear={min_clear} clear "
            f"observations inside the season window {window} (most: {int(n_clear.max())}); lower "
            "min_clear or clear_threshold, or check the window and alignment"
        )
    if by_clear:
        log.warning("composite: dropped %d of %d samples with fewer than %d clear observations in %s (%s)",
                    sum(by_clear.values()), n, min_clear, window, _counts_text(by_clear))
    kept = slice(None) if keep.all() else np.flatnonzero(keep)
    w0, wn = cal.window_bins
    coords: dict[str, Any] = {name: ("sample", ds[name].values[kept]) for name in ds.coords
                              if ds[name].dims == ("sample",)}
    coords.update({
        "band": ("band", ds["band"].values), "time": ("time", bin_start), "bin_days": ("time", bin_days),
        "doy": ("time", bin_start.copy()),
        "shift_days": ("sample", shifts[kept].astype(np.int32)),
        "n_clear": ("sample", n_clear[kept].astype(np.int32)),
        "filled_fraction": ("sample", (gaps[kept].sum(axis=1) / (nb * bin_start.size)).astype(np.float32)),
        "filled_fraction_window": ("sample", (gaps[kept][:, w0:w0 + wn].sum(axis=1) / (nb * wn)).astype(np.float32)),
    })
    attrs = _attrs(ds, given, align_label, dropped, coarse, t)  # the values as given, min_clear checked
    attrs.update({"dropped_coverage": by_coverage, "dropped_min_clear": by_clear, "edge_filled": by_fill,
                  "coverage": coverage, "composite_settings": settings.to_attrs()})
    result = xr.Dataset({"reflectance": (samples.DIMS, out[kept])}, coords=coords, attrs=attrs)
    return samples.validate(result, where="composite")


def _regrid_coarse(block: np.ndarray, ok: np.ndarray, rel: np.ndarray, start_offset: np.ndarray, ds: xr.Dataset,
                   bin_start: np.ndarray, bin_days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate coarse composites (centres at ``rel``) to the new bin centres; flag filled cells.

    A new cell counts as filled when the coarse step covering its centre is missing.
    """
    n, nb, nt = block.shape
    masked = np.where(ok[:, None, :], block, np.nan)
    centre = (bin_start - 1) + bin_days / 2.0
    values = gapfill.regrid_linear(masked.reshape(-1, nt), rel, centre).reshape(n, nb, -1)
    src_start = start_offset.astype(np.int64).astype(np.float64)
    width = ds["bin_days"].values.astype(np.float64)
    cover = np.clip(np.searchsorted(src_start, centre, side="right") - 1, 0, None)
    inside = (centre >= src_start[cover]) & (centre < src_start[cover] + width[cover])
    missing = ~(np.isfinite(masked[:, :, cover]) & inside[None, None, :])
    return values, missing


def covers_window(has_data: np.ndarray, starts: np.ndarray, ends: np.ndarray, w0: np.datetime64,
                  w1: np.datetime64, tolerance_days: int = 0) -> np.ndarray:
    """Say, per sample, whether its data span the aligned season window ``w0..w1``.

    A sample covers the window when its earliest step with data starts on or before ``w0`` and its
    latest one ends on or after ``w1`` (``tolerance_days`` earlier/later allowed: one bin minus a
    day for observations, whose nearest value fills the bin's edge; none for coarse composites,
    whose steps have a width; ``fill_days`` with ``coverage="fill"``, see
    :meth:`CompositeSettings.edge_tolerance`). Cloudy steps count: missing values *inside* the
    window are the gap filler's and ``min_clear``'s concern, not coverage.

    Args:
        has_data: (sample, time) True where some band has a value.
        starts: Datetime64[D] start of each time step.
        ends: Datetime64[D] last day of each time step (``starts`` for observations).
        w0: First day of the window on these samples' aligned calendar.
        w1: Last day of the window.
        tolerance_days: Allowed distance of the first/last data from the window's edges.

    Returns:
        Boolean (sample,) array; samples without any data do not cover.
    """
    any_data = has_data.any(axis=1)
    nt = has_data.shape[1]
    i0 = np.argmax(has_data, axis=1)
    i1 = nt - 1 - np.argmax(has_data[:, ::-1], axis=1)
    tol = np.timedelta64(int(tolerance_days), "D")
    return any_data & (starts[i0] <= w0 + tol) & (ends[i1] >= w1 - tol)


def _check_coverage(ds: xr.Dataset, covered: np.ndarray, origin: np.ndarray, days: np.ndarray, first: int,
                    last: int, window: str, coverage: str) -> None:
    """Raise when no sample (or, with ``coverage="error"``, some sample) covers the window."""
    if covered.all() or (coverage != "error" and covered.any()):
        return
    rows = np.flatnonzero(~covered)
    start = origin[rows[0]]
    group = rows[origin[rows] == start]
    w0 = start + (first - 1) * _DAY
    w1 = start + (last - 1) * _DAY
    countries = _counts_text(_per_country(ds["country"].values.astype(str)[rows]))
    years = ", ".join(str(y) for y in sorted(set(ds["year"].values[group].tolist())))
    shift = int((start - np.datetime64(f"{str(start)[:4]}-01-01")).astype(int))
    which = "every sample" if not covered.any() else f"{rows.size} of {covered.size} samples"
    raise CropGlobeError(
        f"composite: season window {window} lies outside the data's dates for {which} ({countries}): "
        f"for year {years} the aligned window spans {w0}..{w1} but the data cover {days[0]}..{days[-1]} at most; "
        "expected data covering the whole window (a window shifted across the year boundary, "
        f"here by {shift} days, needs dates from the next calendar year)"
        + ("; use coverage='drop' to drop such samples, or coverage='fill' to fill short edge gaps"
           if coverage == "error" and covered.any() else "")
    )


#: Per-country drop counts a composite records in its attrs (see :func:`composite`).
DROP_KEYS: tuple[str, ...] = ("dropped_coverage", "dropped_min_clear")
#: All per-country counts a composite records: the drops and the samples kept by ``coverage="fill"``.
COUNT_KEYS: tuple[str, ...] = (*DROP_KEYS, "edge_filled")


def add_drops(total: dict[str, dict[str, int]], attrs: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Add a composite's per-country counts (:data:`COUNT_KEYS` of its attrs) into ``total``.

    Used where several composites make one result (the parts of a study, the blocks of a stream).
    """
    for key in COUNT_KEYS:
        into = total.setdefault(key, {})
        for iso, n in (attrs.get(key) or {}).items():
            into[iso] = into.get(iso, 0) + int(n)
    return total


def _per_country(countries: np.ndarray) -> dict[str, int]:
    names, counts = np.unique(countries, return_counts=True)
    return {str(k): int(v) for k, v in zip(names, counts, strict=True)}


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def _attrs(ds: xr.Dataset, settings: CompositeSettings, alignment: str, dropped: np.ndarray, coarse: bool,
           t: np.ndarray) -> dict[str, Any]:
    """The composite's attrs: the settings as given (``min_clear`` already checked) and what it did."""
    interval, window, threshold = settings.interval, settings.window, settings.clear_threshold
    min_clear = whole_number(settings.min_clear, "min_clear", 0)
    attrs = {k: v for k, v in ds.attrs.items() if k not in ("bands", "time_kind")}
    regridded = ""
    if coarse:
        step = float(np.median(np.diff(t.astype("datetime64[D]").astype(np.int64)))) if t.size > 1 else 0.0
        regridded = f"{step:g}-day composites (linear interpolation between bin centres, nearest at the edges)"
    step = (f"composite(interval={interval}, window={window}, align={alignment!r}, "
            f"clear_threshold={threshold}, min_clear={min_clear}, dropped={dropped.size})")
    attrs.update({
        "time_kind": "composite", "season_window": window, "alignment": alignment, "interval": int(interval),
        "clear_threshold": float(threshold), "min_clear": int(min_clear),
        "dropped_samples": int(dropped.size), "dropped_sample_ids": [str(x) for x in dropped[:1000]],
        "regridded_from": regridded,
        "gap_fill": "none (interpolated)" if coarse else "linear in time, nearest value at the edges",
        "history": [*list(ds.attrs.get("history") or []), step],
    })
    return attrs
