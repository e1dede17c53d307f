"""Earth Engine exports as published: per-window files, half-integer medians, bright values, a validity
column, errors naming one file and row, and the real Arkansas 2021 export in ../shared/data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.sources.readers import data

from cropglobe import summary
from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import read_table
from cropglobe.sources.readers.pivot import check_scales
from cropglobe.temporal.composite import composite

from .test_table import CONFIGS

MAPPING = CONFIGS / "gee_dekadal_windows.yaml"


def test_window_files_make_one_ten_day_composite(tmp_path):
    files = data.ee_windows(tmp_path, n=5, n_windows=4)
    ds = read_table(files, MAPPING)
    assert ds.sizes == {"sample": 5, "band": 10, "time": 4}
    assert ds.attrs["time_kind"] == "composite" and list(ds["bin_days"].values) == [10] * 4
    assert [str(t)[:10] for t in ds["time"].values] == ["2021-01-01", "2021-01-11", "2021-01-21", "2021-01-31"]
    assert list(ds["label"].values) == ["other", "corn", "cotton", "rice", "soybean"]
    assert list(ds["sample_id"].values) == ["0", "1", "2", "3", "4"] and set(ds["country"].values) == {"USA"}
    raw = pd.read_csv(files[3])
    assert ds["reflectance"].sel(band="B8A").isel(sample=4, time=3).item() == pytest.approx(
        raw.loc[4, "B8A"] * 1e-4, rel=1e-6)
    assert ds.attrs["source"] == "table arkansas_t00_01_d1.csv ... arkansas_t03_01_d3.csv (4 files)"
    assert len(ds.attrs["source_files"]) == 4


def test_full_year_of_windows_composites_onto_the_aligned_axis(tmp_path):
    ds = read_table(data.ee_windows(tmp_path, n=4, n_windows=36), MAPPING)
    assert str(ds["time"].values[-1])[:10] == "2021-12-17"
    full = composite(ds)
    assert full.sizes["time"] == 73 and full.sizes["sample"] == 4 and "10-day" in full.attrs["regridded_from"]
    assert np.isfinite(full["cov_clay"].values[:3]).all() and np.isnan(full["cov_clay"].values[3])


def test_half_integer_medians_pass_and_mixed_scales_are_still_refused():
    half = np.array([[[537.5, 212.0]], [[2026.5, 0.0]]], dtype=np.float32).transpose(0, 2, 1)  # (2, 1 band, 2)
    check_scales(half, ["B2"], 1e-4, "t.csv")
    mixed = np.array([[0.0537, 537.5, 2026.25]], dtype=np.float32)[:, None, :]
    with pytest.raises(CropGlobeError, match=r"t\.csv: mixed scales: B2: 2 fractional values other than \.5 "
                                             r"\(e\.g\. 0\.0537 in sample 1, time 1\) next to 1 integers"):
        check_scales(mixed, ["B2"], 1e-4, "t.csv")
    rows = np.array([[537.5], [2026.25]], dtype=np.float32)[:, :, None]
    with pytest.raises(CropGlobeError, match=r"e\.g\. 2026\.25 in data row 2\)"):
        check_scales(rows, ["B6"], 1e-4, "t.csv", unit="data row")
    with pytest.raises(CropGlobeError, match=r"B4: 1 values > 1\.5 \(e\.g\. 2026\.5 in sample 1, time 2\)"):
        check_scales(np.array([[[0.05, 2026.5]]], dtype=np.float32), ["B4"], None, "t.csv")


def test_bright_values_kept_up_to_1_5_beyond_masked_and_counted(tmp_path):
    ds = read_table(data.ee_windows(tmp_path), MAPPING)
    px = ds["reflectance"].isel(sample=2, time=2)
    assert np.isnan(px.sel(band="B2").item()) and px.sel(band="B3").item() == pytest.approx(1.2)
    assert ds.attrs["masked_out_of_range"] == 1 and ds.attrs["masked_out_of_range_by_band"] == {"B2": 1}
    assert any("1 values outside the band range" in h for h in ds.attrs["history"])


def test_valid_column_masks_every_band_of_its_rows_and_keeps_a_genuine_zero(tmp_path):
    ds = read_table(data.ee_windows(tmp_path), MAPPING)
    assert np.isnan(ds["reflectance"].isel(sample=1, time=1).values).all()
    assert np.isfinite(ds["reflectance"].isel(sample=1, time=0).values).all()
    assert ds["reflectance"].sel(band="B5").isel(sample=3, time=0).item() == 0.0
    assert ds.attrs["valid_column"] == "valid" and ds.attrs["masked_invalid_rows"] == 1
    assert int(np.isnan(ds["reflectance"].values).sum()) == 10 + 1  # the empty window + the bright B2


def test_errors_name_the_one_file_and_its_first_bad_row(tmp_path):
    files = data.ee_windows(tmp_path)
    orig = pd.read_csv(files[2])
    df = orig.astype({"B4": object})
    df.loc[2, "B4"] = "n.a."
    df.to_csv(files[2], index=False)
    with pytest.raises(CropGlobeError) as err:
        read_table(files, MAPPING)
    msg = str(err.value)
    assert msg.startswith(f"{files[2]}: column 'B4', data row 3: 'n.a.' is not a number")
    assert files[0].name not in msg and files[3].name not in msg
    orig.drop(columns=["valid"]).to_csv(files[2], index=False)
    with pytest.raises(CropGlobeError, match=rf"^{files[2]}: missing column\(s\) 'valid'"):
        read_table(files, MAPPING)
    dup = orig.copy()
    dup.loc[4, "date_str"] = "2021-01-01"  # pixel 4's row of the first window again
    dup.to_csv(files[2], index=False)
    with pytest.raises(CropGlobeError, match=rf"^{files[2]} data row 5: 1 duplicated \(pixel_id, date_str\) rows, the "
                                             rf"first \(4, 2021-01-01\) already in {files[0]} data row 5"):
        read_table(files, MAPPING)
    other = orig.copy()
    other.loc[0, "label_name"] = "Corn"
    other.to_csv(files[2], index=False)
    with pytest.raises(CropGlobeError, match=rf"^{files[2]} data row 1: column 'label_name' changes within sample 0"):
        read_table(files, MAPPING)
    bad_valid = pd.read_csv(files[1]).astype({"valid": object})
    bad_valid.loc[3, "valid"] = "yes"
    bad_valid.to_csv(files[1], index=False)
    with pytest.raises(CropGlobeError, match=rf"^{files[1]}: column 'valid', data row 4: 'yes' is not a number"):
        read_table(files[:2], MAPPING)


def test_mapping_sections_for_exports_are_checked(tmp_path):
    import yaml

    from cropglobe.sources.readers import load_mapping

    good = yaml.safe_load(MAPPING.read_text())
    for change, msg in [({"season_year": "harvest"}, "season_year"), ({"valid": {"col": "valid"}}, "valid"),
                        ({"covariates": [{"id": "pixel_id"}]}, "covariates")]:
        p = tmp_path / "m.yaml"
        p.write_text(yaml.safe_dump({**good, **change}))
        with pytest.raises(CropGlobeError, match=f"field '{msg}"):
            load_mapping(p)
    wide = yaml.safe_load((CONFIGS / "cawa.yaml").read_text())
    p.write_text(yaml.safe_dump({**wide, "valid": {"column": "valid"}}))
    with pytest.raises(CropGlobeError, match="'valid' .* applies to layout 'long'"):
        load_mapping(p)


@pytest.mark.shared_data
def test_arkansas_2021_export_as_published(shared_data):
    folder = shared_data / "us_arkansas_2021_gee"
    files = sorted(folder.glob("arkansas_t*.csv"))
    assert len(files) == 36
    ds = read_table(files, MAPPING)
    assert ds.sizes == {"sample": 10000, "band": 10, "time": 36}
    c = summary.summarize(ds).counts.loc["total"]
    assert (c["soybean"], c["rice"], c["corn"], c["cotton"], c["other"]) == (4677, 2423, 1522, 762, 616)
    assert list(ds["band"].values) == data.EE_BANDS and list(ds["bin_days"].values) == [10] * 36
    missing = float(np.isnan(ds["reflectance"].values).mean())
    assert 0.17 < missing < 0.19
    assert ds.attrs["masked_invalid_rows"] == 64827 and ds.attrs["masked_out_of_range"] == 2
    assert ds.attrs["covariates"][0]["samples_without_row"] == 87
    assert sorted(k for k in ds.coords if k.startswith("cov_")) == [
        "cov_aspect", "cov_clay", "cov_elevation", "cov_org_carbon", "cov_ph", "cov_sand", "cov_slope"]
