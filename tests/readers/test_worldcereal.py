"""WorldCereal reader: generated long/wide files, bad input, and the five real files in ../shared/data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cropglobe import samples, summary
from cropglobe.errors import CropGlobeError
from cropglobe.readers import read_worldcereal
from tests.readers import data


def test_long_layout_values_labels_and_absent_band(tmp_path):
    df = data.worldcereal_long(tmp_path / "x.parquet")
    ds = read_worldcereal(tmp_path / "x.parquet")
    assert ds.sizes == {"sample": 4, "band": 9, "time": 5}
    assert ds.attrs["bands_absent"] == ["B8A"] and "B8A" not in ds["band"].values
    assert list(ds["label"].values) == ["corn", "wheat", "soybean", "other"]
    assert ds.attrs["time_kind"] == "composite" and list(ds["bin_days"].values) == [30, 31, 30, 31, 31]
    row = df[(df.sample_id == "2023_FRA_LPIS_POLY_110_1") & (df.timestamp == "2022-10-01")].iloc[0]
    got = ds["reflectance"].sel(band="B4").isel(sample=1, time=1).item()
    assert got == pytest.approx(row["S2-L2A-B04"] * 1e-4, rel=1e-6)
    assert set(ds["country"].values) == {"FRA"}
    assert ds.attrs["original_label_counts"]["1101060000 maize"] == 1


def test_long_missing_rows_become_nan_and_dekads(tmp_path):
    df = data.worldcereal_long(tmp_path / "x.parquet")
    dek = df.copy()
    dek["timestamp"] = np.tile(pd.to_datetime(["2022-09-01", "2022-09-11", "2022-09-21", "2022-10-01", "2022-10-11"]), 4)
    dek = dek.drop(index=[2])  # sample 0 lacks its third dekad
    dek.to_parquet(tmp_path / "d.parquet")
    ds = read_worldcereal(tmp_path / "d.parquet")
    assert list(ds["bin_days"].values) == [10, 10, 10, 10, 10]
    assert np.isnan(ds["reflectance"].isel(sample=0, time=2)).all()
    assert not np.isnan(ds["reflectance"].isel(sample=1, time=2)).any()


def test_wide_legacy_codes_and_iso2_ref_id(tmp_path):
    data.worldcereal_wide(tmp_path / "w.parquet")
    ds = read_worldcereal(tmp_path / "w.parquet")
    assert ds.attrs["layout"] == "wide" and ds.sizes["time"] == 4 and ds.sizes["band"] == 10
    assert list(ds["label"].values) == ["corn", "wheat", "other"]
    assert set(ds["country"].values) == {"BEL"}  # 'BE' confirmed by the coordinates
    assert str(ds["time"].values[1])[:10] == "2020-09-01"


def test_unknown_codes_error_with_counts_or_mapped(tmp_path):
    data.worldcereal_long(tmp_path / "x.parquet", codes=[0, 0, 1101060000, 12345])
    with pytest.raises(CropGlobeError, match=r"3 samples with unknown label codes: 0 \(2\), 12345 \(1\)"):
        read_worldcereal(tmp_path / "x.parquet")
    ds = read_worldcereal(tmp_path / "x.parquet", unknown="other")
    assert list(ds["label"].values) == ["other", "other", "corn", "other"]
    assert read_worldcereal(tmp_path / "x.parquet", unknown="drop").sizes["sample"] == 1


def test_bad_inputs_each_one_clear_error(tmp_path):
    df = data.worldcereal_long(tmp_path / "x.parquet")
    pd.concat([df, df.iloc[[3]]]).to_parquet(tmp_path / "dup.parquet")
    with pytest.raises(CropGlobeError, match=r"1 duplicated \(sample_id, timestamp\) rows"):
        read_worldcereal(tmp_path / "dup.parquet")
    df.drop(columns=["year"]).to_parquet(tmp_path / "noyear.parquet")
    with pytest.raises(CropGlobeError, match=r"missing column\(s\) 'year'"):
        read_worldcereal(tmp_path / "noyear.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(CropGlobeError, match="cannot be read as Parquet"):
        read_worldcereal(tmp_path / "bad.parquet")
    with pytest.raises(CropGlobeError, match="no such file"):
        read_worldcereal(tmp_path / "absent.parquet")
    mixed = df.astype({"S2-L2A-B04": float})
    mixed.loc[0, "S2-L2A-B04"] = 0.0421
    mixed.to_parquet(tmp_path / "mixed.parquet")
    with pytest.raises(CropGlobeError, match="mixed scales: B4: 1 fractional"):
        read_worldcereal(tmp_path / "mixed.parquet")
    df.drop(columns=[c for c in df.columns if c.startswith("S2-")]).to_parquet(tmp_path / "nobands.parquet")
    with pytest.raises(CropGlobeError, match="no Sentinel-2 columns"):
        read_worldcereal(tmp_path / "nobands.parquet")


FILES = {
    "worldcereal-classification/test_public_extractions.parquet": (500, 12, {"corn": 97, "cotton": 6}),
    "worldcereal-classification/2023_FRA_LPIS_POLY_110_dekad.geoparquet": (500, 51, {"corn": 88, "wheat": 61, "soybean": 13}),
    "worldcereal-classification/2022_FRA_LPIS_POLY_110_month.geoparquet": (500, 17, {"corn": 6}),
    "worldcereal-classification/2021_BEL_LPIS-Flanders_POLY_110_dummy.parquet": (100, 16, {"corn": 12}),
    "prometheo/worldcereal_dataset.parquet": (50, 16, {"corn": 5}),
}


@pytest.mark.shared_data
@pytest.mark.parametrize("name", list(FILES))
def test_real_files_match_readme(shared_data, name):
    n, n_t, classes = FILES[name]
    path = shared_data / "worldcereal_extractions" / name
    unknown = "other" if name.startswith("prometheo") else "error"  # 19 samples have legacy code 0 'Unknown'
    ds = read_worldcereal(path, unknown=unknown)
    counts = summary.summarize(ds).counts
    assert ds.sizes["sample"] == n and ds.sizes["time"] == n_t
    for cls, c in classes.items():
        assert counts.loc["total", cls] == c
    if "dekad" in name:
        orig = ds.attrs["original_label_counts"]
        assert orig["1101060000 maize"] == 83 and orig["1101010011 winter_common_soft_wheat"] == 55
        assert orig["1106000020 soy_soybeans"] == 13 and ds.attrs["bands_absent"] == ["B8A"]
    if "public" in name:
        assert dict(counts["total"].drop("total")) == {"UGA": 340, "SSD": 139, "KEN": 21}
    samples.validate(ds)
