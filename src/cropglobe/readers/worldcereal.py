"""Read ESA WorldCereal point extractions (long or wide Parquet) into a composite SampleSet.

Layouts (WorldCereal/worldcereal-classification and WorldCereal/prometheo test data, MIT):

* **long**: one row per (``sample_id``, ``timestamp``), bands in columns ``S2-L2A-Bxx``; time
  steps a sample lacks are absent rows (NaN in the cube).
* **wide**: one row per sample, columns ``OPTICAL-Bxx-ts{i}-{10m|20m}``; step ``i`` is
  ``start_date`` + ``i`` months (checked against ``end_date`` when present).

Values are Sentinel-2 L2A digital numbers: imported with ``scale=1e-4`` and ``nodata=65535``. A
band whose values are all nodata (B8A in several files) is dropped and listed in
``attrs["bands_absent"]``. Digital numbers above 15000 (reflectance > 1.5, outside the SampleSet
range; seen in 20 m bands of the Flanders files) are set to NaN and counted in
``attrs["masked_out_of_range"]``. Timestamps are monthly or dekadal composites, so the set is a
composite (``bin_days`` = days to the next month start or dekad start). Labels are ``ewoc_code``
or legacy ``CROPTYPE_LABEL`` decoded with :mod:`cropglobe.readers.labels`; the original code
counts are kept in ``attrs["original_label_counts"]``. Countries follow
:mod:`cropglobe.readers.country`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from cropglobe import bands as _bands
from cropglobe import samples
from cropglobe.errors import CropGlobeError
from cropglobe.readers import country as _country
from cropglobe.readers import labels as _labels
from cropglobe.readers.layout import check_scales, long_to_cube, require_columns

SCALE = 1e-4
NODATA = 65535
MAX_DN = 15000
_LONG = re.compile(r"^S2-L2A-(B\d{2}|B8A)$")
_WIDE = re.compile(r"^OPTICAL-(B\d{2}|B8A)-ts(\d+)-\d+m$")


_META = ("sample_id", "timestamp", "ref_id", "lon", "lat", "year", "start_date", "end_date", "ewoc_code",
         "CROPTYPE_LABEL", "label_full")


def read_parquet(path: str | os.PathLike) -> pd.DataFrame:
    """Read the columns a WorldCereal import needs from a Parquet file (one clear error on failure)."""
    p = Path(path)
    if not p.is_file():
        raise CropGlobeError(f"{p}: no such file (expected a WorldCereal extraction .parquet/.geoparquet)")
    try:
        import pyarrow.parquet as pq

        names = pq.read_schema(p).names
        keep = [c for c in names if c in _META or _LONG.match(c) or _WIDE.match(c) or c.startswith("__index")]
        return pd.read_parquet(p, columns=keep)
    except Exception as err:  # noqa: BLE001 - any reader failure is a bad input here
        raise CropGlobeError(f"{p}: cannot be read as Parquet ({type(err).__name__}: {err})") from None


def read_worldcereal(
    path: str | os.PathLike, *, unknown: str = "error", country: str | None = None
) -> xr.Dataset:
    """Read a WorldCereal extraction file into a validated composite SampleSet.

    Args:
        path: A long or wide WorldCereal Parquet file.
        unknown: Policy for unknown label codes: ``"error"`` (default), ``"other"`` or ``"drop"``.
        country: ISO3 code for every sample, overriding the ref_id/coordinate rule.

    Returns:
        The SampleSet (reflectance 0-1, datetime bin starts, ``bin_days``).

    Raises:
        CropGlobeError: Unreadable file, missing columns, unknown labels, duplicated rows.
    """
    where = str(path)
    df = read_parquet(path)
    if "sample_id" not in df.columns and df.index.name == "sample_id":
        df = df.reset_index()
    long_cols = {m.group(1): c for c in df.columns if (m := _LONG.match(str(c)))}
    wide_cols = [c for c in df.columns if _WIDE.match(str(c))]
    if long_cols:
        layout = "long"
        ids, times, cube, first, band_raw, period = _long(df, long_cols, where)
        meta = df.iloc[first]
    elif wide_cols:
        layout = "wide"
        ids, times, cube, band_raw, period = _wide(df, wide_cols, where)
        meta = df
    else:
        raise CropGlobeError(f"{where}: no Sentinel-2 columns found; expected 'S2-L2A-Bxx' (long layout) or "
                             "'OPTICAL-Bxx-ts{i}-{10m|20m}' (wide layout)")
    label_field = "ewoc_code" if "ewoc_code" in df.columns else "CROPTYPE_LABEL"
    require_columns(df.columns, [label_field, "lon", "lat", "year"] + ([] if country else ["ref_id"]), where,
                    "label column 'ewoc_code' or 'CROPTYPE_LABEL', coordinates, year and ref_id")
    if layout == "long":
        _check_constant_per_sample(df, label_field, ids, where)
    scheme = "ewoc" if label_field == "ewoc_code" else "legacy"
    raw = meta[label_field].to_numpy()
    decoded = _labels.decode_worldcereal(raw, scheme)
    names = decoded.names
    if "label_full" in meta.columns:
        names = np.where(names == "", meta["label_full"].astype(str).to_numpy(), names)
    original = _labels.label_counts(raw, names)
    classes, keep, unknown_counts = _labels.resolve_unknown(
        decoded.classes, raw, unknown, where, label_field,
        "codes listed in cropglobe/data/worldcereal_classes.csv")
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
    lon, lat = meta["lon"].to_numpy(float), meta["lat"].to_numpy(float)
    if country:
        countries = np.full(len(ids), country.upper())
        rule = f"given by the user: {country.upper()}"
    else:
        countries = _country.from_ref_id(meta["ref_id"].to_numpy(str), lon, lat, where)
        rule = _country.RULE
    attrs = {
        "source": f"WorldCereal extraction {Path(path).name}",
        "source_file": str(path),
        "layout": layout,
        "composite_period": period,
        "bands_present": band_names,
        "bands_absent": absent,
        "label_field": label_field,
        "label_scheme": scheme,
        "original_label_counts": original,
        "unknown_labels": unknown_counts,
        "unknown_policy": unknown,
        "masked_out_of_range": int(too_big.sum()),
        "country_rule": rule,
        "nodata": NODATA,
    }
    idx = np.flatnonzero(keep)
    ds = samples.build(
        cube[idx], bands=band_names, time=times, sample_id=ids[idx], label=classes[idx],
        country=countries[idx], year=meta["year"].to_numpy(int)[idx], lon=lon[idx], lat=lat[idx],
        bin_days=_bin_days(times, period), scale=SCALE, attrs=attrs, where=where,
    )
    return samples.add_history(ds, f"import worldcereal {Path(path).name} ({layout}, {period})")


def _long(df: pd.DataFrame, cols: dict[str, str], where: str):
    require_columns(df.columns, ["sample_id", "timestamp"], where)
    band_raw = sorted(cols, key=lambda b: _bands.S2_BANDS.index(_bands.canonical_band(b)))
    times = pd.to_datetime(df["timestamp"]).to_numpy("datetime64[ns]")
    values = df[[cols[b] for b in band_raw]].to_numpy(np.float32)
    ids, t_uni, cube, first = long_to_cube(df["sample_id"].to_numpy(), times, values, where, "sample_id", "timestamp")
    return ids.astype(str), t_uni, cube, first, band_raw, _period(t_uni, where)


def _wide(df: pd.DataFrame, cols: list[str], where: str):
    require_columns(df.columns, ["sample_id", "start_date"], where)
    parsed = [(_WIDE.match(c).group(1), int(_WIDE.match(c).group(2)), c) for c in cols]  # type: ignore[union-attr]
    band_raw = sorted({b for b, _, _ in parsed}, key=lambda b: _bands.S2_BANDS.index(_bands.canonical_band(b)))
    n_ts = max(t for _, t, _ in parsed) + 1
    grid = np.full((len(df), len(band_raw), n_ts), NODATA, dtype=np.float32)
    for b, t, c in parsed:
        grid[:, band_raw.index(b), t] = df[c].to_numpy(np.float32)
    start = pd.to_datetime(df["start_date"]).dt.to_period("M").dt.to_timestamp()
    if "end_date" in df.columns:
        end = pd.to_datetime(df["end_date"]).dt.to_period("M").dt.to_timestamp()
        expect = start + pd.DateOffset(months=n_ts - 1)
        if (expect != end).any():
            raise CropGlobeError(f"{where}: columns ts0..ts{n_ts - 1} do not span start_date..end_date as monthly "
                                 "steps; expected monthly WorldCereal composites")
    offsets = np.array([(s.year * 12 + s.month - 1) for s in start])
    base = int(offsets.min())
    n_t = int(offsets.max() - base) + n_ts
    times = pd.date_range(pd.Timestamp(year=base // 12, month=base % 12 + 1, day=1), periods=n_t, freq="MS")
    cube = np.full((len(df), len(band_raw), n_t), NODATA, dtype=np.float32)
    for shift in np.unique(offsets - base):
        rows = np.flatnonzero(offsets - base == shift)
        cube[rows, :, shift:shift + n_ts] = grid[rows]
    return df["sample_id"].to_numpy(str), times.to_numpy("datetime64[ns]"), cube, band_raw, "month"


def _check_constant_per_sample(df: pd.DataFrame, field: str, ids: np.ndarray, where: str) -> None:
    n = df.groupby("sample_id", sort=False)[field].nunique()
    if (n > 1).any():
        bad = ", ".join(map(str, n.index[n > 1][:3]))
        raise CropGlobeError(f"{where}: column {field!r} changes within a sample ({bad}); expected one label per sample")


def _period(times: np.ndarray, where: str) -> str:
    days = pd.DatetimeIndex(times).day
    if (days == 1).all():
        return "month"
    if np.isin(days, [1, 11, 21]).all():
        return "dekad"
    raise CropGlobeError(f"{where}: timestamps fall on days {sorted(set(days.tolist()))[:6]}; expected month starts "
                         "(monthly composites) or days 1/11/21 (dekads)")


def _bin_days(times: np.ndarray, period: str) -> np.ndarray:
    t = pd.DatetimeIndex(times)
    if period == "month":
        return t.days_in_month.to_numpy(np.int32)
    return np.where(t.day < 21, 10, t.days_in_month - 20).astype(np.int32)
