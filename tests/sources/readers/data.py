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


EE_BANDS = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]
EE_LABELS = ["Others", "Corn", "Cotton", "Rice", "Soybeans"]


def ee_windows(folder: Path, n: int = 5, n_windows: int = 4, seed: int = 0, covariates: bool = True) -> list[Path]:
    """Write an Earth Engine export as published: one CSV per 10-day window, plus a covariate table.

    Layout of ``../shared/data/us_arkansas_2021_gee``: ``arkansas_tNN_MM_dK.csv`` with
    ``pixel_id,label,label_name,zone,timestep,date_str,longitude,latitude,B2..B12,valid``; band
    values are digital numbers, about half of them medians ending in .5; pixel 1 has an empty
    window (t = 1: every band 0, valid = 0); pixel 2 has a bright B2 of 17368 (reflectance 1.74) at
    t = 2 and a B3 of 12000 (1.2); pixel 3 has a genuine B5 = 0 at t = 0 (valid). The covariate
    table ``covariates_static_arkansas.csv`` (Earth Engine's ``system:index`` and ``.geo``
    columns) lacks the last pixel. Returns the window files in order.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for t in range(n_windows):
        date = pd.Timestamp("2021-01-01") + pd.Timedelta(days=10 * t)
        rows = []
        for i in range(n):
            code = i % len(EE_LABELS)
            row = {"pixel_id": i, "label": code, "label_name": EE_LABELS[code], "zone": "arkansas", "timestep": t,
                   "date_str": str(date.date()), "longitude": -91.0 - 0.01 * i, "latitude": 35.0 + 0.01 * i}
            empty = (i == 1 and t == 1)
            for b in EE_BANDS:
                row[b] = 0.0 if empty else float(rng.integers(100, 5000)) + (0.5 if rng.random() < 0.5 else 0.0)
            if i == 2 and t == 2:
                row["B2"], row["B3"] = 17368.0, 12000.0
            if i == 3 and t == 0:
                row["B5"] = 0.0
            row["valid"] = 0 if empty else 1
            rows.append(row)
        path = folder / f"arkansas_t{t:02d}_{date.month:02d}_d{min(date.day // 10 + 1, 3)}.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        files.append(path)
    if covariates:
        cov = pd.DataFrame({
            "system:index": [f"{i}_0" for i in range(n - 1)], "aspect": rng.uniform(0, 360, n - 1),
            "clay": rng.integers(5, 40, n - 1), "elevation": rng.integers(30, 300, n - 1),
            "label": [i % len(EE_LABELS) for i in range(n - 1)], "latitude": 35.0, "longitude": -91.0,
            "org_carbon": rng.integers(1, 9, n - 1), "ph": rng.integers(45, 70, n - 1), "pixel_id": range(n - 1),
            "sand": rng.integers(5, 60, n - 1), "slope": rng.uniform(0, 6, n - 1),
            ".geo": '{"type":"MultiPoint","coordinates":[]}'})
        cov.to_csv(folder / "covariates_static_arkansas.csv", index=False)
    return files
