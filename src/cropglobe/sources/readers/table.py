"""Read generic CSV/Parquet tables (long or wide) described by a small YAML mapping.

This is how a user brings a Google Earth Engine export or their own extraction. The mapping
(:class:`TableMapping`, :mod:`cropglobe.sources.readers.table_mapping`; examples in
``configs/tables/``) names the id, time, band and label columns, the label map, the scale and
nodata of raw values, lon/lat, country and year, and for tables without dates (UCR Crop) the
start and step of the time axis.

* **long**: one row per (id, time); ``long.bands`` maps band names to columns.
* **wide**: one row per sample; ``wide.pattern`` is a regular expression over column names with a
  ``time`` group (and a ``band`` group, or one ``wide.band`` for single-band sets such as NDVI).

Several files make one set: each is read and checked on its own, so an error names the one file
and its first bad data row (1 = the first row after the header); a long set's rows are then
joined by (id, time), e.g. Earth Engine's one CSV per 10-day window (``gee_dekadal_windows.yaml``),
and a wide set's samples are stacked. Time values are read as ``date`` (ISO dates), ``epoch_ms``
(Earth Engine ``system:time_start``), ``doy`` (integer day of year, the composite contract's
integer axis, used when samples come from several years) or ``index`` (0, 1, ... placed at
``start``/``start_doy`` + i * ``step_days``). With ``time.bin_days`` the set is a composite whose
steps start at the given dates (``cropglobe data composite`` re-grids it). ``join`` lists tables
aligned row by row with the source (paths relative to the source file), e.g. CAWa's labels.

Raw values: with ``scale`` they are digital numbers (integers, or half-integers from medians);
values outside the band's range after scaling are set to NaN and counted
(:func:`cropglobe.samples.build`). ``valid`` names a validity column whose invalid rows are
missing in every band (``attrs["masked_invalid_rows"]``). ``covariates`` joins per-sample tables
by id (:mod:`cropglobe.sources.readers.covariates`). ``season_year`` declares how southern seasons
are named (:mod:`cropglobe.temporal.season_year`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from cropglobe import bands as _bands
from cropglobe import legend as _legend
from cropglobe import samples
from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import covariates as _covariates
from cropglobe.sources.readers import labels as _labels
from cropglobe.sources.readers.pivot import check_scales, long_to_cube, require_columns
from cropglobe.sources.readers.table_io import first_empty, numeric, read_file
from cropglobe.sources.readers.table_mapping import TableMapping, TimeSpec, ValueOrColumn, load_mapping
from cropglobe.temporal import season_year as _season_year

__all__ = ["TableMapping", "load_mapping", "numeric", "read_table"]


@dataclass
class _Part:
    """One input file, read and checked: its per-row meta columns and values."""

    path: Path
    meta: pd.DataFrame  # long: one row per table row; wide: one row per sample
    values: np.ndarray  # long: (rows, band); wide: (sample, band, time)
    bands: list[str]
    times: np.ndarray  # long: per row; wide: the file's time axis
    columns: list[str]  # every column of the file (and its joined tables)
    invalid: int = 0


def _frame(path: Path, m: TableMapping) -> pd.DataFrame:
    df = read_file(path, m.read)
    for j in m.join:
        other = read_file(path.parent / j.path, m.read)
        if len(other) != len(df):
            raise CropGlobeError(
                f"{path.parent / j.path}: {len(other)} rows, expected {len(df)} (joined row by row with {path})"
            )
        clash = [c for c in other.columns if c in df.columns]
        df = pd.concat([df, other.drop(columns=clash)], axis=1)
    if m.id is None:
        df["__id"] = [f"{path.stem}_{i}" for i in range(len(df))]
    return df


def _times(raw: np.ndarray, spec: TimeSpec, where: str) -> np.ndarray:
    try:
        if spec.format == "date":
            return pd.to_datetime(raw).to_numpy("datetime64[ns]")
        if spec.format == "epoch_ms":
            return pd.to_datetime(np.asarray(raw, dtype=np.int64), unit="ms").to_numpy("datetime64[ns]")
        ints = np.asarray(raw, dtype=np.float64)
        if not np.all(ints == np.round(ints)):
            raise ValueError("non-integer values")
        ints = ints.astype(np.int64)
    except (ValueError, TypeError, OverflowError) as err:
        raise CropGlobeError(f"{where}: time values cannot be read as {spec.format} ({err})") from None
    if spec.format == "doy":
        return ints.astype(np.int32)
    offset = (ints - ints.min()) * int(spec.step_days or 0)
    if spec.start is not None:
        return (np.datetime64(spec.start, "ns") + offset.astype("timedelta64[D]")).astype("datetime64[ns]")
    return (offset + int(spec.start_doy or 1)).astype(np.int32)


def _per_sample(spec: ValueOrColumn, meta: pd.DataFrame, name: str, where: str) -> np.ndarray:
    if spec.value is not None:
        return np.full(len(meta), spec.value)
    require_columns(meta.columns, [str(spec.column)], where, f"{name} column")
    vals = meta[spec.column].to_numpy()
    if spec.map:
        missing = sorted({str(v) for v in vals} - set(spec.map))
        if missing:
            raise CropGlobeError(
                f"{where}: column {spec.column!r} ({name}) has values {missing[:5]} that are not in its map; "
                f"expected one of {sorted(spec.map)[:8]}"
            )
        vals = np.array([spec.map[str(v)] for v in vals])
    return vals


def _meta_columns(m: TableMapping) -> list[str]:
    """Per-sample columns every input file needs: id, label, lon/lat, country and year columns."""
    cols = [m.id or "__id", m.label.column, m.lon, m.lat, m.country.column, m.year.column]
    return list(dict.fromkeys(str(c) for c in cols if c))


def _describe(files: list[Path]) -> str:
    """The inputs for messages and attrs: one path, or the first and last of several."""
    if len(files) == 1:
        return str(files[0])
    return f"{files[0]} ... {files[-1].name} ({len(files)} files)"


def read_table(
    paths: str | os.PathLike | Sequence[str | os.PathLike], mapping: TableMapping | str | os.PathLike,
    *, unknown: str | None = None, season_year: str | None = None,
) -> xr.Dataset:
    """Read one or more tables described by a mapping into a validated SampleSet.

    Args:
        paths: CSV/Parquet file(s) with the same layout: a long set's rows are joined by (id, time)
            across files, a wide set's samples are stacked.
        mapping: A :class:`TableMapping` or the path of its YAML file.
        unknown: Override of the mapping's unknown-label policy (``error``/``other``/``drop``).
        season_year: Override of the mapping's ``season_year`` (``start``/``end``).

    Raises:
        CropGlobeError: Unreadable files, missing columns, a per-sample covariate table among the
            inputs, unknown labels, duplicated (sample, time) rows, mixed scales, season years that
            do not fit the dates; errors in one file name it and its first bad data row.
    """
    m = mapping if isinstance(mapping, TableMapping) else load_mapping(mapping)
    files = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    if not files:
        raise CropGlobeError("read_table: no input files given")
    where = _describe(files)
    reader = _long_part if m.layout == "long" else _wide_part
    parts = [reader(f, m, files[0]) for f in files]
    ids, t_axis, cube, meta = (_long_grid if m.layout == "long" else _wide_grid)(parts, m)
    band_names = parts[0].bands
    raw = meta[m.label.column].to_numpy()
    legend_classes = tuple(m.classes) if m.classes is not None else _legend.DEFAULT
    classes = _labels.map_labels(raw, m.label.map, legend_classes, where=f"{where}: label.map")
    policy = unknown or m.label.unknown
    expected = (f"one of the keys of label.map {sorted(m.label.map)[:10]}" if m.label.map
                else f"class names or aliases of {', '.join(legend_classes)}")
    classes, keep, unknown_counts = _labels.resolve_unknown(classes, raw, policy, where, m.label.column, expected)
    idx = np.flatnonzero(keep)
    ids = np.asarray(ids).astype(str)[idx]
    countries = _per_sample(m.country, meta, "country", where)[idx]
    lon = meta[m.lon].to_numpy(float)[idx] if m.lon else None
    lat = meta[m.lat].to_numpy(float)[idx] if m.lat else None
    bin_days = m.time.bin_days
    years, year_attrs = _season_year.apply(
        _per_sample(m.year, meta, "year", where).astype(int)[idx], np.char.upper(countries.astype(str)),
        np.full(idx.size, np.nan) if lat is None else lat,
        _season_year.Dates(t_axis, np.isfinite(cube[idx]).any(axis=1), bin_days), season_year or m.season_year,
        ids=ids, where=where)
    covs, cov_records = _covariates.join(ids, m, files[0], {c for p in parts for c in p.columns}) \
        if m.covariates else ({}, [])
    attrs = {"source": f"table {_describe([Path(f.name) for f in files])}", "source_file": where,
             "source_files": [str(f) for f in files], "layout": m.layout,
             "bands_present": [_bands.canonical_band(b) for b in band_names], "label_field": m.label.column,
             "original_label_counts": _labels.label_counts(raw), "unknown_labels": unknown_counts,
             "unknown_policy": policy, "sensor": m.sensor, "processing_level": m.processing_level,
             "mapping": m.description, **year_attrs}
    if m.valid is not None:
        attrs.update({"valid_column": m.valid.column, "masked_invalid_rows": sum(p.invalid for p in parts)})
    if cov_records:
        attrs["covariates"] = cov_records
    if m.time.format == "index":
        attrs["time_assumed"] = (f"evenly spaced steps of {m.time.step_days} days from "
                                 f"{m.time.start or f'day {m.time.start_doy}'} (the table has no dates)")
    ds = samples.build(
        samples.SampleArrays(cube[idx], bands=band_names, time=t_axis, sample_id=ids, label=classes[idx],
                             country=countries, year=years, lon=lon, lat=lat, bin_days=bin_days, covariates=covs),
        scale=m.scale, attrs=attrs, where=where, classes=m.classes,
    )
    ds = samples.add_history(ds, f"import table {where} ({m.layout})")
    notes = []
    if m.valid is not None:
        notes.append(f"{attrs['masked_invalid_rows']} rows with {m.valid.column} in {m.valid.invalid} set to missing")
    if ds.attrs.get("masked_out_of_range"):
        notes.append(f"{ds.attrs['masked_out_of_range']} values outside the band range after scale {m.scale:g} "
                     f"set to missing ({ds.attrs['masked_out_of_range_by_band']})")
    if year_attrs["season_year_shifted"]:
        notes.append(f"season_year=end: {year_attrs['season_year_shifted']} southern samples stored as year - 1")
    for note in notes:
        ds = samples.add_history(ds, f"import table: {note}")
    return ds


def _long_part(path: Path, m: TableMapping, first: Path) -> _Part:
    """Read and check one long file: columns, ids, times, numbers, validity and scale, errors naming the file."""
    assert m.long is not None and m.time.column is not None
    where = str(path)
    df = _frame(path, m)
    _covariates.refuse_if_covariates(df.columns, m, path, first)
    band_cols = list(m.long.bands.values())
    valid_col = [m.valid.column] if m.valid else []
    require_columns(df.columns, [*_meta_columns(m), m.time.column, *band_cols, *valid_col], where)
    first_empty(df[str(m.id)], where, "an id")
    first_empty(df[m.time.column], where, "a time")
    times = _times(df[m.time.column].to_numpy(), m.time, where)
    values = np.column_stack([numeric(df[c], where) for c in band_cols])
    invalid = np.zeros(len(df), dtype=bool)
    if m.valid is not None:
        col = df[m.valid.column]
        first_empty(col, where, "a validity value")
        invalid = np.isin(numeric(col, where, np.float64), np.asarray(m.valid.invalid, dtype=np.float64))
        values[invalid] = np.nan
    if m.nodata is not None:
        values[values == np.float32(m.nodata)] = np.nan
    band_names = list(m.long.bands)
    check_scales(values[:, :, None], band_names, m.scale, where, unit="data row")
    return _Part(path, df[_meta_columns(m)], values, band_names, times, list(df.columns), int(invalid.sum()))


def _row_of(parts: list[_Part], k: int) -> str:
    """``"FILE data row R"`` of row ``k`` of the rows of all parts."""
    for p in parts:
        if k < len(p.meta):
            return f"{p.path} data row {k + 1}"
        k -= len(p.meta)
    raise IndexError(k)


def _long_grid(parts: list[_Part], m: TableMapping) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """Join the rows of all long files by (id, time); duplicated rows and changing labels name their files."""
    id_col, time_col = str(m.id), str(m.time.column)
    ids = np.concatenate([p.meta[id_col].to_numpy(dtype=object) for p in parts])
    times = np.concatenate([p.times for p in parts])
    meta = pd.concat([p.meta for p in parts], ignore_index=True) if len(parts) > 1 else parts[0].meta
    dup = pd.MultiIndex.from_arrays([ids, times]).duplicated()
    if dup.any():
        j = int(np.flatnonzero(dup)[0])
        i = int(np.flatnonzero((ids == ids[j]) & (times == times[j]))[0])
        shown = str(times[j])[:10] if np.issubdtype(times.dtype, np.datetime64) else str(times[j])
        raise CropGlobeError(
            f"{_row_of(parts, j)}: {int(dup.sum())} duplicated ({id_col}, {time_col}) rows, the first "
            f"({ids[j]}, {shown}) already in {_row_of(parts, i)}; expected one row per sample and time")
    where = _describe([p.path for p in parts])
    ids_u, t_axis, cube, first = long_to_cube(ids, times, np.concatenate([p.values for p in parts]), where,
                                              id_col, time_col)
    codes = pd.factorize(ids, sort=False)[0]
    labels = meta[m.label.column].astype(str).to_numpy()
    changed = labels != labels[first][codes]
    if changed.any():
        j = int(np.flatnonzero(changed)[0])
        i = int(first[codes[j]])
        raise CropGlobeError(
            f"{_row_of(parts, j)}: column {m.label.column!r} changes within sample {ids[j]} ({labels[j]!r}, but "
            f"{labels[i]!r} in {_row_of(parts, i)}); expected one label per sample")
    return ids_u, t_axis, cube, meta.iloc[first].reset_index(drop=True)


def _wide_part(path: Path, m: TableMapping, first: Path) -> _Part:
    """Read and check one wide file, errors naming the file."""
    where = str(path)
    df = _frame(path, m)
    _covariates.refuse_if_covariates(df.columns, m, path, first)
    require_columns(df.columns, _meta_columns(m), where)
    t_axis, cube, band_names = _wide(df, m, where)
    if m.nodata is not None:
        cube[cube == np.float32(m.nodata)] = np.nan
    check_scales(cube, band_names, m.scale, where, unit="data row")
    return _Part(path, df[_meta_columns(m)], cube, band_names, t_axis, list(df.columns))


def _wide_grid(parts: list[_Part], m: TableMapping) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """Stack the samples of all wide files on the union of their time axes."""
    if len(parts) == 1:
        p = parts[0]
        return p.meta[m.id or "__id"].to_numpy(), p.times, p.values, p.meta
    for p in parts[1:]:
        if p.bands != parts[0].bands:
            raise CropGlobeError(f"{p.path}: bands {p.bands}, expected {parts[0].bands} as in {parts[0].path}")
    t_axis = np.unique(np.concatenate([p.times for p in parts]))
    cube = np.full((sum(len(p.meta) for p in parts), len(parts[0].bands), len(t_axis)), np.nan, dtype=np.float32)
    row = 0
    for p in parts:
        cube[row:row + len(p.meta)][:, :, np.searchsorted(t_axis, p.times)] = p.values
        row += len(p.meta)
    meta = pd.concat([p.meta for p in parts], ignore_index=True)
    ids = meta[m.id or "__id"].to_numpy()
    dup = pd.Index(ids.astype(str)).duplicated()
    if dup.any():
        j = int(np.flatnonzero(dup)[0])
        i = int(np.flatnonzero(ids.astype(str) == str(ids[j]))[0])
        raise CropGlobeError(f"{_row_of(parts, j)}: sample {ids[j]} is already in {_row_of(parts, i)} "
                             f"({int(dup.sum())} repeated id(s)); expected each sample once")
    return ids, t_axis, cube, meta


def _wide(df: pd.DataFrame, m: TableMapping, where: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    assert m.wide is not None
    rx = re.compile(m.wide.pattern)
    found = [(c, mt) for c in df.columns if (mt := rx.fullmatch(c)) and c not in (m.label.column, m.id, "__id")]
    if not found:
        raise CropGlobeError(f"{where}: no column matches wide.pattern {m.wide.pattern!r}; columns are "
                             f"{', '.join(list(df.columns)[:8])} ...")
    band_of = [(_bands.canonical_band(mt.group("band")) if m.wide.band is None else _bands.canonical_band(m.wide.band))
               for _, mt in found]
    t_raw = np.array([mt.group("time") for _, mt in found], dtype=object)
    t_vals = _times(t_raw, m.time, where)
    band_names = list(dict.fromkeys(band_of))
    t_axis = np.unique(t_vals)
    seen: set[tuple[str, Any]] = set()
    cube = np.full((len(df), len(band_names), len(t_axis)), np.nan, dtype=np.float32)
    for (col, _), b, t in zip(found, band_of, t_vals, strict=True):
        if (b, t) in seen:
            raise CropGlobeError(
                f"{where}: two columns give band {b} at time {t} (the second is {col!r}); expected one"
            )
        seen.add((b, t))
        cube[:, band_names.index(b), int(np.searchsorted(t_axis, t))] = numeric(df[col], where)
    return t_axis, cube, band_names
