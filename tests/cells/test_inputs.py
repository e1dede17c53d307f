"""A SampleSet turned into a cell's inputs as training did (mirrors src/cropglobe/cells/inputs.py); SIMULATED data."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe import samples, taxonomy
from cropglobe.cells.cell import Cell, load_recipe
from cropglobe.cells.inputs import composite_like_training, load_samples, model_inputs
from cropglobe.errors import CropGlobeError
from cropglobe.features import families as features
from cropglobe.sources import simulate
from cropglobe.temporal import composite, season
from cropglobe.temporal.settings import CompositeSettings


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    from tests.mapping.conftest import train_cell

    return load_recipe(train_cell(tmp_path_factory.mktemp("cell") / "FRA__harmonic__lightgbm__none__s0"))


@pytest.fixture(scope="module")
def obs():
    return simulate.simulate(["BEL"], samples_per_class=3, seed=5)


def test_unlabelled_samples_get_a_placeholder_label(obs, tmp_path):
    _, labelled = load_samples(samples.save(obs, tmp_path / "labelled.zarr"))
    assert labelled.all()
    for name, bare in (("none", obs.drop_vars("label")),
                       ("empty", obs.assign_coords(label=("sample", np.full(obs.sizes["sample"], ""))))):
        samples.write_zarr(bare, tmp_path / f"{name}.zarr")
        ds, labelled = load_samples(tmp_path / f"{name}.zarr")
        assert not labelled.any() and set(ds["label"].values.astype(str)) == {taxonomy.OTHER}, name
    with pytest.raises(CropGlobeError, match="no such SampleSet"):
        load_samples(tmp_path / "missing.zarr")


def test_the_composite_and_inputs_are_the_trainings(recipe, obs):
    full = composite_like_training(obs, recipe, where="BEL")
    reference = composite.composite(obs.sel(band=recipe.bands), recipe.composite)
    np.testing.assert_array_equal(full["reflectance"].values, reference["reflectance"].values)
    x, keep = model_inputs(full, recipe)
    np.testing.assert_array_equal(x, features.harmonic(season.season(reference)))
    assert keep.tolist() == list(range(full.sizes["sample"]))
    again = composite_like_training(full, recipe, where="composited")  # an aligned composite is used as it is
    np.testing.assert_array_equal(again["reflectance"].values, full["reflectance"].values)
    y, _ = Cell(recipe).inputs(full)
    np.testing.assert_array_equal(y, x)


def test_a_band_without_any_clear_value_drops_the_sample(recipe, obs):
    full = composite_like_training(obs, recipe, where="BEL")
    values = full["reflectance"].values.copy()
    values[1, 0, :] = np.nan
    x, keep = model_inputs(full.assign(reflectance=(full["reflectance"].dims, values)), recipe)
    assert 1 not in keep.tolist() and len(x) == full.sizes["sample"] - 1


def test_bad_inputs_are_clear_errors(recipe, obs):
    with pytest.raises(CropGlobeError, match="missing"):
        composite_like_training(obs.sel(band=[b for b in obs["band"].values if b != "B8"]), recipe, where="BEL")
    coarse = composite.composite(obs, CompositeSettings(interval=10))
    with pytest.raises(CropGlobeError, match="aligned 5-day calendar"):
        composite_like_training(coarse, recipe, where="coarse")
    short = composite_like_training(obs, recipe, where="BEL").isel(time=slice(0, 30))
    with pytest.raises(CropGlobeError, match="outside the 30 composite bins"):
        model_inputs(short, recipe)
