"""Read ESA WorldCereal point extractions (long or wide Parquet) into a composite SampleSet.

Layouts (WorldCereal/worldcereal-classification, WorldCereal/prometheo and
WorldCereal/presto-worldcereal test data):

* **long**: one row per (``sample_id``, ``timestamp``), bands in columns ``S2-L2A-Bxx``; time
  steps a sample lacks are absent rows (NaN in the cube). Time stamps within a day of a month or
  dekad start (local midnight stored as UTC) are snapped to it and recorded in
  ``attrs["timestamps_snapped"]`` and the history (:mod:`cropglobe.sources.readers.worldcereal_time`).
* **wide**: one row per sample, columns ``OPTICAL-Bxx-ts{i}-{10m|20m}``; ``ts0`` is the month
  containing ``start_date`` and ``end_date`` falls in the month of the last column or the next
  (``attrs["wide_time_rule"]``). Samples from several years share the union of their months.

Values are Sentinel-2 L2A digital numbers: imported with ``scale=1e-4`` and ``nodata=65535``. A
band whose values are all nodata (B8A in several files) is dropped and listed in
``attrs["bands_absent"]``. Digital numbers above 15000 (reflectance > 1.5, outside the SampleSet
range; seen in 20 m bands of the Flanders files) are set to NaN and counted in
``attrs["masked_out_of_range"]``. Labels are ``ewoc_code`` or legacy ``CROPTYPE_LABEL`` decoded
with :mod:`cropglobe.sources.readers.labels`; the original code counts are kept in
``attrs["original_label_counts"]``; codes the WorldCereal legend calls unknown (code 0 in both
schemes, legacy 991 and 9700 "Unknown") are dropped by default and counted in
``attrs["dropped_unknown_code0"]`` (all of them; the name is kept from when code 0 was the only
one) and per code in ``attrs["dropped_unknown_codes"]``. The season year comes from ``year``,
``valid_date`` or the dates (``attrs["year_source"]``), under the declared southern season-year
convention (:mod:`cropglobe.temporal.season_year`). A user's own legend (``legend=``, a file with
``classes:`` and a code -> class ``map``: :mod:`cropglobe.sources.readers.worldcereal_legend`) replaces
the seven-class decoding; the SampleSet then records it (``attrs["classes"]``, ``attrs["label_legend"]``
and the map in ``attrs["label_legend_map"]``). Columns not imported (S1, meteo, DEM, ...) are listed in
``attrs["ignored_columns"]`` (wide time columns as ``-ts*``). Countries follow
:mod:`cropglobe.sources.readers.country`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from cropglobe import bands as _bands
from cropglobe import samples
from cropglobe.checks import not_a_file
from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import country as _country
from cropglobe.sources.readers import labels as _labels
from cropglobe.sources.readers import worldcereal_time as _time
from cropglobe.sources.readers.pivot import check_scales, long_to_cube, require_columns
from cropglobe.sources.readers.worldcereal_legend import WorldCerealLegend, load_legend
from cropglobe.temporal import season_year as _season_year

SCALE = 1e-4
NODATA = 65535
MAX_DN = 15000
_LONG = re.compile(r"^S2-L2A-(B\d{2}|B8A)$")
_WIDE = re.compile(r"^OPTICAL-(B\d{2}|B8A)-ts(\d+)-\d+m$")
_TS = re.compile(r"-ts\d+(?=-|$)")
_COMMON = ("sample_id", "ref_id", "lon", "lat", "year", "valid_date")
_LAYOUT_META = {"long": ("timestamp",), "wide": ("start_date", "end_date")}
_LABEL_FIELDS = ("ewoc_code", "CROPTYPE_LABEL")


@dataclass(frozen=True)
class Extraction:
    """The columns of a WorldCereal file that are imported, and those that are not."""

    frame: pd.DataFrame
    layout: str
    label_field: str
    ignored: list[str]


@dataclass
class _Grid:
    """A layout turned into a cube: ids, time axis, (sample, band, time) raw values and notes."""

    ids: np.ndarray
    times: np.ndarray
    cube: np.ndarray
    rows: np.ndarray
    band_raw: list[str]
    period: str
    attrs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def read_extraction(path: str | os.PathLike) -> Extraction:
    """Read the columns a WorldCereal import needs from a Parquet file (one clear error on failure).

    Raises:
        CropGlobeError: Missing or unreadable file, or no Sentinel-2 columns.
    """
    p = Path(path)
    if not p.is_file():
        raise not_a_file(p, "a WorldCereal extraction .parquet/.geoparquet")
    try:
        import pyarrow.parquet as pq

        names = [str(c) for c in pq.read_schema(p).names]
    except Exception as err:  # any reader failure is a bad input here
        raise CropGlobeError(f"{p}: cannot be read as Parquet ({type(err).__name__}: {err})") from None
    if any(_LONG.match(c) for c in names):
        layout, bands = "long", _LONG
    elif any(_WIDE.match(c) for c in names):
        layout, bands = "wide", _WIDE
    else:
        raise CropGlobeError(f"{p}: no Sentinel-2 columns found; expected 'S2-L2A-Bxx' (long layout) or "
                             "'OPTICAL-Bxx-ts{i}-{10m|20m}' (wide layout)")
    label_field = next((c for c in _LABEL_FIELDS if c in names), _LABEL_FIELDS[0])
    meta = {*_COMMON, *_LAYOUT_META[layout], label_field, "label_full"}
    keep = [c for c in names if c in meta or bands.match(c) or c.startswith("__index")]
    ignored = list(dict.fromkeys(_TS.sub("-ts*", c) for c in names if c not in keep))
    try:
        df = pd.read_parquet(p, columns=keep)
    except Exception as err:
        raise CropGlobeError(f"{p}: cannot be read as Parquet ({type(err).__name__}: {err})") from None
    if "sample_id" not in df.columns and df.index.name == "sample_id":
        df = df.reset_index()
    return Extraction(df, layout, label_field, ignored)


def read_worldcereal(
    path: str | os.PathLike, *, unknown: str = "error", country: str | None = None, drop_code0: bool = True,
    season_year: str = "start", legend: WorldCerealLegend | str | os.PathLike | None = None,
) -> xr.Dataset:
    """Read a WorldCereal extraction file into a validated composite SampleSet.

    Args:
        path: A long or wide WorldCereal Parquet file.
        unknown: Policy for unknown label codes: ``"error"`` (default), ``"other"`` or ``"drop"``.
        country: ISO3 code for every sample, overriding the ref_id/coordinate rule.
        drop_code0: Leave out samples whose code the WorldCereal legend calls unknown (0, legacy 991
            and 9700), counted in ``attrs["dropped_unknown_code0"]`` (default); False applies
            ``unknown`` to them too.
        season_year: ``"start"`` (default) or ``"end"``: whether the years name southern seasons by
            the year they start or end in (:mod:`cropglobe.temporal.season_year`).
        legend: The user's own legend (a :class:`WorldCerealLegend` or its YAML file): its ``map``
            decides each code's class instead of the shipped seven-class table; unmatched codes
            follow ``unknown``.

    Returns:
        The SampleSet (reflectance 0-1, datetime bin starts, ``bin_days``).

    Raises:
        CropGlobeError: Unreadable file, missing columns, unknown labels, duplicated rows, time
            stamps off the month/dekad grid, wide columns that do not match start/end dates, season
            years that do not fit the dates.
    """
    where = str(path)
    own = load_legend(legend) if legend is not None and not isinstance(legend, WorldCerealLegend) else legend
    src = read_extraction(path)
    df = src.frame
    grid = _long(df, where) if src.layout == "long" else _wide(df, where)
    meta = df.iloc[grid.rows]
    require_columns(df.columns, [src.label_field, "lon", "lat"] + ([] if country else ["ref_id"]), where,
                    "label column 'ewoc_code' or 'CROPTYPE_LABEL', coordinates and ref_id")
    if src.layout == "long":
        _check_constant_per_sample(df, [c for c in (src.label_field, "year", "valid_date") if c in df.columns], where)
    classes, idx, label_attrs = _decode_labels(meta, src.label_field, unknown, drop_code0, where, own)
    present = np.isfinite(grid.cube[idx]).any(axis=1)
    years, year_source = _time.season_years(meta.iloc[idx], present, grid.times, where)
    cube, band_names, absent, n_masked = _reflectance(grid.cube, grid.band_raw, where)
    lon, lat = meta["lon"].to_numpy(float), meta["lat"].to_numpy(float)
    if country:
        countries = np.full(len(grid.ids), country.upper())
        rule = f"given by the user: {country.upper()}"
    else:
        countries = _country.from_ref_id(meta["ref_id"].to_numpy(str), lon, lat, where)
        rule = _country.RULE
    widths = _time.bin_days(grid.times, grid.period)
    years, year_attrs = _season_year.apply(years, countries[idx], lat[idx],
                                           _season_year.Dates(grid.times, present, widths), season_year,
                                           ids=grid.ids[idx], where=where)
    attrs = {
        "source": f"WorldCereal extraction {Path(path).name}", "source_file": str(path), "layout": src.layout,
        "composite_period": grid.period, "bands_present": band_names, "bands_absent": absent, **label_attrs,
        "masked_out_of_range": n_masked, "country_rule": rule, "nodata": NODATA, "year_source": year_source,
        "ignored_columns": src.ignored, **year_attrs, **grid.attrs,
    }
    if own is not None:
        attrs.update({"label_legend": str(legend) if not isinstance(legend, WorldCerealLegend) else "given",
                      "label_legend_map": own.record()})
    ds = samples.build(
        samples.SampleArrays(cube[idx], bands=band_names, time=grid.times, sample_id=grid.ids[idx], label=classes[idx],
        country=countries[idx], year=years, lon=lon[idx], lat=lat[idx],
        bin_days=widths), scale=SCALE, attrs=attrs, where=where, classes=None if own is None else own.classes,
    )
    ds = samples.add_history(ds, f"import worldcereal {Path(path).name} ({src.layout}, {grid.period})")
    for note in _notes(grid, label_attrs, year_source, src.ignored, year_attrs["season_year_shifted"]):
        ds = samples.add_history(ds, f"import worldcereal: {note}")
    return ds


def _notes(grid: _Grid, label_attrs: dict[str, Any], year_source: dict[str, int], ignored: list[str],
           shifted: int) -> list[str]:
    notes = list(grid.notes)
    if label_attrs["dropped_unknown_code0"]:
        codes = ", ".join(f"{k}: {v}" for k, v in label_attrs["dropped_unknown_codes"].items())
        notes.append(f"dropped {label_attrs['dropped_unknown_code0']} samples with codes the legend calls "
                     f"unknown ({codes})")
    notes.append("season year from " + ", ".join(f"{k} ({v} samples)" for k, v in year_source.items()))
    if shifted:
        notes.append(f"season_year=end: {shifted} southern samples stored as year - 1 (the year their season starts)")
    if ignored:
        notes.append(f"ignored {len(ignored)} columns not imported: {', '.join(ignored[:8])}"
                     + (" ..." if len(ignored) > 8 else ""))
    return notes


def _decode_labels(
    meta: pd.DataFrame, label_field: str, unknown: str, drop_code0: bool, where: str,
    own: WorldCerealLegend | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Classes per sample, indices of the samples kept, and the label attributes (``own``: the user's legend)."""
    scheme = "ewoc" if label_field == "ewoc_code" else "legacy"
    raw = meta[label_field].to_numpy()
    decoded = _labels.decode_worldcereal(raw, scheme)
    names = decoded.names
    if "label_full" in meta.columns:
        names = np.where(names == "", meta["label_full"].astype(str).to_numpy(), names)
    zero = decoded.legend_unknown if drop_code0 else np.zeros(len(raw), dtype=bool)
    sub = np.flatnonzero(~zero)
    decided = decoded.classes if own is None else own.decode(raw, scheme)
    classes = decided.copy()
    expected = ("codes listed in cropglobe/data/worldcereal_classes.csv (codes the legend calls unknown, such as 0 and "
                "legacy 9700, are dropped by default)" if own is None else
                "codes matched by the legend's map (add them, a prefix such as 1101*, or '*': other)")
    classes[sub], keep, unknown_counts = _labels.resolve_unknown(
        decided[sub], raw[sub], unknown, where, label_field, expected)
    idx = sub[keep]
    if idx.size == 0:
        raise CropGlobeError(f"{where}: no labelled samples left ({int(zero.sum())} with codes the legend calls "
                             f"unknown, {sum(unknown_counts.values())} with unknown codes dropped); expected known "
                             "crop codes")
    return classes, idx, {
        "label_field": label_field, "label_scheme": scheme, "original_label_counts": _labels.label_counts(raw, names),
        "unknown_labels": unknown_counts, "unknown_policy": unknown, "dropped_unknown_code0": int(zero.sum()),
        "dropped_unknown_codes": _labels.label_counts(raw[zero], names[zero]) if zero.any() else {},
    }


def _reflectance(cube: np.ndarray, band_raw: list[str], where: str) -> tuple[np.ndarray, list[str], list[str], int]:
    """Nodata to NaN, all-nodata bands dropped, scale check, values above MAX_DN masked."""
    cube = cube.astype(np.float32)
    cube[cube == NODATA] = np.nan
    present = [i for i in range(len(band_raw)) if np.isfinite(cube[:, i, :]).any()]
    absent = [_bands.canonical_band(band_raw[i]) for i in range(len(band_raw)) if i not in present]
    if not present:
        raise CropGlobeError(f"{where}: every Sentinel-2 value is nodata ({NODATA}); nothing to import")
    cube = cube[:, present, :]
    band_names = [_bands.canonical_band(band_raw[i]) for i in present]
    check_scales(cube, band_names, SCALE, where)
    too_big = cube > MAX_DN
    cube[too_big] = np.nan
    return cube, band_names, absent, int(too_big.sum())


def _band_order(bands: set[str] | list[str]) -> list[str]:
    return sorted(bands, key=lambda b: _bands.S2_BANDS.index(_bands.canonical_band(b)))


def _long(df: pd.DataFrame, where: str) -> _Grid:
    require_columns(df.columns, ["sample_id", "timestamp"], where)
    cols = {m.group(1): c for c in df.columns if (m := _LONG.match(str(c)))}
    band_raw = _band_order(list(cols))
    times, snapped = _time.snap_to_period_starts(_time.naive_utc(df["timestamp"], where, "timestamp"), where)
    values = df[[cols[b] for b in band_raw]].to_numpy(np.float32)
    ids, t_uni, cube, first = long_to_cube(df["sample_id"].to_numpy(), times.to_numpy("datetime64[ns]"), values,
                                           where, "sample_id", "timestamp")
    grid = _Grid(ids.astype(str), t_uni, cube, first, band_raw, _time.period_of(t_uni))
    if snapped is not None:
        grid.attrs["timestamps_snapped"] = snapped.as_attr()
        grid.notes.append(snapped.describe())
    return grid


def _wide(df: pd.DataFrame, where: str) -> _Grid:
    require_columns(df.columns, ["sample_id", "start_date"], where)
    parsed = [(m.group(1), int(m.group(2)), c) for c in df.columns if (m := _WIDE.match(str(c)))]
    band_raw = _band_order({b for b, _, _ in parsed})
    n_ts = max(t for _, t, _ in parsed) + 1
    grid = np.full((len(df), len(band_raw), n_ts), NODATA, dtype=np.float32)
    for b, t, c in parsed:
        grid[:, band_raw.index(b), t] = df[c].to_numpy(np.float32)
    ids = df["sample_id"].to_numpy(str)
    end = df["end_date"] if "end_date" in df.columns else None
    first, rule = _time.wide_offsets(df["start_date"], end, n_ts, ids, where)
    times, offsets = _time.month_axis(first, n_ts)
    cube = np.full((len(df), len(band_raw), len(times)), np.nan, dtype=np.float32)
    for shift in np.unique(offsets):
        rows = np.flatnonzero(offsets == shift)
        cube[rows, :, shift:shift + n_ts] = grid[rows]
    return _Grid(ids, times, cube, np.arange(len(df)), band_raw, "month", {"wide_time_rule": rule}, [rule])


def _check_constant_per_sample(df: pd.DataFrame, fields: list[str], where: str) -> None:
    n = df.groupby("sample_id", sort=False)[fields].nunique()
    for f in fields:
        if (n[f] > 1).any():
            bad = ", ".join(map(str, n.index[n[f] > 1][:3]))
            raise CropGlobeError(
                f"{where}: column {f!r} changes within a sample ({bad}); expected one value per sample"
            )
