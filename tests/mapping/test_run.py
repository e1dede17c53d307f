"""``mapping/run.py``: the typed map surface ``make_map(cell, cube, out, MapOptions)`` and ``prepare``.

The options are checked before any cell or cube is read (a missing cell is not what the user hears
about first) and nothing is written; ``prepare`` reads the region, nodata rule and members from the
same :class:`MapOptions` object the CLI builds.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import MapOptions, StacQuery, make_map, prepare
from cropglobe.mapping.run import input_error
from cropglobe.training.settings import INFERENCE_CHOICES, Precision


def test_map_options_default_to_the_clis_defaults():
    opts = MapOptions()
    assert (opts.tile, opts.scheduler, opts.adapt, opts.precision, opts.members) == (256, None, "none", "32-true", ())
    assert opts.precision is Precision.FP32 and opts.precision in INFERENCE_CHOICES
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.tile = 64  # type: ignore[misc]


def test_make_map_takes_no_keyword_settings(tmp_path):
    with pytest.raises(TypeError):
        make_map(tmp_path / "cell", tmp_path / "cube.zarr", tmp_path / "m.tif", tile=64)  # type: ignore[call-arg]


@pytest.mark.parametrize(("options", "message"), [
    (MapOptions(precision="fp8"), "--precision fp8: expected one of auto, bf16-mixed, 32-true"),
    (MapOptions(precision=Precision.FP16_MIXED), "--precision 16-mixed"),  # a training precision only
    (MapOptions(adapt="tent"), "--adapt tent"),
    (MapOptions(adapt="selftrain"), "--adapt selftrain: self-training retrains the cells"),
    (MapOptions(tile=4), "tile"),
    (MapOptions(prior_pixels=0), "prior_pixels"),
    (MapOptions(scale=-1.0), "scale"),
])
def test_bad_options_fail_before_the_cell_or_the_cube_is_read(tmp_path, options, message):
    with pytest.raises(CropGlobeError, match=message):
        make_map(tmp_path / "no-cell", tmp_path / "no-cube.zarr", tmp_path / "out" / "m.tif", options)
    assert not (tmp_path / "out").exists()


def test_a_map_needs_one_input(tmp_path):
    with pytest.raises(CropGlobeError, match="either an input cube or a bbox .* got input=None, bbox=None"):
        make_map(tmp_path / "no-cell", None, tmp_path / "m.tif", MapOptions())  # type: ignore[arg-type]
    err = input_error("cube.zarr", "2,45,3,46", "2023-04-01", None)
    assert "input='cube.zarr', bbox='2,45,3,46', start='2023-04-01', end=None" in str(err)
    with pytest.raises(CropGlobeError, match="expected a GeoTIFF path"):
        make_map(tmp_path / "no-cell", StacQuery("2,45,3,46", "2023-04-01", "2023-12-31"), tmp_path / "m.png")


def test_prepare_reads_the_region_rule_and_members_from_the_options(cell, cube_store):
    recipe, cube, ctx = prepare(cell, cube_store)
    assert ctx.min_clear == recipe.composite.min_clear and ctx.precision == "32-true" and not recipe.members
    _, _, bel = prepare(cell, cube_store, MapOptions(country="bel", min_clear=5, members=(str(cell),)))
    assert bel.country == "BEL" and bel.min_clear == 5 and len(bel.recipe.members) == 1
    assert bel.year == ctx.year and np.array_equal(bel.times, ctx.times)
    with pytest.raises(CropGlobeError, match="min_clear"):
        prepare(cell, cube_store, MapOptions(min_clear=1.5))  # type: ignore[arg-type]
