"""WorldCereal reader: generated files in each published layout, bad input, and the six real files in ../shared/data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.sources.readers import data

from cropglobe import samples, summary
from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import read_worldcereal


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
    dek["timestamp"] = np.tile(
        pd.to_datetime(["2022-09-01", "2022-09-11", "2022-09-21", "2022-10-01", "2022-10-11"]), 4
    )
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


def test_unknown_codes_error_with_counts_or_mapped_code0_dropped(tmp_path):
    data.worldcereal_long(tmp_path / "x.parquet", codes=[0, 0, 1101060000, 12345])
    with pytest.raises(CropGlobeError, match=r"1 samples with unknown label codes: 12345 \(1\)"):
        read_worldcereal(tmp_path / "x.parquet")
    ds = read_worldcereal(tmp_path / "x.parquet", unknown="other")
    assert list(ds["label"].values) == ["corn", "other"] and ds.attrs["dropped_unknown_code0"] == 2
    assert ds.attrs["unknown_labels"] == {"12345": 1}
    assert read_worldcereal(tmp_path / "x.parquet", unknown="drop").sizes["sample"] == 1
    with pytest.raises(CropGlobeError, match=r"3 samples with unknown label codes: 0 \(2\), 12345 \(1\)"):
        read_worldcereal(tmp_path / "x.parquet", drop_code0=False)
    kept = read_worldcereal(tmp_path / "x.parquet", unknown="other", drop_code0=False)
    assert (
        list(kept["label"].values) == ["other", "other", "corn", "other"] and kept.attrs["dropped_unknown_code0"] == 0
    )


def test_bad_inputs_each_one_clear_error(tmp_path):
    df = data.worldcereal_long(tmp_path / "x.parquet")
    pd.concat([df, df.iloc[[3]]]).to_parquet(tmp_path / "dup.parquet")
    with pytest.raises(CropGlobeError, match=r"1 duplicated \(sample_id, timestamp\) rows"):
        read_worldcereal(tmp_path / "dup.parquet")
    df.drop(columns=["lat"]).to_parquet(tmp_path / "nolat.parquet")
    with pytest.raises(CropGlobeError, match=r"missing column\(s\) 'lat'"):
        read_worldcereal(tmp_path / "nolat.parquet")
    df.assign(year=2023.5).to_parquet(tmp_path / "halfyear.parquet")
    with pytest.raises(CropGlobeError, match=r"column 'year' has 4 values that are not whole years \(e\.g\. 2023\.5\)"):
        read_worldcereal(tmp_path / "halfyear.parquet")
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
    "worldcereal-classification/2023_FRA_LPIS_POLY_110_dekad.geoparquet": (
        500,
        51,
        {"corn": 88, "wheat": 61, "soybean": 13},
    ),
    "worldcereal-classification/2022_FRA_LPIS_POLY_110_month.geoparquet": (500, 17, {"corn": 6}),
    "worldcereal-classification/2021_BEL_LPIS-Flanders_POLY_110_dummy.parquet": (100, 16, {"corn": 12}),
    "prometheo/worldcereal_dataset.parquet": (31, 16, {"corn": 5}),  # 19 samples with legacy code 0 dropped
    "presto-worldcereal/test_long_parquet_2017_CAN_AAFC-ACIGTD.parquet": (
        3421,
        20,
        {"other": 1489, "wheat": 853, "soybean": 562, "corn": 517},
    ),
}


@pytest.mark.shared_data
@pytest.mark.parametrize("name", list(FILES))
def test_real_files_match_readme(shared_data, name):
    n, n_t, classes = FILES[name]
    path = shared_data / "worldcereal_extractions" / name
    ds = read_worldcereal(path)
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


@pytest.mark.shared_data
def test_real_canada_file_long_cet_legacy_valid_date(shared_data):
    path = (
        shared_data
        / "worldcereal_extractions"
        / "presto-worldcereal"
        / "test_long_parquet_2017_CAN_AAFC-ACIGTD.parquet"
    )
    ds = read_worldcereal(path)
    assert ds.sizes["sample"] == 3421 and ds.attrs["dropped_unknown_code0"] == 200
    assert ds.attrs["label_scheme"] == "legacy" and ds.attrs["bands_absent"] == [] and "B8A" not in ds["band"].values
    assert ds.sizes["band"] == 9 and ds.attrs["composite_period"] == "month"
    assert dict(ds["label"].to_series().value_counts()) == {"other": 1489, "wheat": 853, "soybean": 562, "corn": 517}
    assert str(ds["time"].values[0])[:10] == "2017-01-01" and str(ds["time"].values[-1])[:10] == "2018-08-01"
    assert ds.attrs["timestamps_snapped"] == {"field": "timestamp", "values": 20, "rows": 65997, "max_shift_hours": 2.0}
    assert set(ds["year"].values.tolist()) == {2017} and ds.attrs["year_source"] == {"year of 'valid_date'": 3421}
    assert {"S1-SIGMA0-VV", "AGERA5-temperature-mean", "DEM-alt-20m"} <= set(ds.attrs["ignored_columns"])
    assert set(ds["country"].values) == {"CAN"}


def _snap_history(ds):
    return [h for h in ds.attrs["history"] if "snapped" in h]


def test_long_cet_month_starts_snapped_both_dst_cases_and_year_from_valid_date(tmp_path):
    local = pd.date_range("2017-01-01", periods=6, freq="MS")
    stamps = data.cet_as_utc(local)
    assert str(stamps[0]) == "2016-12-31 23:00:00" and str(stamps[3]) == "2017-03-31 22:00:00"
    df = data.worldcereal_long_rows(
        tmp_path / "c.parquet",
        stamps,
        n=3,
        label_col="CROPTYPE_LABEL",
        codes=(1120, 4100, 1200),
        year=None,
        valid_date=["2017-07-12T22:00", "2017-12-31T23:00", None],
    )
    ds = read_worldcereal(tmp_path / "c.parquet")
    assert list(pd.DatetimeIndex(ds["time"].values)) == list(local)
    assert list(ds["bin_days"].values) == [31, 28, 31, 30, 31, 30] and ds.attrs["composite_period"] == "month"
    assert ds.attrs["timestamps_snapped"] == {"field": "timestamp", "values": 6, "rows": 18, "max_shift_hours": 2.0}
    assert len(_snap_history(ds)) == 1 and "shift up to 2 h" in _snap_history(ds)[0]
    row = df[(df.sample_id == "2017_CAN_AAFC-1") & (df.timestamp == stamps[3])].iloc[0]
    got = ds["reflectance"].sel(band="B8").sel(time="2017-04-01").isel(sample=1).item()
    assert got == pytest.approx(row["S2-L2A-B08"] * 1e-4, rel=1e-6)
    assert list(ds["label"].values) == ["wheat", "soybean", "corn"]
    # local midnight 2018-01-01 stored as 2017-12-31T23:00 keeps its year; no valid_date: the year holding the dates
    assert list(ds["year"].values) == [2017, 2018, 2017]
    assert ds.attrs["year_source"] == {"year of 'valid_date'": 2, "year holding most time steps": 1}


def test_long_cet_dekads_snapped(tmp_path):
    local = pd.DatetimeIndex(["2023-03-01", "2023-03-11", "2023-03-21", "2023-04-01", "2023-04-11", "2023-04-21"])
    data.worldcereal_long_rows(tmp_path / "d.parquet", data.cet_as_utc(local), n=2, year=2023)
    ds = read_worldcereal(tmp_path / "d.parquet")
    assert list(pd.DatetimeIndex(ds["time"].values)) == list(local) and ds.attrs["composite_period"] == "dekad"
    assert list(ds["bin_days"].values) == [10, 10, 11, 10, 10, 10]
    assert ds.attrs["timestamps_snapped"]["rows"] == 12 and ds.attrs["timestamps_snapped"]["max_shift_hours"] == 2.0
    assert list(ds["year"].values) == [2023, 2023] and ds.attrs["year_source"] == {"column 'year'": 2}


def test_timestamps_exact_are_not_snapped_far_ones_are_an_error(tmp_path):
    data.worldcereal_long_rows(tmp_path / "ok.parquet", pd.date_range("2017-01-01", periods=3, freq="MS"), n=2)
    ds = read_worldcereal(tmp_path / "ok.parquet")
    assert "timestamps_snapped" not in ds.attrs and not _snap_history(ds)
    data.worldcereal_long_rows(tmp_path / "day.parquet", pd.DatetimeIndex(["2017-01-02", "2017-01-31T00:00"]), n=2)
    ds = read_worldcereal(tmp_path / "day.parquet")  # exactly one day after / before a month start
    assert [str(t)[:10] for t in ds["time"].values] == ["2017-01-01", "2017-02-01"]
    assert ds.attrs["timestamps_snapped"]["max_shift_hours"] == 24.0
    data.worldcereal_long_rows(
        tmp_path / "mid.parquet", pd.DatetimeIndex(["2017-01-01", "2017-01-15", "2016-12-30T23:00"]), n=2
    )
    with pytest.raises(
        CropGlobeError,
        match=r"2 'timestamp' values lie more than a day from a month start or dekad start "
        r"\(e\.g\. 2016-12-30 23:00:00, 2017-01-15 00:00:00",
    ):
        read_worldcereal(tmp_path / "mid.parquet")
    data.worldcereal_long_rows(tmp_path / "dup.parquet", pd.DatetimeIndex(["2016-12-31T23:00", "2017-01-01"]), n=2)
    with pytest.raises(CropGlobeError, match=r"2 duplicated \(sample_id, timestamp\) rows"):
        read_worldcereal(tmp_path / "dup.parquet")  # two stamps of one sample snap onto the same month


def test_year_from_dates_per_sample_without_year_or_valid_date(tmp_path):
    df = data.worldcereal_long(tmp_path / "x.parquet", n=2, n_t=12)  # 2022-09 .. 2023-08
    df = df.drop(columns=["year"])
    df = df[~((df.sample_id == "2023_FRA_LPIS_POLY_110_0") & (df.timestamp >= "2023-01-01"))]
    df.to_parquet(tmp_path / "y.parquet")
    ds = read_worldcereal(tmp_path / "y.parquet")
    assert list(ds["year"].values) == [2022, 2023]  # sample 0 has only 2022 rows; sample 1 has 4 in 2022, 8 in 2023
    assert ds.attrs["year_source"] == {"year holding most time steps": 2}
    assert any("season year from year holding most time steps (2 samples)" in h for h in ds.attrs["history"])


def test_wide_mid_month_start_dates_from_several_years(tmp_path):
    starts = ["2017-10-26", "2019-03-15", "2020-12-31T23:00", "2021-01-01"]
    ends = ["2018-10-25", "2020-03-14", "2021-12-31", "2021-12-01"]
    df = data.worldcereal_wide_dates(tmp_path / "w.parquet", starts, ends, years=[2018, 2019, 2021, 2021])
    ds = read_worldcereal(tmp_path / "w.parquet")
    t = pd.DatetimeIndex(ds["time"].values)
    assert t[0] == pd.Timestamp("2017-10-01") and t[-1] == pd.Timestamp("2021-12-01") and len(t) == 51
    assert list(ds["year"].values) == [2018, 2019, 2021, 2021]
    b2 = ds["reflectance"].sel(band="B2")
    assert b2.isel(sample=0).sel(time="2017-10-01").item() == pytest.approx(
        df.loc[0, "OPTICAL-B02-ts0-10m"] * 1e-4, rel=1e-6
    )
    assert b2.isel(sample=0).sel(time="2018-09-01").item() == pytest.approx(
        df.loc[0, "OPTICAL-B02-ts11-10m"] * 1e-4, rel=1e-6
    )
    assert np.isnan(b2.isel(sample=0).sel(time="2018-10-01").item())
    assert b2.isel(sample=1).sel(time="2019-03-01").item() == pytest.approx(
        df.loc[1, "OPTICAL-B02-ts0-10m"] * 1e-4, rel=1e-6
    )
    # local midnight 2021-01-01 stored as 2020-12-31T23:00: ts0 is January 2021, as for sample 3
    assert b2.isel(sample=2).sel(time="2021-01-01").item() == pytest.approx(
        df.loc[2, "OPTICAL-B02-ts0-10m"] * 1e-4, rel=1e-6
    )
    assert np.isnan(b2.isel(sample=2).sel(time="2020-12-01").item())
    assert int(np.isfinite(b2.values).sum(axis=1).max()) == 12
    assert "2 samples start mid-month" in ds.attrs["wide_time_rule"]


def test_wide_end_date_mismatch_is_an_error(tmp_path):
    data.worldcereal_wide_dates(tmp_path / "w.parquet", ["2017-10-26", "2018-01-01"], ["2018-10-25", "2019-03-01"])
    with pytest.raises(
        CropGlobeError,
        match=r"do not span start_date\.\.end_date as monthly steps for 1 samples \(e\.g\. s1: "
        r"start_date 2018-01-01 00:00:00 gives ts0 = 2018-01 and ts11 = 2018-12",
    ):
        read_worldcereal(tmp_path / "w.parquet")
    data.worldcereal_wide_dates(tmp_path / "e.parquet", ["2018-01-01"], ["2018-11-30"])
    with pytest.raises(CropGlobeError, match="expected end_date in the month of ts11 or the month after"):
        read_worldcereal(tmp_path / "e.parquet")


def test_legacy_codes_with_code0_dropped_and_counted(tmp_path):
    codes = (1110, 1120, 1200, 4100, 0, 0, 9120, 1100)
    data.worldcereal_long_rows(tmp_path / "l.parquet", pd.date_range("2017-01-01", periods=2, freq="MS"), n=8,
                               label_col="CROPTYPE_LABEL", codes=codes)
    ds = read_worldcereal(tmp_path / "l.parquet")
    assert list(ds["label"].values) == ["wheat", "wheat", "corn", "soybean", "other", "wheat"]
    assert ds.attrs["dropped_unknown_code0"] == 2 and ds.attrs["label_scheme"] == "legacy"
    assert ds.attrs["original_label_counts"]["0 Unknown"] == 2 and ds.attrs["unknown_labels"] == {}
    assert "2017_CAN_AAFC-4" not in ds["sample_id"].values
    assert any("dropped 2 samples with codes the legend calls unknown (0 Unknown: 2)" in h for h in ds.attrs["history"])
    data.worldcereal_long_rows(tmp_path / "z.parquet", pd.date_range("2017-01-01", periods=2, freq="MS"), n=2,
                               label_col="CROPTYPE_LABEL", codes=(0,))
    with pytest.raises(CropGlobeError, match=r"no labelled samples left \(2 with codes the legend calls unknown"):
        read_worldcereal(tmp_path / "z.parquet")


def test_extra_s1_meteo_dem_columns_ignored_and_listed(tmp_path):
    data.worldcereal_long_rows(
        tmp_path / "l.parquet", pd.date_range("2017-01-01", periods=2, freq="MS"), n=2, extras=True
    )
    ds = read_worldcereal(tmp_path / "l.parquet")
    assert sorted(ds.attrs["ignored_columns"]) == sorted(data.EXTRA_LONG) and ds.sizes["band"] == 10
    assert any("ignored 7 columns" in h for h in ds.attrs["history"])
    data.worldcereal_wide_dates(tmp_path / "w.parquet", ["2021-01-01"], ["2021-12-01"], years=[2021], extras=True)
    ds = read_worldcereal(tmp_path / "w.parquet")
    assert ds.attrs["ignored_columns"] == ["SAR-VV-ts*-20m", "METEO-temperature_mean-ts*-100m", "DEM-alt-20m"]
    assert list(ds["band"].values) == [str(b) for b in ds.attrs["bands_present"]] and ds.sizes["band"] == 10


def test_time_zone_aware_timestamps_and_bad_dates(tmp_path):
    local = pd.to_datetime(["2017-01-01T00:00+01:00", "2017-04-01T00:00+02:00"], utc=True)  # tz-aware UTC
    data.worldcereal_long_rows(tmp_path / "tz.parquet", local, n=2)
    ds = read_worldcereal(tmp_path / "tz.parquet")
    assert [str(t)[:10] for t in ds["time"].values] == ["2017-01-01", "2017-04-01"]
    assert ds.attrs["timestamps_snapped"]["max_shift_hours"] == 2.0
    df = data.worldcereal_long_rows(
        tmp_path / "v.parquet", pd.date_range("2017-01-01", periods=2, freq="MS"), n=2, year=None
    )
    df.assign(valid_date="summer").to_parquet(tmp_path / "v.parquet")
    with pytest.raises(
        CropGlobeError, match=r"column 'valid_date' has 2 values that are not dates \(e\.g\. 'summer'\)"
    ):
        read_worldcereal(tmp_path / "v.parquet")


def test_every_code_the_legend_calls_unknown_is_dropped_like_code0(tmp_path):
    data.worldcereal_wide(tmp_path / "w.parquet", n=6, codes=(1200, 9700, 991, 0, 1110, 9700))
    ds = read_worldcereal(tmp_path / "w.parquet")
    assert list(ds["label"].values) == ["corn", "wheat"] and list(ds["sample_id"].values) == ["s0", "s4"]
    assert ds.attrs["dropped_unknown_code0"] == 4 and ds.attrs["unknown_labels"] == {}
    assert ds.attrs["dropped_unknown_codes"] == {"9700 Unknown": 2, "0 Unknown": 1, "991 Unknown": 1}
    assert any("(9700 Unknown: 2, 0 Unknown: 1, 991 Unknown: 1)" in h for h in ds.attrs["history"])
    with pytest.raises(CropGlobeError, match=r"4 samples with unknown label codes: 9700 \(2\), 0 \(1\), 991 \(1\)"):
        read_worldcereal(tmp_path / "w.parquet", drop_code0=False)
    data.worldcereal_wide(tmp_path / "x.parquet", n=3, codes=(1200, 9700, 12345))  # 12345: not in the legend
    with pytest.raises(CropGlobeError, match=r"1 samples with unknown label codes: 12345 \(1\)"):
        read_worldcereal(tmp_path / "x.parquet")
    assert read_worldcereal(tmp_path / "x.parquet", unknown="drop").attrs["dropped_unknown_codes"] == {
        "9700 Unknown": 1}
