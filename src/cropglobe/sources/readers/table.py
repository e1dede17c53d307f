"""Read generic CSV/Parquet tables (long or wide) described by a small YAML mapping.

This is how a user brings a Google Earth Engine export or their own extraction. The mapping
(validated with pydantic, see :class:`TableMapping`; examples in ``configs/tables/``) names the
id, time, band and label columns, the label map, the scale and nodata of raw values, lon/lat,
country and year, and for tables without dates (UCR Crop) the start and step of the time axis.

* **long**: one row per (id, time); ``long.bands`` maps band names to columns.
* **wide**: one row per sample; ``wide.pattern`` is a regular expression over column names with a
  ``time`` group (and a ``band`` group, or one ``wide.band`` for single-band sets such as NDVI).

Time values are read as ``date`` (ISO dates), ``epoch_ms`` (Earth Engine ``system:time_start``),
``doy`` (integer day of year, the composite contract's integer axis, used when samples come from
several years) or ``index`` (0, 1, ... placed at ``start``/``start_doy`` + i * ``step_days``).
With ``time.bin_days`` the set is a composite. ``join`` lists tables aligned row by row with the
source (paths relative to the source file), e.g. CAWa's labels next to its NDVI series.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import ValidationError, field_validator, model_validator

from cropglobe import bands as _bands
from cropglobe import samples, yamlfile
from cropglobe.checks import Strict, error_text
from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import labels as _labels
from cropglobe.sources.readers.pivot import check_scales, long_to_cube, require_columns


def _text(v: Any) -> Any:
    return None if v is None else str(v)


class ReadOptions(Strict):
    """How to parse a CSV file (ignored for Parquet)."""

    sep: str | None = None
    header: bool = True


class Join(Strict):
    """A table aligned row by row with the source (path relative to the source file)."""

    path: str


class ValueOrColumn(Strict):
    """One value for every sample, or a column (optionally mapped through ``map``)."""

    value: str | int | None = None
    column: str | None = None
    map: dict[str, str] | None = None

    _col = field_validator("column", mode="before")(lambda v: _text(v))

    @model_validator(mode="after")
    def _one(self) -> ValueOrColumn:
        if (self.value is None) == (self.column is None):
            raise ValueError("give exactly one of 'value' or 'column'")
        return self


class LabelSpec(Strict):
    """The label column, an optional raw value -> class map and the unknown-label policy."""

    column: str
    map: dict[str, str] | None = None
    unknown: Literal["error", "other", "drop"] = "error"

    _col = field_validator("column", mode="before")(lambda v: _text(v))

    @field_validator("map", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        return None if v is None else {str(k): str(x) for k, x in dict(v).items()}


class TimeSpec(Strict):
    """How to read time: a column (long) or the ``time`` group of wide column names."""

    column: str | None = None
    format: Literal["date", "epoch_ms", "doy", "index"] = "date"
    start: _dt.date | None = None
    start_doy: int | None = None
    step_days: int | None = None
    bin_days: int | None = None

    _col = field_validator("column", mode="before")(lambda v: _text(v))

    @model_validator(mode="after")
    def _index(self) -> TimeSpec:
        if self.format == "index" and (self.step_days is None or (self.start is None) == (self.start_doy is None)):
            raise ValueError("format 'index' needs step_days and exactly one of start (a date) or start_doy")
        return self


class WideSpec(Strict):
    """Wide layout: a regex over column names with a ``time`` group and a ``band`` group or ``band``."""

    pattern: str
    band: str | None = None

    @model_validator(mode="after")
    def _groups(self) -> WideSpec:
        try:
            rx = re.compile(self.pattern)
        except re.error as err:
            raise ValueError(f"pattern is not a regular expression ({err})") from None
        if "time" not in rx.groupindex:
            raise ValueError("pattern needs a (?P<time>...) group")
        if ("band" in rx.groupindex) == (self.band is not None):
            raise ValueError("give a (?P<band>...) group in pattern or one 'band', not both")
        return self


class LongSpec(Strict):
    """Long layout: band name -> column."""

    bands: dict[str, str]

    @field_validator("bands", mode="before")
    @classmethod
    def _cols(cls, v: Any) -> Any:
        return {str(k): str(x) for k, x in dict(v).items()}


class TableMapping(Strict):
    """A YAML mapping describing a CSV/Parquet table of labelled time series."""

    description: str = ""
    layout: Literal["long", "wide"]
    read: ReadOptions = ReadOptions()
    join: list[Join] = []
    id: str | None = None
    label: LabelSpec
    time: TimeSpec = TimeSpec()
    wide: WideSpec | None = None
    long: LongSpec | None = None
    country: ValueOrColumn
    year: ValueOrColumn
    lon: str | None = None
    lat: str | None = None
    scale: float | None = None
    nodata: float | None = None
    sensor: str = "Sentinel-2"
    processing_level: str = "L2A"

    _cols = field_validator("id", "lon", "lat", mode="before")(lambda v: _text(v))

    @model_validator(mode="after")
    def _layout(self) -> TableMapping:
        if self.layout == "wide" and self.wide is None:
            raise ValueError("layout 'wide' needs a 'wide' section (pattern, band)")
        if self.layout == "long" and (self.long is None or self.time.column is None or self.id is None):
            raise ValueError("layout 'long' needs 'id', 'time.column' and a 'long.bands' section")
        return self


def load_mapping(path: str | os.PathLike) -> TableMapping:
    """Read and validate a table mapping YAML file.

    Raises:
        CropGlobeError: Unreadable YAML, or fields that do not fit :class:`TableMapping`.
    """
    p = Path(path)
    try:
        data = yamlfile.load(p, where=f"{p} (table mapping)")
    except OSError as err:
        raise CropGlobeError(f"{p}: cannot read the table mapping ({type(err).__name__}: {err})") from None
    try:
        return TableMapping.model_validate(data)
    except ValidationError as err:
        loc, problem = error_text(err, root="(top level)")
        raise CropGlobeError(f"{p}: field {loc!r}: {problem} ({err.error_count()} problem(s) in the mapping)") from None


def _read_file(path: Path, opts: ReadOptions) -> pd.DataFrame:
    if not path.is_file():
        raise CropGlobeError(f"{path}: no such file (expected a CSV or Parquet table)")
    try:
        if path.suffix.lower() in (".parquet", ".pq", ".geoparquet"):
            df = pd.read_parquet(path)
        else:
            sep = opts.sep or ("\t" if path.suffix.lower() == ".tsv" else ",")
            df = pd.read_csv(path, sep=sep, header=0 if opts.header else None)
    except Exception as err:  # any reader failure is a bad input here
        raise CropGlobeError(
            f"{path}: cannot be read as a table ({type(err).__name__}: {str(err).splitlines()[0]})"
        ) from None
    if df.empty:
        raise CropGlobeError(f"{path}: the table has no rows")
    df.columns = [str(c) for c in df.columns]
    return df


def _frame(path: Path, m: TableMapping) -> pd.DataFrame:
    df = _read_file(path, m.read)
    for j in m.join:
        other = _read_file(path.parent / j.path, m.read)
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


def read_table(
    paths: str | os.PathLike | Sequence[str | os.PathLike], mapping: TableMapping | str | os.PathLike,
    *, unknown: str | None = None,
) -> xr.Dataset:
    """Read one or more tables described by a mapping into a validated SampleSet.

    Args:
        paths: CSV/Parquet file(s) with the same layout (rows of several files are concatenated).
        mapping: A :class:`TableMapping` or the path of its YAML file.
        unknown: Override of the mapping's unknown-label policy (``error``/``other``/``drop``).

    Raises:
        CropGlobeError: Unreadable files, missing columns, unknown labels, duplicated (sample, time)
            rows, mixed scales, values out of range.
    """
    m = mapping if isinstance(mapping, TableMapping) else load_mapping(mapping)
    files = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    if not files:
        raise CropGlobeError("read_table: no input files given")
    where = ", ".join(str(f) for f in files)
    df = pd.concat([_frame(f, m) for f in files], ignore_index=True) if len(files) > 1 else _frame(files[0], m)
    id_col = m.id or "__id"
    needed = [id_col, m.label.column] + [c for c in (m.lon, m.lat) if c]
    if m.layout == "long":
        assert m.long is not None and m.time.column is not None
        needed += [m.time.column, *m.long.bands.values()]
        require_columns(df.columns, needed, where)
        band_names = list(m.long.bands)
        times = _times(df[m.time.column].to_numpy(), m.time, where)
        values = np.column_stack([numeric(df[c], where) for c in m.long.bands.values()])
        ids, t_axis, cube, first = long_to_cube(df[id_col].to_numpy(), times, values, where, id_col, m.time.column)
        meta = df.iloc[first]
        n = df.groupby(id_col, sort=False)[m.label.column].nunique()
        if (n > 1).any():
            raise CropGlobeError(
                f"{where}: column {m.label.column!r} changes within sample(s) {list(n.index[n > 1][:3])}; "
                "expected one label per sample"
            )
    else:
        assert m.wide is not None
        require_columns(df.columns, needed, where)
        ids, t_axis, cube, band_names = _wide(df, m, where)
        meta = df
    raw = meta[m.label.column].to_numpy()
    classes = _labels.map_labels(raw, m.label.map)
    policy = unknown or m.label.unknown
    expected = f"one of the keys of label.map {sorted(m.label.map)[:10]}" if m.label.map else "class names or aliases"
    classes, keep, unknown_counts = _labels.resolve_unknown(classes, raw, policy, where, m.label.column, expected)
    if m.nodata is not None:
        cube[cube == np.float32(m.nodata)] = np.nan
    check_scales(cube, band_names, m.scale, where)
    idx = np.flatnonzero(keep)
    attrs = {"source": f"table {', '.join(f.name for f in files)}", "source_file": where, "layout": m.layout,
             "bands_present": [_bands.canonical_band(b) for b in band_names], "label_field": m.label.column,
             "original_label_counts": _labels.label_counts(raw), "unknown_labels": unknown_counts,
             "unknown_policy": policy, "sensor": m.sensor, "processing_level": m.processing_level,
             "mapping": m.description}
    if m.time.format == "index":
        attrs["time_assumed"] = (f"evenly spaced steps of {m.time.step_days} days from "
                                 f"{m.time.start or f'day {m.time.start_doy}'} (the table has no dates)")
    ds = samples.build(
        cube[idx],
        bands=band_names,
        time=t_axis,
        sample_id=np.asarray(ids).astype(str)[idx],
        label=classes[idx],
        country=_per_sample(m.country, meta, "country", where)[idx],
        year=_per_sample(m.year, meta, "year", where).astype(int)[idx],
        lon=meta[m.lon].to_numpy(float)[idx] if m.lon else None,
        lat=meta[m.lat].to_numpy(float)[idx] if m.lat else None,
        bin_days=m.time.bin_days,
        scale=m.scale,
        attrs=attrs,
        where=where,
    )
    return samples.add_history(ds, f"import table {where} ({m.layout})")


_MISSING_TOKENS = {"", "nan", "na", "n/a", "null", "none", "-"}


def numeric(col: pd.Series, where: str) -> np.ndarray:
    """A band column as float32; empty cells are missing, any other non-number is an error.

    Raises:
        CropGlobeError: Naming the column, the data row (1 = first row after the header) and the cell.
    """
    values = pd.to_numeric(col, errors="coerce")
    bad = values.isna().to_numpy() & col.notna().to_numpy()
    if bad.any():
        text = col[bad].astype(str).str.strip().str.lower()
        bad[np.flatnonzero(bad)[text.isin(_MISSING_TOKENS).to_numpy()]] = False
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CropGlobeError(
            f"{where}: column {col.name!r}, data row {i + 1}: {col.iloc[i]!r} is not a number "
            f"({int(bad.sum())} such cell(s) in the column); expected numbers, empty cells for missing"
        )
    return values.to_numpy(np.float32)


def _wide(df: pd.DataFrame, m: TableMapping, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
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
    return df[m.id or "__id"].to_numpy(), t_axis, cube, band_names
