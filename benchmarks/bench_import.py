"""Import of a long WorldCereal-layout table: cropglobe's reader against a naive pandas pivot_table import."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

NAME = "import"
DESCRIPTION = ("read_worldcereal on a generated long table (~66k rows x 34 columns) vs read_parquet + "
               "pivot_table + build of the same file (ratio = pivot time / reader time)")
BANDS = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B11", "B12", "B8A"]


def make_table(n_samples: int, n_times: int, seed: int = 0) -> pd.DataFrame:
    """Generate a long table in the WorldCereal extraction layout (34 columns, random digital numbers)."""
    rng = np.random.default_rng(seed)
    n = n_samples * n_times
    sid = np.repeat([f"2023_FRA_LPIS_POLY_110_{i}" for i in range(n_samples)], n_times)
    ts = np.tile(pd.date_range("2022-09-01", periods=n_times, freq="MS").to_numpy(), n_samples)
    df = pd.DataFrame({"feature_index": np.arange(n), "sample_id": sid, "ref_id": "2023_FRA_LPIS_POLY_110",
                       "timestamp": ts})
    for b in BANDS[:-1]:
        v = rng.integers(100, 6000, n).astype(np.uint16)
        v[rng.random(n) < 0.2] = 65535
        df[f"S2-L2A-{b}"] = v
    for c in ("S1-SIGMA0-VH", "S1-SIGMA0-VV", "slope", "elevation", "AGERA5-PRECIP", "AGERA5-TMEAN"):
        df[c] = rng.integers(0, 5000, n).astype(np.uint16)
    lon = np.repeat(rng.uniform(-1, 3, n_samples), n_times)
    lat = np.repeat(rng.uniform(43, 46, n_samples), n_times)
    codes = np.repeat(rng.choice([1101060000, 1101010011, 1106000020, 2001020022], n_samples), n_times)
    df = df.assign(lon=lon, lat=lat, geometry=b"", tile="30TYP", h3_l3_cell="831849fffffffff",
                   start_date="2022-09-01", end_date="2024-01-31", year=2023, valid_time="2023-06-01",
                   ewoc_code=codes, irrigation_status=0, quality_score_lc=97, quality_score_ct=97, extract=0)
    df["S2-L2A-B8A"] = np.int64(65535)
    return df


def naive_import(path: Path):
    """The README recipe: read_parquet + pivot_table to a cube, then labels and build (the reference)."""
    from cropglobe import samples
    from cropglobe.sources.readers import labels

    d = pd.read_parquet(path)
    cols = [f"S2-L2A-{b}" for b in BANDS if f"S2-L2A-{b}" in d.columns and (d[f"S2-L2A-{b}"] != 65535).any()]
    cube = d.pivot_table(index="sample_id", columns="timestamp", values=cols)[cols]
    x = cube.to_numpy(dtype=float, copy=True).reshape(len(cube), len(cols), -1)
    x[x == 65535] = np.nan
    meta = d.groupby("sample_id").first().loc[cube.index]
    cls = labels.decode_worldcereal(meta["ewoc_code"].to_numpy(), "ewoc").classes
    times = cube.columns.get_level_values(1).unique()
    return samples.build(samples.SampleArrays(x, bands=cols, time=times.to_numpy(), sample_id=cube.index.to_numpy(),
                                              label=cls, country="FRA", year=2023, lon=meta["lon"].to_numpy(),
                                              lat=meta["lat"].to_numpy(), bin_days=30), scale=1e-4)


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run(quick: bool = False) -> dict:
    """Time both imports of the same generated file; check they agree."""
    from cropglobe.sources.readers import read_worldcereal

    n_samples, n_times = (100, 17) if quick else (3900, 17)  # 3900 x 17 = 66,300 rows
    df = make_table(n_samples, n_times)
    repeat = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.parquet"
        df.to_parquet(path)
        read_worldcereal(path)  # warm-up: label table and imports cached for both paths
        t_ours, ours = _best(lambda: read_worldcereal(path), repeat)
        t_ref, ref = _best(lambda: naive_import(path), repeat)
    a = ours["reflectance"].sel(sample=np.argsort(ours["sample_id"].values)).values
    b = ref["reflectance"].sel(sample=np.argsort(ref["sample_id"].values)).values
    same = bool(np.allclose(a, b, equal_nan=True))
    rows = len(df)
    return {
        "ratio": t_ref / t_ours,
        "reference": "pandas read_parquet + pivot_table + cropglobe build of the same table (README recipe)",
        "figures": {"rows": rows, "columns": int(df.shape[1]), "samples": n_samples, "times": n_times,
                    "reader_seconds": round(t_ours, 4), "pivot_seconds": round(t_ref, 4),
                    "reader_rows_per_s": round(rows / t_ours), "pivot_rows_per_s": round(rows / t_ref),
                    "same_cube": same},
    }
