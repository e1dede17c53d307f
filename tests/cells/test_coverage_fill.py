"""``coverage: fill`` from training to ``predict`` and ``map`` (issue 27); SIMULATED data.

A cell trained with ``coverage: fill`` records it in its recipe; ``cropglobe predict`` and ``cropglobe map``
then keep the samples / accept the cube whose observations stop short of the window's end (within
``fill_days``) and give the probabilities of the study's own evaluation, bit for bit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

from cropglobe import experiment, samples, taxonomy
from cropglobe.cells.cell import Cell
from cropglobe.cells.run_folder import RunFolder
from cropglobe.errors import CropGlobeError
from cropglobe.sources import simulate

SIM = {"countries": ["FRA", "BEL"], "samples_per_class": 6, "seed": 5}
#: BEL's observations stop here: 20 days short of the default window's end (30 November)
STOP = np.datetime64("2023-11-10")
CELL = "FRA__median1d__rf__none__s0"
PROBS = [f"prob_{c}" for c in taxonomy.CLASSES]


def _spec(root, coverage: str) -> experiment.ExperimentSpec:
    return experiment.parse_spec({
        "name": "fill", "data": {"path": [str(root / "fra.zarr"), str(root / "bel.zarr")]},
        "composite": {"coverage": coverage, "fill_days": 30},
        "sources": ["FRA"], "targets": ["BEL"], "in_region_fraction": 0,
        "cells": [{"feature": "median1d", "model": "rf"}], "seeds": [0],
        "model_options": {"rf": {"n_estimators": 10}},
        "adaptation": {"methods": ["none"], "ensemble": True},
    })


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A run trained on FRA and scored on a BEL whose observations end on :data:`STOP`."""
    root = tmp_path_factory.mktemp("fill")
    obs = simulate.simulate(**SIM)
    bel = samples.select(obs, country="BEL")
    bel = bel.isel(time=np.flatnonzero(bel["time"].values <= STOP))
    samples.save(samples.select(obs, country="FRA"), root / "fra.zarr")
    samples.save(bel, root / "bel.zarr")
    run_dir = root / "run"
    experiment.run(_spec(root, "fill"), run_dir, progress=False)
    return root, run_dir, bel


def test_drop_loses_the_target_and_fill_keeps_it(study):
    from cropglobe.experiment.data import prepare_study

    root, _, bel = study
    with pytest.raises(CropGlobeError, match=r"outside the data.s dates for every sample \(BEL"):
        prepare_study(_spec(root, "drop"))
    prepared = prepare_study(_spec(root, "fill"))
    assert prepared.full.attrs["edge_filled"] == {"BEL": bel.sizes["sample"]}
    assert "window edges filled (coverage fill, at most 30 days): BEL" in prepared.description


def test_the_recipe_records_fill_and_predict_and_map_match_the_study(study, tmp_path):
    import rioxarray  # noqa: F401 - registers the .rio accessor
    from pyproj import Transformer

    from cropglobe.experiment.data import prepare_study
    from cropglobe.mapping import write_cube
    from cropglobe.mapping.predict_table import predict_samples
    from cropglobe.mapping.run import MapOptions, prepare
    from cropglobe.mapping.simcube import PIXEL_M, utm_crs
    from cropglobe.mapping.tiles import TileJob, run_tile

    root, run_dir, bel = study
    cell_dir = run_dir / "cells" / CELL
    cell = Cell.load(cell_dir)
    assert (cell.recipe.composite.coverage, cell.recipe.composite.fill_days) == ("fill", 30)
    study_proba = np.load(RunFolder.target_proba_path(cell_dir))["BEL|none"]
    prepared = prepare_study(_spec(root, "fill"))
    ids = prepared.full["sample_id"].values[prepared.indices("BEL")].astype(str)
    assert study_proba.shape == (bel.sizes["sample"], len(taxonomy.CLASSES))

    table = predict_samples(cell_dir, bel, where="BEL").table.set_index("sample_id").loc[ids]
    assert (table["status"] == "predicted").all()
    np.testing.assert_array_equal(table[PROBS].to_numpy().astype(np.float32), study_proba)

    order = {s: i for i, s in enumerate(bel["sample_id"].values.astype(str))}
    target = bel.isel(sample=[order[s] for s in ids])
    n = target.sizes["sample"]
    h = next(d for d in (4, 3, 2, 1) if n % d == 0)
    w = n // h
    lon, lat = float(target["lon"].values.mean()), float(target["lat"].values.mean())
    crs = utm_crs(lon, lat)
    x0, y0 = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    cube = xr.Dataset(
        {"reflectance": (("time", "band", "y", "x"),
                         target["reflectance"].values.transpose(2, 1, 0).reshape(-1, target.sizes["band"], h, w)),
         "clear": (("time", "y", "x"), target["clear"].values.T.reshape(-1, h, w))},
        coords={"time": target["time"].values, "band": target["band"].values.astype(str),
                "y": y0 - (np.arange(h) + 0.5) * PIXEL_M, "x": x0 + (np.arange(w) + 0.5) * PIXEL_M},
        attrs={"simulated": 1, "country": "BEL", "description": "SIMULATED cube of the target samples"})
    store = write_cube(cube.rio.write_crs(crs).rio.write_transform(), tmp_path / "cube.zarr", dn=False)
    # the cube stops 20 days short: accepted
    _, source, ctx = prepare(cell_dir, store, MapOptions(country="BEL", year=2023))
    tile = run_tile(TileJob.of(source, dataclasses.replace(ctx, collect_proba=True)), slice(0, h), slice(0, w))
    np.testing.assert_array_equal(tile.proba, study_proba)


def test_a_drop_recipe_refuses_the_short_cube_and_fill_names_its_limit(study):
    from cropglobe.mapping import locate

    _, run_dir, bel = study
    recipe = Cell.load(run_dir / "cells" / CELL).recipe
    times = bel["time"].values
    assert locate.season_year(times, recipe, "BEL", 50.0) == 2023
    drop = recipe.model_copy(update={"composite": recipe.composite.model_copy(update={"coverage": "drop"})})
    with pytest.raises(CropGlobeError, match="expected observations over the whole window$"):
        locate.season_year(times, drop, "BEL", 50.0)
    short = recipe.model_copy(update={"composite": recipe.composite.model_copy(update={"fill_days": 10})})
    with pytest.raises(CropGlobeError, match="within 10 days of its edges"):
        locate.season_year(times, short, "BEL", 50.0)
