"""A cell trained with per-country alignment offsets maps and predicts with them (issue 16); SIMULATED data.

Before the typed recipe, ``CompositeSpec.offsets`` was never recorded: a map of such a cell used
plain hemisphere alignment, silently different from training.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import rasterio

from cropglobe import experiment, samples
from cropglobe.mapping import NODATA_CLASS, MapOptions, load_recipe, make_map, simulated_cube, write_cube
from cropglobe.mapping.predict import predict_proba, recipe_features
from cropglobe.mapping.predict_table import predict_samples
from cropglobe.recipe import RECIPE_VERSION, CompositeSettings
from cropglobe.sources import simulate
from cropglobe.temporal import composite, season

OFFSETS = {"FRA": 24, "BEL": 24}
SIM = {"countries": ["FRA", "BEL"], "samples_per_class": 8, "seed": 4}
SPEC = {
    "name": "offsets",
    "data": {"simulate": SIM},
    "composite": {"offsets": OFFSETS, "min_clear": 2},
    "sources": ["FRA"],
    "targets": ["BEL"],
    "cells": [{"feature": "harmonic", "model": "rf"}],
    "model_options": {"rf": {"n_estimators": 20}},
}
CELL = "FRA__harmonic__rf__none__s0"


@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    """The trained cell, copied out of its run folder (no config.yaml to fall back on)."""
    root = tmp_path_factory.mktemp("offsets")
    experiment.run(experiment.parse_spec(SPEC), root / "run", progress=False)
    return shutil.copytree(root / "run" / "cells" / CELL, root / "cell")


def _pixel_samples(cube, lon: np.ndarray, lat: np.ndarray):
    """The cube's pixels as an observation-level SampleSet (row-major pixel order)."""
    t, b, h, w = cube["reflectance"].shape
    return samples.build(samples.SampleArrays(cube["reflectance"].values.reshape(t, b, h * w).transpose(2, 1, 0),
                         bands=list(cube["band"].values.astype(str)), time=cube["time"].values,
                         sample_id=[f"px{i}" for i in range(h * w)], label=["other"] * (h * w), country="BEL",
                         year=2023, lon=lon, lat=lat, clear=cube["clear"].values.reshape(t, h * w).T))


def test_the_recipe_records_every_compositing_setting(cell):
    recipe = load_recipe(cell)
    assert recipe.format_version == RECIPE_VERSION
    assert recipe.composite == experiment.parse_spec(SPEC).composite
    assert recipe.composite.offsets == OFFSETS and recipe.composite.min_clear == 2
    assert recipe.composite.scl_keep == composite.SCL_KEEP


def test_the_map_uses_the_training_offsets(cell, tmp_path):
    from cropglobe.mapping import locate

    cube, _ = simulated_cube("BEL", (2, 2), 8, seed=5)
    store = write_cube(cube, tmp_path / "bel.zarr", dn=False)  # float reflectance: exactly the training values
    h, w = cube.sizes["y"], cube.sizes["x"]
    lon, lat = locate.lonlat(cube.rio.transform(), cube.rio.crs, slice(0, h), slice(0, w))
    pixels = _pixel_samples(cube, lon, lat)
    recipe = load_recipe(cell)
    training = experiment.parse_spec(SPEC).composite  # the settings the study composited with
    full = composite.composite(pixels, training)
    x = recipe_features(season.season(full), recipe)
    plain = composite.composite(pixels, CompositeSettings(min_clear=2))
    assert np.abs(recipe_features(season.season(plain), recipe) - x).max() > 1e-3, "offsets change nothing here"
    expected = np.full(h * w, NODATA_CLASS, dtype=np.uint8)
    kept = np.array([int(s[2:]) for s in full["sample_id"].values.astype(str)])
    expected[kept] = predict_proba(recipe.load_model(), recipe, x).argmax(1)
    result = make_map(cell, store, tmp_path / "map.tif", MapOptions(scheduler="synchronous", country="BEL"))
    with rasterio.open(result.paths["classes"]) as src:
        got = src.read(1).ravel()
        assert src.tags()["MIN_CLEAR"] == "2"
    np.testing.assert_array_equal(got, expected)


def test_predict_uses_the_training_offsets(cell):
    from cropglobe.experiment.data import prepare_study
    from cropglobe.experiment.runner import FeatureCache

    spec = experiment.parse_spec(SPEC)
    prepared = prepare_study(spec)
    idx = np.flatnonzero(prepared.countries == "BEL")
    recipe = load_recipe(cell)
    x = FeatureCache(prepared, spec.feature_options).features("harmonic")[idx]
    expected = predict_proba(recipe.load_model(), recipe, x)
    bel = samples.select(simulate.simulate(**SIM), country="BEL")
    res = predict_samples(cell, bel)
    probs = [f"prob_{c}" for c in recipe.classes]
    got = res.table.set_index("sample_id").loc[prepared.full["sample_id"].values[idx].astype(str), probs]
    np.testing.assert_allclose(got.to_numpy(), expected, atol=1e-6)
