"""Generic table reader: mappings, long/wide layouts, bad input, and CAWa / UCR Crop in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cropglobe import summary
from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import load_mapping, read_table

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "tables"


def _gee_table(n: int = 3, n_t: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for i in range(n):
        for t in range(n_t):
            row = {"point_id": f"p{i}", "system:time_start": 1_680_000_000_000 + t * 5 * 86_400_000,
                   "crop": ["maize", "winter wheat", "fallow"][i], "longitude": 5.0, "latitude": 45.0,
                   "country": "FRA", "season": 2023}
            row.update(
                {
                    b: int(rng.integers(100, 5000))
                    for b in ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]
                }
            )
            rows.append(row)
    return pd.DataFrame(rows)


def test_gee_long_example_mapping(tmp_path):
    df = _gee_table()
    df.to_csv(tmp_path / "gee.csv", index=False)
    ds = read_table(tmp_path / "gee.csv", CONFIGS / "gee_export_example.yaml")
    assert ds.sizes == {"sample": 3, "band": 10, "time": 4} and ds.attrs["time_kind"] == "observations"
    assert list(ds["label"].values) == ["corn", "wheat", "other"]
    assert str(ds["time"].values[0])[:10] == "2023-03-28"
    assert ds["reflectance"].sel(band="B4").isel(sample=0, time=0).item() == pytest.approx(
        df.loc[0, "B4"] * 1e-4, rel=1e-6
    )
    df.to_parquet(tmp_path / "gee.parquet")
    assert read_table(tmp_path / "gee.parquet", CONFIGS / "gee_export_example.yaml").sizes["sample"] == 3


def test_bad_tables(tmp_path):
    mapping = CONFIGS / "gee_export_example.yaml"
    df = _gee_table()
    df.drop(columns=["B4"]).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(CropGlobeError, match=r"missing column\(s\) 'B4'"):
        read_table(tmp_path / "a.csv", mapping)
    pd.concat([df, df.iloc[[0]]]).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(CropGlobeError, match=r"1 duplicated \(point_id, system:time_start\) rows"):
        read_table(tmp_path / "b.csv", mapping)
    bad = df.copy()
    bad.loc[bad.point_id == "p0", "crop"] = "barley"
    bad.loc[bad.point_id == "p1", "crop"] = "oats"
    bad.to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(CropGlobeError, match=r"2 samples with unknown label codes: barley \(1\), oats \(1\)"):
        read_table(tmp_path / "c.csv", mapping)
    assert list(read_table(tmp_path / "c.csv", mapping, unknown="other")["label"].values) == ["other", "other", "other"]
    mixed = df.astype({"B3": float})
    mixed.loc[mixed.point_id == "p2", "B3"] = 0.05
    mixed.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(CropGlobeError, match="mixed scales: B3: 4 fractional values"):
        read_table(tmp_path / "d.csv", mapping)
    (tmp_path / "e.parquet").write_text("not a table")
    with pytest.raises(CropGlobeError, match="cannot be read as a table"):
        read_table(tmp_path / "e.parquet", mapping)


def test_mapping_validation(tmp_path):
    good = yaml.safe_load((CONFIGS / "ucr_crop.yaml").read_text())
    for change, msg in [({"layout": "diagonal"}, "layout"), ({"wide": {"pattern": "(\\d+)", "band": "NDVI"}}, "wide"),
                        ({"time": {"format": "index"}}, "time"), ({"extra_field": 1}, "extra_field")]:
        p = tmp_path / "m.yaml"
        p.write_text(yaml.safe_dump({**good, **change}))
        with pytest.raises(CropGlobeError, match=f"field '{msg}"):
            load_mapping(p)


def test_wide_ndvi_without_dates(tmp_path):
    rows = np.c_[np.array([1, 2, 10, 18, 3]), np.linspace(0.1, 0.8, 5 * 46).reshape(5, 46)]
    pd.DataFrame(rows).to_csv(tmp_path / "Crop_TRAIN.tsv", sep="\t", header=False, index=False)
    ds = read_table(tmp_path / "Crop_TRAIN.tsv", CONFIGS / "ucr_crop.yaml")
    assert list(ds["band"].values) == ["NDVI"] and ds.sizes["time"] == 46
    assert list(ds["time"].values[:3]) == [1, 9, 17] and "evenly spaced" in ds.attrs["time_assumed"]
    assert list(ds["label"].values) == ["corn", "wheat", "soybean", "corn", "other"]


@pytest.mark.shared_data
def test_cawa_and_ucr(shared_data):
    cawa = read_table(shared_data / "cawa_central_asia" / "CAWa_CropType_time-series.csv", CONFIGS / "cawa.yaml")
    c = summary.summarize(cawa).counts.loc["total"]
    assert cawa.sizes == {"sample": 8435, "band": 1, "time": 23}
    assert (c["cotton"], c["wheat"], c["rice"], c["corn"]) == (4025, 1596, 167, 126)
    assert set(cawa["country"].values) == {"UZB", "TJK"} and list(cawa["band"].values) == ["NDVI"]
    ucr = read_table(shared_data / "ucr_crop_formosat2" / "Crop_TRAIN.tsv", CONFIGS / "ucr_crop.yaml")
    assert ucr.sizes == {"sample": 7200, "band": 1, "time": 46}
    assert summary.summarize(ucr).counts.loc["total", "corn"] == 600  # classes 1 + 18, 300 each in TRAIN


def test_a_mapping_with_its_own_legend(tmp_path):
    df = _gee_table(n=3)
    df.loc[df.point_id == "p2", "crop"] = "rapeseed"
    df.to_csv(tmp_path / "gee.csv", index=False)
    mapping = yaml.safe_load((CONFIGS / "gee_export_example.yaml").read_text())
    mapping["classes"] = ["corn", "cereal/wheat", "oilseed/rapeseed", "other"]
    mapping["label"]["map"] = {"maize": "corn", "winter wheat": "wheat", "rapeseed": "oilseed/rapeseed"}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(mapping))
    ds = read_table(tmp_path / "gee.csv", tmp_path / "m.yaml")
    assert list(ds["label"].values) == ["corn", "cereal/wheat", "oilseed/rapeseed"]
    assert ds.attrs["classes"] == mapping["classes"]
    assert list(summary.summarize(ds).counts.columns) == ["corn", "cereal/wheat", "oilseed/rapeseed", "total"]
    mapping["label"]["map"]["rapeseed"] = "sunflower"  # a map value outside the legend
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(mapping))
    with pytest.raises(CropGlobeError, match="label.map: value of 'rapeseed': unknown crop label 'sunflower'"):
        read_table(tmp_path / "gee.csv", tmp_path / "m.yaml")
    mapping["classes"] = ["corn", "wheat"]  # no catch-all
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(mapping))
    with pytest.raises(CropGlobeError, match="field 'classes'.*no class 'other'"):
        load_mapping(tmp_path / "m.yaml")


def test_a_misspelt_mapping_key_gets_did_you_mean(tmp_path, capsys):
    """The misspelt key is reported (not the right key's "Field required"), through the CLI with exit 2 (issue 27)."""
    from cropglobe.cli import main

    text = (CONFIGS / "ucr_crop.yaml").read_text().replace("\nlayout:", "\nlayuot:")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(text)
    with pytest.raises(CropGlobeError, match=r"field 'layuot': Extra inputs are not permitted; did you mean "
                                             r"'layout'\?"):
        load_mapping(mapping)
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SystemExit) as exit_:
        main(["data", "import", "table", str(tmp_path / "x.csv"), "-m", str(mapping), "--out",
              str(tmp_path / "o.zarr")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "did you mean 'layout'?" in err and not (tmp_path / "o.zarr").exists()
