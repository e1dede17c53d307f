"""The southern season-year convention: declared on import (start / end), recorded, and checked against the dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.sources.readers import data

from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import load_mapping, read_table, read_worldcereal
from cropglobe.temporal import season_year
from cropglobe.temporal.composite import composite
from cropglobe.temporal.settings import CompositeSettings

PAPER_2019 = pd.date_range("2018-07-01", periods=12, freq="MS").to_numpy("datetime64[ns]")  # July 2018 - June 2019
MONTHS = pd.DatetimeIndex(PAPER_2019).days_in_month.to_numpy()


def _apply(years, countries, lat, times=PAPER_2019, convention="start"):
    present = np.ones((len(years), len(times)), dtype=bool)
    ids = np.array([f"p{i}" for i in range(len(years))])
    return season_year.apply(np.array(years), np.array(countries), np.array(lat, dtype=float),
                             season_year.Dates(times, present, MONTHS[:len(times)]), convention, ids=ids, where="t.csv")


def test_start_is_the_default_and_a_paper_year_is_refused_with_the_remedy():
    with pytest.raises(CropGlobeError) as err:
        _apply([2019], ["ARG"], [-34.0])
    msg = str(err.value)
    assert msg.startswith("t.csv: 1 of 1 southern samples have no observation inside their season year (e.g. "
                          "sample p0, year 2019: under season_year=start its aligned year runs 2019-07-02..2020-06-30, "
                          "but its observations lie in 2018-07-01..2019-06-30)")
    assert "declare season_year: end (CLI: --season-year end)" in msg
    years, attrs = _apply([2018], ["ARG"], [-34.0])  # the same season, named by its start year
    assert list(years) == [2018] and attrs == {"season_year": "start", "season_year_shifted": 0}


def test_end_moves_southern_samples_only_and_says_so():
    years, attrs = _apply([2019, 2019], ["ARG", "FRA"], [-34.0, 45.0], convention="end")
    assert list(years) == [2018, 2019] and attrs == {"season_year": "end", "season_year_shifted": 1}
    later = pd.date_range("2019-08-01", periods=10, freq="MS").to_numpy("datetime64[ns]")
    with pytest.raises(CropGlobeError, match=r"under season_year=end its aligned year runs 2018-07-02\.\.2019-07-01.*"
                                             r"declare season_year: start"):
        _apply([2019], ["ARG"], [-34.0], times=later, convention="end")


def test_northern_samples_day_of_year_axes_and_bad_names():
    years, _ = _apply([2020], ["FRA"], [45.0])  # northern data of the autumn before: not checked
    assert list(years) == [2020]
    doy = np.arange(1, 366, 10, dtype=np.int32)
    present = np.ones((1, doy.size), dtype=bool)
    dates = season_year.Dates(doy, present)
    assert list(season_year.apply(np.array([2019]), np.array(["ARG"]), np.array([-34.0]), dates)[0]) == [2019]
    with pytest.raises(CropGlobeError, match="season_year='harvest': expected 'start'"):
        _apply([2019], ["ARG"], [-34.0], convention="harvest")
    with pytest.raises(CropGlobeError, match=r"t\.csv: season_year=end moves southern samples only: .*KEN.*latitudes"):
        _apply([2019], ["KEN"], [np.nan], convention="end")
    assert list(_apply([2019], ["KEN"], [np.nan])[0]) == [2019]  # start: left to compositing


def _southern_table(path):
    """A long Earth Engine table of two Argentinian points over the paper's 2019 season (July 2018 - June 2019)."""
    rng = np.random.default_rng(3)
    rows = []
    for i, crop in enumerate(["maize", "soybean"]):
        for t in PAPER_2019:
            row = {"point_id": f"ar{i}", "system:time_start": int(pd.Timestamp(t).value // 1_000_000), "crop": crop,
                   "longitude": -61.0, "latitude": -34.0, "country": "ARG", "season": 2019}
            row.update({b: int(rng.integers(300, 4000)) for b in data.EE_BANDS})
            rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)


def test_table_import_declares_the_convention_and_composites_the_right_window(tmp_path):
    from tests.sources.readers.test_table import CONFIGS

    _southern_table(tmp_path / "ar.csv")
    mapping = CONFIGS / "gee_export_example.yaml"
    with pytest.raises(CropGlobeError, match=r"ar\.csv: 2 of 2 southern samples .*declare season_year: end"):
        read_table(tmp_path / "ar.csv", mapping)
    ds = read_table(tmp_path / "ar.csv", mapping, season_year="end")
    assert list(ds["year"].values) == [2018, 2018] and ds.attrs["season_year"] == "end"
    assert any("2 southern samples stored as year - 1" in h for h in ds.attrs["history"])
    # aligned window 2018-10-30 .. 2019-05-28: inside the data
    full = composite(ds, CompositeSettings(interval=10, min_clear=1))
    assert full.sizes["sample"] == 2 and int(full.attrs["dropped_samples"]) == 0
    m = load_mapping(mapping).model_copy(update={"season_year": "end"})
    assert list(read_table(tmp_path / "ar.csv", m)["year"].values) == [2018, 2018]


def test_worldcereal_import_option(tmp_path):
    data.worldcereal_long_rows(tmp_path / "ar.parquet", PAPER_2019, n=2, year=2019)
    with pytest.raises(CropGlobeError, match="declare season_year: end"):
        read_worldcereal(tmp_path / "ar.parquet", country="ARG")
    ds = read_worldcereal(tmp_path / "ar.parquet", country="ARG", season_year="end")
    assert list(ds["year"].values) == [2018, 2018] and ds.attrs["season_year_shifted"] == 2
    assert any("season_year=end: 2 southern samples" in h for h in ds.attrs["history"])
    can = read_worldcereal(tmp_path / "ar.parquet", season_year="end")  # the ref_id says CAN: northern
    assert list(can["year"].values) == [2019, 2019] and can.attrs["season_year_shifted"] == 0
