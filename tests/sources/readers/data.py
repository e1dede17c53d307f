"""Generate tiny inputs in the real layouts (WorldCereal long/wide Parquet, CropGlobe npz, tables)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

BANDS = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]


def worldcereal_long(path: Path, n: int = 4, n_t: int = 5, codes=None, drop_b8a: bool = True,
                     seed: int = 0) -> pd.DataFrame:
    """Write a long WorldCereal extraction (one row per sample and month); return the frame."""
    rng = np.random.default_rng(seed)
    codes = list(codes or [1101060000, 1101010011, 1106000020, 2001020022])[:n]
    rows = []
    for i in range(n):
        for t in pd.date_range("2022-09-01", periods=n_t, freq="MS"):
            row = {"sample_id": f"2023_FRA_LPIS_POLY_110_{i}", "ref_id": "2023_FRA_LPIS_POLY_110", "timestamp": t,
                   "lon": 0.5 + i * 0.01, "lat": 44.0, "year": 2023, "ewoc_code": codes[i % len(codes)]}
            for b in BANDS:
                row[f"S2-L2A-{b}"] = 65535 if (b == "B8A" and drop_b8a) else int(rng.integers(100, 5000))
            rows.append(row)
    df = pd.DataFrame(rows)
    df.to_parquet(path)
    return df


def worldcereal_wide(path: Path, n: int = 3, n_t: int = 4, label_col: str = "CROPTYPE_LABEL",
                     codes=(1200, 1110, 9120), ref_id: str = "2021_BE_LPIS-Flanders", seed: int = 0) -> pd.DataFrame:
    """Write a wide WorldCereal extraction (OPTICAL-Bxx-ts{i}-{10m|20m}); return the frame."""
    rng = np.random.default_rng(seed)
    data = {
        "sample_id": [f"s{i}" for i in range(n)],
        "ref_id": ref_id,
        "lon": 4.5,
        "lat": 51.0,
        "year": 2021,
        "start_date": "2020-08-01",
        "end_date": str((pd.Timestamp("2020-08-01") + pd.DateOffset(months=n_t - 1)).date()),
        label_col: [codes[i % len(codes)] for i in range(n)],
    }
    for b in BANDS:
        res = "10m" if b in ("B02", "B03", "B04", "B08") else "20m"
        for t in range(n_t):
            data[f"OPTICAL-{b}-ts{t}-{res}"] = rng.integers(100, 5000, n)
    df = pd.DataFrame(data)
    df.to_parquet(path)
    return df


def cet_as_utc(local: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Period starts at Central European local midnight written as naive UTC, as in the Canada file.

    Summer time (UTC+2) holds for April-October starts and winter time (UTC+1) otherwise, which is
    exact for month and dekad starts (DST begins and ends on the last Sunday of March/October).
    """
    hours = np.where((local.month >= 4) & (local.month <= 10), 2, 1)
    return local - pd.to_timedelta(hours, unit="h")


EXTRA_LONG = {"S1-SIGMA0-VV": 3208, "S1-SIGMA0-VH": 1557, "AGERA5-precipitation-flux": 10482,
              "AGERA5-temperature-mean": 27307, "DEM-alt-20m": 207.0, "elevation": 12.5, "slope": 0.4}


def worldcereal_long_rows(
    path: Path,
    times,
    n: int = 4,
    label_col: str = "ewoc_code",
    codes=(1101060000,),
    year: int | None = 2017,
    valid_date=None,
    extras: bool = False,
    seed: int = 0,
) -> pd.DataFrame:
    """Write a long extraction with the given timestamps (one row per sample and time); return the frame.

    ``valid_date`` is one value for all samples or one per sample; ``year=None`` leaves the column out.
    """
    rng = np.random.default_rng(seed)
    times = pd.DatetimeIndex(times)
    valid = list(valid_date) if isinstance(valid_date, (list, tuple)) else [valid_date] * n
    rows = []
    for i in range(n):
        for t in times:
            row = {"sample_id": f"2017_CAN_AAFC-{i}", "ref_id": "2017_CAN_AAFC-ACIGTD", "timestamp": t,
                   "lon": -81.66 + i * 0.01, "lat": 42.5, label_col: codes[i % len(codes)]}
            if year is not None:
                row["year"] = year
            if valid[i] is not None:
                row["valid_date"] = pd.Timestamp(valid[i])
            for b in BANDS:
                row[f"S2-L2A-{b}"] = int(rng.integers(100, 5000))
            if extras:
                row.update(EXTRA_LONG)
            rows.append(row)
    df = pd.DataFrame(rows)
    df.to_parquet(path)
    return df


def worldcereal_wide_dates(path: Path, start_dates, end_dates, n_t: int = 12, years=None, codes=(1101060000,),
                           extras: bool = False, seed: int = 0) -> pd.DataFrame:
    """Write a wide extraction with one start/end date (and year) per sample; return the frame."""
    rng = np.random.default_rng(seed)
    n = len(start_dates)
    data = {
        "sample_id": [f"s{i}" for i in range(n)],
        "ref_id": "2021_FRA_LPIS_POLY_110",
        "lon": 1.5,
        "lat": 44.0,
        "start_date": list(start_dates),
        "end_date": list(end_dates),
        "ewoc_code": [codes[i % len(codes)] for i in range(n)],
    }
    if years is not None:
        data["year"] = list(years)
    for b in BANDS:
        res = "10m" if b in ("B02", "B03", "B04", "B08") else "20m"
        for t in range(n_t):
            data[f"OPTICAL-{b}-ts{t}-{res}"] = rng.integers(100, 5000, n)
    if extras:
        for t in range(n_t):
            data[f"SAR-VV-ts{t}-20m"] = rng.integers(100, 5000, n)
            data[f"METEO-temperature_mean-ts{t}-100m"] = rng.integers(100, 5000, n)
        data["DEM-alt-20m"] = 120.0
    df = pd.DataFrame(data)
    df.to_parquet(path)
    return df
