"""Mapping Presto cells (frozen ``presto`` and fine-tuned ``presto-ft``) with each pixel's lat/lon.

Map blocks carry the pixel centres from the cube's CRS and transform (and their alignment shift),
so the Presto location token and calendar months of a mapped pixel are those of the same pixel
imported as a SampleSet.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import rasterio

from cropglobe import experiment, samples
from cropglobe.mapping import (
    NODATA_CLASS,
    MapOptions,
    load_recipe,
    locate,
    make_map,
    prepare,
    simulated_cube,
    write_cube,
)
from cropglobe.mapping.predict import block_inputs, predict_proba, recipe_features
from cropglobe.temporal import composite, season

CELLS = {"presto": "FRA__presto__rf__none__s0", "presto-ft": "FRA__presto-input__presto-ft__none__s0"}


@pytest.fixture(scope="module")
def run(shared_models: Path, tmp_path_factory) -> Path:
    weights = shared_models / "presto" / "default_model.pt"
    if not weights.is_file():
        pytest.skip(f"{weights} is absent")
    root = tmp_path_factory.mktemp("presto-map")
    spec = experiment.parse_spec({
        "name": "presto-map", "data": {"simulate": {"countries": ["FRA", "BEL"], "samples_per_class": 5, "seed": 2}},
        "sources": ["FRA"], "targets": ["BEL"], "seeds": [0],
        "cells": [{"feature": "presto", "model": "rf"}, {"feature": "presto-input", "model": "presto-ft"}],
        "train": {"epochs": 1, "batch_size": 16, "precision": "32-true"},
        "model_options": {"rf": {"n_estimators": 10}, "presto-ft": {"weights": str(weights)}},
        "feature_options": {"presto": {"weights": str(weights), "cache": False}},
    })
    experiment.run(spec, root / "run", progress=False)
    return root / "run" / "cells"


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    ds, _ = simulated_cube("BEL", (2, 2), 6, seed=5)
    return ds, write_cube(ds, tmp_path_factory.mktemp("cube") / "bel.zarr", dn=False)  # float: training values


def _pixel_samples(ds, lon: np.ndarray, lat: np.ndarray):
    t, b, h, w = ds["reflectance"].shape
    return samples.build(samples.SampleArrays(ds["reflectance"].values.reshape(t, b, h * w).transpose(2, 1, 0),
                         bands=list(ds["band"].values.astype(str)), time=ds["time"].values,
                         sample_id=[f"px{i}" for i in range(h * w)], label=["other"] * (h * w), country="BEL",
                         year=2023, lon=lon, lat=lat, clear=ds["clear"].values.reshape(t, h * w).T))


@pytest.mark.parametrize("family", list(CELLS))
def test_map_features_equal_sampleset_features_with_latlon(run, cube, family, tmp_path):
    ds, store = cube
    cell = run / CELLS[family]
    recipe = load_recipe(cell)
    assert recipe.feature_options.get("latlon", True) is True, "the cell uses the location token"
    h, w = ds.sizes["y"], ds.sizes["x"]
    lon, lat = locate.lonlat(ds.rio.transform(), ds.rio.crs, slice(0, h), slice(0, w))
    assert 2 < lon.mean() < 7 and 49 < lat.mean() < 52, "pixel centres in Belgium"
    full = composite.composite(_pixel_samples(ds, lon, lat), recipe.composite)
    x_train = recipe_features(season.season(full), recipe)
    kept = np.array([int(s[2:]) for s in full["sample_id"].values.astype(str)])

    _, opened, ctx = prepare(cell, store, MapOptions(country="BEL"))
    refl, clear, scl = opened.source.read_raw(slice(0, h), slice(0, w), ctx.read_bands)
    t = refl.shape[0]
    x_map, keep = block_inputs(refl.reshape(t, refl.shape[1], -1), clear.reshape(t, -1), scl, lat, ctx, lon)
    assert keep.tolist() == kept.tolist()
    np.testing.assert_allclose(x_map, x_train, atol=1e-5)
    no_latlon = recipe.model_copy(update={"feature_options": {**recipe.feature_options, "latlon": False}})
    without, _ = block_inputs(refl.reshape(t, refl.shape[1], -1), clear.reshape(t, -1), scl, lat,
                              dataclasses.replace(ctx, recipe=no_latlon), lon)
    assert np.abs(without - x_map).max() > 1e-3, "the location changes the features"

    expected = np.full(h * w, NODATA_CLASS, dtype=np.uint8)
    expected[kept] = predict_proba(recipe.load_model(), recipe, x_train).argmax(1)
    result = make_map(cell, store, tmp_path / "map.tif", MapOptions(scheduler="synchronous", country="BEL"))
    with rasterio.open(result.paths["classes"]) as src:
        np.testing.assert_array_equal(src.read(1).ravel(), expected)
