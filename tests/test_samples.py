"""Tests for the SampleSet data model: building, validation errors, Zarr round trip, select/concat."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from cropglobe import samples
from cropglobe.errors import CropGlobeError

BANDS = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]


def _arrays(n: int = 4, t: int = 5, value: float = 0.2) -> dict:
    return dict(
        reflectance=np.full((n, len(BANDS), t), value, dtype=np.float32),
        bands=BANDS,
        time=np.datetime64("2023-05-01") + np.arange(t) * np.timedelta64(5, "D"),
        sample_id=[f"s{i}" for i in range(n)],
        label=["maize", "soya", "winter wheat", "other"][:n] + ["other"] * max(0, n - 4),
        country="FRA",
        year=2023,
        lon=np.linspace(1, 2, n),
        lat=np.linspace(44, 45, n),
    )


def test_build_canonicalises_bands_and_labels():
    ds = samples.build(samples.SampleArrays(**_arrays()))
    assert list(ds["band"].values) == ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]
    assert list(ds["label"].values) == ["corn", "soybean", "wheat", "other"]
    assert ds["reflectance"].dims == ("sample", "band", "time")
    assert ds["reflectance"].dtype == np.float32
    assert ds.attrs["time_kind"] == "observations"
    assert list(ds["doy"].values[:2]) == [121, 126]


def test_scaled_integers_need_a_declared_scale():
    kw = _arrays(value=1234.0)
    with pytest.raises(CropGlobeError, match=r"band B2 .*scaled integers.*scale=1e-4"):
        samples.build(samples.SampleArrays(**kw))


def test_declared_scale_and_nodata_are_applied():
    kw = _arrays(value=1234.0)
    kw["reflectance"][0, 0, 0] = 65535
    ds = samples.build(samples.SampleArrays(**kw), scale=1e-4, nodata=65535)
    assert np.isnan(ds["reflectance"].values[0, 0, 0])
    assert ds["reflectance"].values[1, 0, 0] == pytest.approx(0.1234)
    assert ds.attrs["scale"] == pytest.approx(1e-4)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda kw: kw.update(reflectance=kw["reflectance"][0]), "3 dims"),
        (lambda kw: kw.update(bands=BANDS[:-1] + ["B13"]), "unknown band name 'B13'"),
        (lambda kw: kw.update(sample_id=["a", "a", "b", "c"]), "duplicate sample_id.*'a'"),
        (lambda kw: kw.update(label=["corn", "banana", "corn", "corn"]), "unknown crop label 'banana'"),
        (lambda kw: kw.update(country="XYZ"), "unknown country code 'XYZ'"),
        (lambda kw: kw.update(time=kw["time"][::-1]), "not strictly increasing"),
        (lambda kw: kw.update(reflectance=kw["reflectance"][:0], sample_id=[], label=[], lon=[], lat=[]), "empty"),
        (lambda kw: kw.update(sample_id=["a", "b"]), "2 values for 4 samples"),
    ],
)
def test_bad_input_gives_one_clear_error(change, message):
    kw = _arrays()
    change(kw)
    with pytest.raises(CropGlobeError, match=message):
        samples.build(samples.SampleArrays(**kw))


def test_validate_rejects_wrong_dims_and_labels_outside_taxonomy():
    ds = samples.build(samples.SampleArrays(**_arrays()))
    with pytest.raises(CropGlobeError, match=r"dims \('sample', 'time', 'band'\)"):
        samples.validate(ds.transpose("sample", "time", "band"))
    bad = ds.assign_coords(label=("sample", ["corn", "maize", "corn", "corn"]))
    with pytest.raises(CropGlobeError, match=r"labels outside the taxonomy: 'maize' \(1\)"):
        samples.validate(bad)


def test_index_bands_accept_negative_values():
    kw = _arrays(value=-0.3)
    kw["bands"] = ["ndvi"]
    kw["reflectance"] = kw["reflectance"][:, :1]
    ds = samples.build(samples.SampleArrays(**kw))
    assert list(ds["band"].values) == ["NDVI"]


def test_zarr_round_trip(tmp_path, tiny_observations):
    path = samples.save(tiny_observations, tmp_path / "s.zarr")
    back = samples.load(path)
    xr.testing.assert_identical(back, tiny_observations)
    assert back.attrs["simulated"] is True


def test_failed_save_leaves_nothing(tmp_path, tiny_observations):
    bad = tiny_observations.copy()
    bad["reflectance"] = bad["reflectance"] * 10
    with pytest.raises(CropGlobeError):
        samples.save(bad, tmp_path / "bad.zarr")
    assert list(tmp_path.iterdir()) == []


def test_load_errors(tmp_path):
    with pytest.raises(CropGlobeError, match="no such SampleSet"):
        samples.load(tmp_path / "missing.zarr")
    (tmp_path / "junk.zarr").mkdir()
    with pytest.raises(CropGlobeError, match="cannot be read as a Zarr SampleSet"):
        samples.load(tmp_path / "junk.zarr")


def test_select_and_concat(tiny_observations):
    fra = samples.select(tiny_observations, country="fra", label=["maize", "wheat"])
    assert set(fra["country"].values) == {"FRA"} and set(fra["label"].values) == {"corn", "wheat"}
    arg = samples.select(tiny_observations, country=["ARG"], year=2023)
    both = samples.concat([fra, arg])
    assert both.sizes["sample"] == fra.sizes["sample"] + arg.sizes["sample"]
    assert both.attrs["simulated"] is True
    with pytest.raises(CropGlobeError, match="no samples match"):
        samples.select(tiny_observations, country="AUS", label="wheat")
    with pytest.raises(CropGlobeError, match="duplicate sample_id"):
        samples.concat([fra, fra])


def test_concat_outer_joins_observation_dates():
    a = samples.build(samples.SampleArrays(**_arrays()))
    kw = _arrays()
    kw["time"] = kw["time"] + np.timedelta64(1, "D")
    kw["sample_id"] = [f"t{i}" for i in range(4)]
    both = samples.concat([a, samples.build(samples.SampleArrays(**kw))])
    assert both.sizes["time"] == 10
    assert np.isnan(both["reflectance"].values[0, 0, 1])


def test_label_codes_follow_class_order():
    ds = samples.build(samples.SampleArrays(**_arrays()))
    assert list(samples.label_codes(ds)) == [0, 1, 3, 6]


def test_declared_scale_masks_values_outside_the_band_range_and_counts_them():
    kw = _arrays(value=1234.5)  # a median of digital numbers
    kw["reflectance"][0, 0, 0] = 17368  # reflectance 1.74: beyond L2A's usable range
    kw["reflectance"][1, 1, 1] = 14000  # 1.4: bright but kept
    ds = samples.build(samples.SampleArrays(**kw), scale=1e-4, attrs={"masked_out_of_range": 3})
    assert np.isnan(ds["reflectance"].values[0, 0, 0]) and ds["reflectance"].values[1, 1, 1] == pytest.approx(1.4)
    assert ds.attrs["masked_out_of_range"] == 4 and ds.attrs["masked_out_of_range_by_band"] == {"B2": 1}
    kw["reflectance"] /= 10000  # reflectance without a declared scale: 1.74 is still an error
    with pytest.raises(CropGlobeError, match=r"band B2 has values in \[0\.1235, 1\.737\], expected \[0\.0, 1\.5\]"):
        samples.build(samples.SampleArrays(**kw))


def test_covariates_follow_samples_through_select_concat_and_zarr(tmp_path):
    kw = _arrays()
    ds = samples.build(samples.SampleArrays(**kw, covariates={"clay": [10, 20, 30, 40], "elevation": np.arange(4.0)}))
    assert samples.covariate_names(ds) == ["cov_clay", "cov_elevation"] and ds["cov_clay"].dtype == np.float64
    sub = samples.select(ds, label="corn")
    assert list(sub["cov_clay"].values) == [10.0]
    other = samples.build(samples.SampleArrays(**{**kw, "sample_id": ["x", "y", "z", "w"]}))  # no covariates
    both = samples.concat([other, ds])
    assert list(both["cov_clay"].values[:5]) == pytest.approx([np.nan] * 4 + [10.0], nan_ok=True)
    back = samples.load(samples.save(both, tmp_path / "c.zarr"))
    assert samples.covariate_names(back) == ["cov_clay", "cov_elevation"]
    np.testing.assert_array_equal(back["cov_elevation"].values, both["cov_elevation"].values)
    with pytest.raises(CropGlobeError, match=r"covariate 'clay' has 3 values for 4 samples"):
        samples.build(samples.SampleArrays(**kw, covariates={"clay": [1, 2, 3]}))
    with pytest.raises(CropGlobeError, match=r"covariate 'cov_soil' has dims .* expected numbers along 'sample'"):
        samples.validate(ds.assign_coords(cov_soil=("sample", np.array(["a", "b", "c", "d"]))))


LEGEND = ["corn", "soybean", "cereal/wheat", "other"]


def test_a_set_with_its_own_legend_records_it_and_round_trips(tmp_path):
    kw = _arrays()
    kw["label"] = ["maize", "soya", "wheat", "Cereal/Wheat"]
    ds = samples.build(samples.SampleArrays(**kw), classes=LEGEND)
    assert list(ds["label"].values) == ["corn", "soybean", "cereal/wheat", "cereal/wheat"]
    assert ds.attrs["classes"] == LEGEND and samples.classes_of(ds) == tuple(LEGEND)
    assert list(samples.label_codes(ds)) == [0, 1, 2, 2]
    back = samples.load(samples.save(ds, tmp_path / "own.zarr"))
    assert samples.classes_of(back) == tuple(LEGEND) and list(back["label"].values) == list(ds["label"].values)
    assert "classes" not in samples.build(samples.SampleArrays(**_arrays())).attrs  # the default legend is not recorded
    with pytest.raises(CropGlobeError, match="unknown crop label 'rice'"):
        samples.build(samples.SampleArrays(**{**kw, "label": ["rice"] * 4}), classes=LEGEND)
    with pytest.raises(CropGlobeError, match="labels outside the legend: 'wheat'"):
        samples.validate(ds.assign_coords(label=("sample", ["wheat"] * 4)))


def test_sets_of_different_legends_do_not_concat_silently():
    own = samples.build(samples.SampleArrays(**_arrays()), classes=LEGEND)
    paper = samples.build(samples.SampleArrays(**{**_arrays(), "sample_id": [f"t{i}" for i in range(4)]}))
    with pytest.raises(CropGlobeError, match="concat: set 1 has classes"):
        samples.concat([own, paper])
    moved = samples.with_classes(paper, np.array(["corn", "soybean", "cereal/wheat", "other"]), LEGEND)
    assert samples.classes_of(samples.concat([own, moved])) == tuple(LEGEND)
    with pytest.raises(CropGlobeError, match="labels outside the legend"):
        samples.label_codes(paper, LEGEND)
