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
    data = {"sample_id": [f"s{i}" for i in range(n)], "ref_id": ref_id, "lon": 4.5, "lat": 51.0, "year": 2021,
            "start_date": "2020-08-01", "end_date": str((pd.Timestamp("2020-08-01") + pd.DateOffset(months=n_t - 1)).date()),
            label_col: [codes[i % len(codes)] for i in range(n)]}
    for b in BANDS:
        res = "10m" if b in ("B02", "B03", "B04", "B08") else "20m"
        for t in range(n_t):
            data[f"OPTICAL-{b}-ts{t}-{res}"] = rng.integers(100, 5000, n)
    df = pd.DataFrame(data)
    df.to_parquet(path)
    return df
