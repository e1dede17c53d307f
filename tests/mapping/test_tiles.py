"""``mapping/tiles.py``: the tile grid, one tile in row strips (the Dask task) and the synchronous scheduler."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import NODATA_CLASS, MapOptions, prepare
from cropglobe.mapping.tiles import TileJob, dask_client, map_tiles, run_tile, task_threads, tile_grid


def test_the_grid_covers_every_pixel_once_with_smaller_edge_tiles():
    windows = tile_grid((70, 45), 32)
    count = np.zeros((70, 45), dtype=int)
    for rows, cols in windows:
        count[rows, cols] += 1
    assert (count == 1).all() and len(windows) == 3 * 2
    assert windows[-1] == (slice(64, 70), slice(32, 45))
    with pytest.raises(CropGlobeError, match="tile=15: expected a tile size of at least 16"):
        tile_grid((70, 45), 15)


@pytest.mark.parametrize(("tiles", "workers", "want"), [
    (16, [2], 1),  # tasks side by side, one core each
    (1, [2], 2),  # one tile: every thread of the worker
    (2, [4], 2),
    (3, [4], 1),
    (16, [1, 1], 1),  # worker processes
    (16, [1], None),  # one single-threaded worker: the model's default (every core)
])
def test_each_task_predicts_on_its_share_of_the_threads(tiles, workers, want):
    assert task_threads(tiles, workers) == want


def test_strips_of_a_tile_give_the_tile_and_its_probabilities(cell, cube_store):
    _, cube, ctx = prepare(cell, cube_store, MapOptions(country="FRA"))
    h, w = cube.shape
    rows, cols = slice(0, h), slice(0, w)
    probe = dataclasses.replace(ctx, collect_proba=True)
    whole = run_tile(TileJob.of(cube, probe, block_pixels=h * w), rows, cols)
    strips = run_tile(TileJob.of(cube, probe, block_pixels=w), rows, cols)  # one row per strip
    np.testing.assert_array_equal(whole.classes, strips.classes)
    np.testing.assert_array_equal(whole.confidence, strips.confidence)
    np.testing.assert_array_equal(whole.proba, strips.proba)
    valid = whole.classes != NODATA_CLASS
    assert valid.any() and (~valid).any()  # the cloudy corner is nodata
    assert np.isnan(whole.confidence[~valid]).all()
    assert whole.proba.shape == (int(valid.sum()), len(ctx.recipe.classes))
    np.testing.assert_array_equal(whole.proba.argmax(1), whole.classes[valid])  # row-major order of the valid pixels
    np.testing.assert_allclose(whole.proba.max(1), whole.confidence[valid])
    plain = run_tile(TileJob(cube.source, ctx, cube.transform, cube.crs), rows, cols)
    assert plain.proba is None and plain.series is None


def test_synchronous_tiles_run_in_this_process_in_grid_order(cell, cube_store):
    _, cube, ctx = prepare(cell, cube_store, MapOptions(country="FRA"))
    windows = tile_grid(cube.shape, 16)
    with dask_client("synchronous") as client:
        assert client is None
        results = list(map_tiles(client, TileJob.of(cube, ctx), windows))
    assert [(r.rows, r.cols) for r in results] == windows
