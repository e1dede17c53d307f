"""Tests for cropglobe.sources.emit.points: points tables and granules -> observation-level SampleSet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cropglobe import samples
from cropglobe.errors import CropGlobeError
from cropglobe.sources.emit import read_points, sample_points

from . import data
from .conftest import points_table


def test_two_granules_give_an_irregular_time_axis(tmp_path, scene):
    late = data.write_granule(tmp_path / "late.nc", scene, time="2023-09-02T11:02:44+0000")
    early = data.write_granule(tmp_path / "early.nc", data.make_scene(brightness=0.9), time="2023-06-11T09:15:00+0000")
    table = points_table([(5, 3), (2, 6), (0, 0)], labels=["corn", "soybean", "wheat"])
    ds = sample_points([late, early], table)
    assert ds.attrs["sensor"] == "EMIT" and ds.attrs["processing_level"] == "L2A"
    assert ds.attrs["time_kind"] == "observations" and not ds.attrs["simulated"]
    assert list(ds["time"].values) == [
        np.datetime64("2023-06-11T09:15:00", "ns"),
        np.datetime64("2023-09-02T11:02:44", "ns"),
    ]
    assert list(ds["sample_id"].values) == list(table["sample_id"][:2])  # (0, 0) is the empty GLT corner
    assert any("dropped 1 point" in h for h in ds.attrs["history"])
    assert list(ds["label"].values) == ["corn", "soybean"]
    assert ds.sizes["band"] == data.GOOD.sum()
    np.testing.assert_allclose(ds["wavelength"].values, data.WAVELENGTHS[data.GOOD], rtol=1e-6)
    down, cross = scene.raw_of(5, 3)
    np.testing.assert_array_equal(ds["reflectance"].values[0, :, 1], data.spectrum(down, cross)[data.GOOD])
    np.testing.assert_array_equal(ds["reflectance"].values[0, :, 0], data.spectrum(down, cross, 0.9)[data.GOOD])
    assert ds["clear"].values[0, 1] == pytest.approx(1.0)


def test_keep_uncovered_and_save_load(tmp_path, granule):
    ds = sample_points([granule], points_table([(5, 3), (0, 0)]), drop_uncovered=False)
    assert np.isnan(ds["reflectance"].values[1]).all() and ds["clear"].values[1, 0] == 0
    back = samples.load(samples.save(ds, tmp_path / "emit.zarr"))
    np.testing.assert_array_equal(back["reflectance"].values, ds["reflectance"].values)
    assert back.attrs["sensor"] == "EMIT"


def test_read_points_round_trip(tmp_path):
    path = tmp_path / "points.csv"
    points_table([(1, 1), (2, 2)]).to_csv(path, index=False)
    table = read_points(path)
    assert list(table.columns[:6]) == ["sample_id", "lon", "lat", "country", "year", "label"]
    assert table["year"].dtype.kind == "i"


@pytest.mark.parametrize("mutate,message", [
    (lambda t: t.drop(columns="label"), r"missing column\(s\) \['label'\]"),
    (lambda t: t.assign(lon=[2.0, 200.0]), r"row 3, column 'lon': .*200"),
    (lambda t: t.assign(lat=["47.0", "north"]), r"row 3, column 'lat'"),
    (lambda t: t.assign(year=[2023, 2023.5]), r"row 3, column 'year'"),
    (lambda t: t.assign(sample_id=["a", "a"]), "appears more than once"),
])
def test_bad_points_tables_fail_clearly(tmp_path, mutate, message):
    path = tmp_path / "bad.csv"
    mutate(points_table([(1, 1), (2, 2)])).to_csv(path, index=False)
    with pytest.raises(CropGlobeError, match=message) as err:
        read_points(path)
    assert str(path) in str(err.value)


def test_missing_or_empty_points_table(tmp_path):
    with pytest.raises(CropGlobeError, match="no such points table"):
        read_points(tmp_path / "absent.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("sample_id,lon,lat,country,year,label\n")
    with pytest.raises(CropGlobeError, match="has no rows"):
        read_points(empty)


def test_sampling_errors(tmp_path, granule):
    with pytest.raises(CropGlobeError, match="no granules given"):
        sample_points([], points_table([(1, 1)]))
    far = pd.DataFrame({"sample_id": ["x"], "lon": [100.0], "lat": [10.0], "country": ["FRA"], "year": [2023],
                        "label": ["corn"]})
    with pytest.raises(CropGlobeError, match="none of the 1 points has a valid pixel"):
        sample_points([granule], far)
    with pytest.raises(CropGlobeError, match="unknown class|label"):
        sample_points([granule], points_table([(3, 3)], labels=["banana-tree"]))


def test_granules_with_different_bands_fail_clearly(tmp_path, granule, monkeypatch):
    other = tmp_path / "other.nc"
    monkeypatch.setattr(data, "GOOD", data.GOOD & (data.WAVELENGTHS < 2400))
    data.write_granule(other, data.make_scene())
    with pytest.raises(CropGlobeError, match="differ from"):
        sample_points([granule, other], points_table([(3, 3)]))
