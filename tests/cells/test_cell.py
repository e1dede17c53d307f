"""One trained cell, three paths (mirrors src/cropglobe/cells/cell.py); SIMULATED data.

The same cell must give bit-identical probabilities through the study's own evaluation (the
``target_proba.npz`` a tiny transfer run writes), ``cropglobe predict`` on the target's samples and
``cropglobe map`` on a cube whose pixels are those samples: all three build the inputs and run the
model through :class:`cropglobe.cells.cell.Cell`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import rasterio
from tests.samplecube import samples_cube

from cropglobe import experiment, samples, taxonomy
from cropglobe.cells.cell import Cell, trains_on_series
from cropglobe.cells.run_folder import RunFolder
from cropglobe.errors import CropGlobeError
from cropglobe.sources import simulate

SIM = {"countries": ["FRA", "BEL"], "samples_per_class": 8, "seed": 4}
SPEC = {
    "name": "tiny-cell",
    "data": {"simulate": SIM},
    "sources": ["FRA"],
    "targets": ["BEL"],
    "cells": [{"feature": "median2d", "model": "cropnet-lite"}, {"feature": "median1d", "model": "rf"}],
    "seeds": [0],
    "train": {"epochs": 2, "batch_size": 16, "lr": 0.003},
    "model_options": {"rf": {"n_estimators": 20}},
    "adaptation": {"methods": ["none"], "ensemble": True},
}
CELLS = ["FRA__median2d__cropnet-lite__none__s0", "FRA__median1d__rf__none__s0"]
PROBS = [f"prob_{c}" for c in taxonomy.CLASSES]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "r"
    experiment.run(experiment.parse_spec(SPEC), run_dir, progress=False)
    return run_dir


@pytest.fixture(scope="module")
def target():
    """The target's observation-level samples, in the order the study holds them."""
    from cropglobe.experiment.data import prepare_study

    prepared = prepare_study(experiment.parse_spec(SPEC))
    ids = prepared.full["sample_id"].values[prepared.indices("BEL")].astype(str)
    bel = samples.select(simulate.simulate(**SIM), country="BEL")
    order = {s: i for i, s in enumerate(bel["sample_id"].values.astype(str))}
    return bel.isel(sample=[order[s] for s in ids])


@pytest.fixture(scope="module")
def cube_store(target, tmp_path_factory):
    """A SIMULATED cube whose pixels are the target's samples (row-major, in the study's order)."""
    return samples_cube(target, tmp_path_factory.mktemp("cube") / "cube.zarr")


@pytest.mark.parametrize("name", CELLS)
def test_study_predict_and_map_give_bit_identical_probabilities(run_dir, target, cube_store, name, tmp_path):
    from cropglobe.mapping import MapOptions, make_map
    from cropglobe.mapping.predict_table import predict_samples
    from cropglobe.mapping.run import prepare
    from cropglobe.mapping.tiles import TileJob, run_tile

    cell_dir = run_dir / "cells" / name
    study = np.load(RunFolder.target_proba_path(cell_dir))["BEL|none"]
    n = target.sizes["sample"]
    assert study.shape == (n, len(taxonomy.CLASSES)) and study.dtype == np.float32

    predicted = predict_samples(cell_dir, target, where="BEL")
    table = predicted.table.set_index("sample_id").loc[target["sample_id"].values.astype(str)]
    assert (table["status"] == "predicted").all()
    np.testing.assert_array_equal(table[PROBS].to_numpy().astype(np.float32), study)

    store, (h, w) = cube_store
    year = int(target["year"].values[0])
    _, cube, ctx = prepare(cell_dir, store, MapOptions(country="BEL", year=year))
    tile = run_tile(TileJob.of(cube, dataclasses.replace(ctx, collect_proba=True)), slice(0, h), slice(0, w))
    np.testing.assert_array_equal(tile.proba, study)  # every pixel is mappable: the study's order, row-major

    out = make_map(cell_dir, store, tmp_path / "map.tif",
                   MapOptions(country="BEL", year=year, scheduler="synchronous"))
    with rasterio.open(out.paths["classes"]) as src:
        classes = src.read(1).ravel()
    with rasterio.open(out.paths["confidence"]) as src:
        confidence = src.read(1).ravel()
    np.testing.assert_array_equal(classes, study.argmax(1))
    np.testing.assert_array_equal(confidence, study.max(1))


def test_a_cell_builds_the_inputs_its_layout_says(run_dir, target):
    torch_cell, rf_cell = (Cell.load(run_dir / "cells" / name) for name in CELLS)
    assert torch_cell.trains_on_series and not rf_cell.trains_on_series
    assert trains_on_series("cropnet-lite", "median2d") and not trains_on_series("rf", "median1d")
    start, count = torch_cell.window
    series = np.random.default_rng(0).random((3, 10, 73), dtype=np.float32)
    np.testing.assert_array_equal(torch_cell.series_inputs(series), series[..., start:start + count])
    np.testing.assert_array_equal(rf_cell.series_inputs(series), series[..., start:start + count].reshape(3, -1))
    assert rf_cell.training_inputs(series[:, 0]) is not None  # tabular rows are already its inputs
    moved = torch_cell.series_inputs(series, 10.0, 10.0)
    np.testing.assert_allclose(moved, series[..., start + 2:start + 2 + count], rtol=1e-6)


def test_a_cell_refuses_what_it_cannot_do(tmp_path, run_dir):
    from cropglobe.recipe import CompositeSettings, RecipeSpec

    recipe = RecipeSpec(model="rf", feature="harmonic", bands=["B4", "B8"], classes=list(taxonomy.CLASSES),
                        composite=CompositeSettings(), window_bins=(24, 43), bin_days=5.0)
    with pytest.raises(CropGlobeError, match="needs its model"):
        Cell(recipe)
    harmonic = Cell(recipe, model=object())
    assert not harmonic.feature.windowed and harmonic.net is None
    with pytest.raises(CropGlobeError, match="not a season window"):
        harmonic.window_inputs(np.zeros((2, 2, 43), dtype=np.float32))
    with pytest.raises(CropGlobeError, match="align moves the season window"):
        harmonic.search_alignment(np.zeros((2, 2, 73), dtype=np.float32))


def test_save_and_load_round_trip(run_dir, target, tmp_path):
    cell = Cell.load(run_dir / "cells" / CELLS[0])
    copy = Cell.load(cell.save(tmp_path / "copy"))
    x = cell.series_inputs(np.random.default_rng(1).random((4, 10, 73), dtype=np.float32))
    np.testing.assert_array_equal(copy.predict_proba(x), cell.predict_proba(x))
    assert copy.recipe.spec == cell.recipe.spec
