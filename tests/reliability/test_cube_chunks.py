"""Damaged map cubes (issue 29, Medium 8): a corrupt chunk is one error naming it (exit 2); a missing chunk
is mapped as nodata, and the map says so (a warning, the count in ``MapResult`` and the ``MISSING_CHUNKS`` tag).

Why a missing chunk is not refused: the Zarr format defines an absent chunk as the fill value, and
zarr-python 3 (xarray's writer) skips chunks that hold only it, so a valid cube can lack chunks over
an empty area. A deleted chunk looks the same; the user is told how many and which.

SIMULATED cube (``cropglobe.mapping.simulated_cube``) written by ``write_cube`` (128 x 128 px chunks, one band each).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests.reliability.cells import tiny_cell
from typer.testing import CliRunner

from cropglobe.cli import app
from cropglobe.errors import CropGlobeError


@pytest.fixture(scope="module")
def cube_and_cell(tmp_path_factory):
    from cropglobe.mapping import simulated_cube, write_cube

    tmp = tmp_path_factory.mktemp("cube")
    store = write_cube(simulated_cube("FRA", (1, 18), 8, seed=1)[0], tmp / "cube.zarr")  # 8 x 144 px: 2 chunk columns
    return store, tiny_cell(tmp / "cell")


def _copy(store, tmp_path):
    import shutil

    return shutil.copytree(store, tmp_path / "cube.zarr")


def _damage(chunk):
    data = chunk.read_bytes()
    chunk.write_bytes(data[:16] + bytes(len(data) - 16))  # a valid Blosc header, garbage after it


def test_a_corrupt_chunk_outside_the_first_window_is_one_error_naming_it(cube_and_cell, tmp_path):
    store, cell = cube_and_cell
    cube = _copy(store, tmp_path)
    _damage(cube / "reflectance" / "0.2.0.1")  # second chunk column: read by a tile, not by open_cube's probe
    result = CliRunner().invoke(app, ["map", str(cell), str(cube), "--out", str(tmp_path / "m.tif"), "--quiet",
                                      "--scheduler", "synchronous", "--tile", "64"])
    assert isinstance(result.exception, CropGlobeError), (result.exception, result.output)
    assert "reflectance: chunk 0.2.0.1 is corrupt" in str(result.exception)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.zarr"]  # nothing partial


def test_a_corrupt_chunk_exits_2_without_a_traceback(cube_and_cell, tmp_path):
    store, cell = cube_and_cell
    cube = _copy(store, tmp_path)
    _damage(cube / "reflectance" / "0.3.0.0")
    proc = subprocess.run([sys.executable, "-c", "from cropglobe.cli import main; main()", "map", str(cell), str(cube),
                           "--out", str(tmp_path / "m.tif"), "--quiet"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "chunk 0.3.0.0 is corrupt" in proc.stderr and "Traceback" not in proc.stderr


def test_a_missing_chunk_is_mapped_as_nodata_and_reported(cube_and_cell, tmp_path):
    import rasterio

    store, cell = cube_and_cell
    cube = _copy(store, tmp_path)
    (cube / "reflectance" / "0.2.0.1").unlink()
    result = CliRunner().invoke(app, ["map", str(cell), str(cube), "--out", str(tmp_path / "m.tif"), "--quiet",
                                      "--scheduler", "synchronous", "--tile", "64"])
    assert result.exit_code == 0, (result.exception, result.output)
    assert "1 of 20 chunks of 'reflectance' are missing" in result.output and "0.2.0.1" in result.output
    with rasterio.open(tmp_path / "m.tif") as src:
        tag = json.loads(src.tags()["MISSING_CHUNKS"])
        classes = src.read(1)
    assert tag == {"reflectance": {"missing": 1, "of": 20, "first": ["0.2.0.1"]}}
    assert (classes[:, 128:] == 255).all()  # the chunk's pixels are nodata


def test_an_intact_cube_has_no_missing_chunk_tag(cube_and_cell, tmp_path):
    from cropglobe.mapping import MapOptions, make_map

    store, cell = cube_and_cell
    result = make_map(cell, store, tmp_path / "m.tif", MapOptions(scheduler="synchronous", tile=64))
    assert result.missing_chunks is None
    import rasterio

    with rasterio.open(tmp_path / "m.tif") as src:
        assert "MISSING_CHUNKS" not in src.tags()
