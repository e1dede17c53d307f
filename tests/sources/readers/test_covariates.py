"""Covariate tables next to an Earth Engine export: joined by id as cov_* coords, or refused by name as an input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from tests.sources.readers import data

from cropglobe import samples
from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import load_mapping, read_table

from .test_table_ee import MAPPING


def test_covariates_joined_by_id_and_kept_through_save_and_load(tmp_path):
    files = data.ee_windows(tmp_path / "in", n=5)
    cov = pd.read_csv(tmp_path / "in" / "covariates_static_arkansas.csv")
    ds = read_table(files, MAPPING)
    names = ["aspect", "clay", "elevation", "org_carbon", "ph", "sand", "slope"]
    assert sorted(samples.covariate_names(ds)) == [f"cov_{n}" for n in names]
    assert ds["cov_elevation"].dims == ("sample",)
    np.testing.assert_allclose(ds["cov_slope"].values[:4], cov["slope"].values)
    assert np.isnan(ds["cov_clay"].values[4])  # the covariate table lacks pixel 4
    rec = ds.attrs["covariates"][0]
    assert rec["id"] == "pixel_id" and rec["samples_without_row"] == 1 and rec["rows_without_sample"] == 0
    assert rec["path"] == str(tmp_path / "in" / "covariates_static_arkansas.csv")
    back = samples.load(samples.save(ds, tmp_path / "a.zarr"))
    np.testing.assert_array_equal(back["cov_clay"].values, ds["cov_clay"].values)


def test_default_columns_are_numbers_not_in_the_inputs(tmp_path):
    files = data.ee_windows(tmp_path / "in", n=5)
    m = load_mapping(MAPPING).model_copy(deep=True)
    m.covariates[0].columns = None
    ds = read_table(files, m)
    # label, latitude and longitude repeat input columns; system:index and .geo are text
    assert sorted(samples.covariate_names(ds)) == ["cov_aspect", "cov_clay", "cov_elevation", "cov_org_carbon",
                                                   "cov_ph", "cov_sand", "cov_slope"]


def test_covariate_path_absolute_or_relative_to_the_first_input(tmp_path):
    files = data.ee_windows(tmp_path / "in", n=3)
    moved = tmp_path / "elsewhere" / "soil.csv"
    moved.parent.mkdir()
    (tmp_path / "in" / "covariates_static_arkansas.csv").rename(moved)
    m = load_mapping(MAPPING).model_copy(deep=True)
    with pytest.raises(CropGlobeError, match=r"covariates_static_arkansas\.csv: no such file"):
        read_table(files, m)
    m.covariates[0].path = str(moved)
    assert np.isfinite(read_table(files, m)["cov_ph"].values[:2]).all()


def test_covariate_table_among_the_inputs_is_refused_by_name(tmp_path):
    files = data.ee_windows(tmp_path, n=3)
    cov = tmp_path / "covariates_static_arkansas.csv"
    with pytest.raises(CropGlobeError) as err:
        read_table([*files, cov], MAPPING)
    msg = str(err.value)
    assert msg.startswith(f"{cov}: looks like a per-sample covariate table (it has the id column 'pixel_id' but none")
    assert "the mapping already lists it under covariates:" in msg and files[0].name not in msg
    plain = yaml.safe_load(MAPPING.read_text())
    del plain["covariates"]
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(plain))
    with pytest.raises(CropGlobeError, match=r"looks like a per-sample covariate table .*; list it under covariates: "
                                             r"in the mapping"):
        read_table([cov, *files], tmp_path / "m.yaml")


def test_bad_covariate_tables_name_the_file_and_row(tmp_path):
    files = data.ee_windows(tmp_path, n=4)
    path = tmp_path / "covariates_static_arkansas.csv"
    cov = pd.read_csv(path)
    pd.concat([cov, cov.iloc[[1]]]).to_csv(path, index=False)
    with pytest.raises(CropGlobeError, match=rf"^{path}: column 'pixel_id', data row 4: id 1 repeats data row 2"):
        read_table(files, MAPPING)
    bad = cov.astype({"clay": object})
    bad.loc[2, "clay"] = "sandy"
    bad.to_csv(path, index=False)
    with pytest.raises(CropGlobeError, match=rf"^{path}: column 'clay', data row 3: 'sandy' is not a number"):
        read_table(files, MAPPING)
    cov.drop(columns=["ph"]).to_csv(path, index=False)
    with pytest.raises(CropGlobeError, match=rf"^{path}: missing column\(s\) 'ph' \(covariate columns\)"):
        read_table(files, MAPPING)
