"""Training one study cell (mirrors src/cropglobe/experiment/fitting.py); SIMULATED data.

The tiny random-forest run of tests/experiment/conftest.py and its seed-0 cell as a CellJob.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cropglobe.cells.cell import Cell
from cropglobe.errors import CropGlobeError
from cropglobe.experiment import fitting
from cropglobe.study.spec import CellSpec


def test_train_cell_writes_a_cell_that_reloads_to_the_same_probabilities(rf_job, rf_run, tmp_path):
    fitted, info = fitting.train_cell(rf_job, tmp_path / "cell", resume=False, callbacks=[], progress=False)
    assert info == {}  # tabular models report no epochs
    assert (tmp_path / "cell" / "model").exists() and (tmp_path / "cell" / "recipe.json").is_file()
    x = rf_job.cache.features("harmonic")[rf_job.parts["val"]]
    proba = fitted.predict_proba(x)
    assert proba.shape == (len(x), len(rf_job.classes))
    np.testing.assert_array_equal(Cell.load(tmp_path / "cell").predict_proba(x), proba)
    # the same job (data, split, seed) as the run's cell: the same model
    np.testing.assert_array_equal(Cell.load(rf_run / "cells" / "FRA__harmonic__rf__none__s0").predict_proba(x), proba)


def test_cell_recipe_records_how_inputs_are_made(rf_job):
    recipe = fitting.cell_recipe(rf_job, {"n_estimators": 15})
    assert (recipe.model, recipe.feature, recipe.flatten) == ("rf", "harmonic", False)
    assert recipe.model_options == {"n_estimators": 15}
    assert list(recipe.classes) == rf_job.classes and list(recipe.bands) == rf_job.bands
    assert tuple(recipe.window_bins) == tuple(rf_job.window) and recipe.bin_days == rf_job.bin_days
    assert recipe.trained_on == ["FRA"]
    # composite: null in the spec -> the settings the data were composited with
    assert recipe.composite.interval == int(rf_job.prepared.full.attrs["interval"])
    assert json.loads(recipe.model_dump_json())["format_version"] == recipe.format_version


def test_augmenter_is_none_for_an_identity_augmentation():
    assert fitting.augmenter(CellSpec(feature="harmonic", model="rf")) is None
    paper = fitting.augmenter(CellSpec(feature="median2d", model="cropnet-lite", augmentation="paper"))
    assert paper is not None and not paper.is_identity
    with pytest.raises(CropGlobeError, match="augmentation"):
        fitting.augmenter(CellSpec(feature="median2d", model="cropnet-lite", augmentation="no-such-preset"))


def test_selftrain_cell_refuses_inputs_of_another_layout(rf_job, rf_run, tmp_path):
    cell = Cell.load(rf_run / "cells" / "FRA__harmonic__rf__none__s0")
    width = rf_job.training_data().shape[1]
    with pytest.raises(CropGlobeError, match=rf"selftrain: target inputs of shape \({width + 1},\)"):
        fitting.selftrain_cell(rf_job, cell, np.zeros((4, width + 1), np.float32), tmp_path / "work")


def test_selftrain_cell_adapts_a_tabular_cell_to_a_target(rf_job, rf_run, tmp_path):
    cell = Cell.load(rf_run / "cells" / "FRA__harmonic__rf__none__s0")
    bel = rf_job.prepared.indices("BEL")
    x_target = rf_job.training_data()[bel]
    adapted, proba, record = fitting.selftrain_cell(rf_job, cell, x_target, tmp_path / "work")
    assert proba.shape == (len(bel), len(rf_job.classes))
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(adapted.predict_proba(x_target), proba)
    assert adapted.recipe is cell.recipe and adapted.model is not cell.model
    assert record and not (tmp_path / "work").exists()  # the scratch folder is removed
