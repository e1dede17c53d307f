"""Bit flips inside a chunk (issue 29, Low): the stores cropglobe writes carry a CRC32C per chunk, so a flipped
bit is one error naming the chunk file (exit 2, nothing written) instead of wrong values loaded silently.

The flip is placed where the chunk's Blosc stream still decodes, to other values (:func:`flip_silently`): the
case that went unnoticed before checksums. Stores without checksums (older cropglobe stores, other
producers) still read. SIMULATED samples and cubes (``cropglobe.sources.simulate``, ``simulated_cube``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.reliability.cells import tiny_cell

from cropglobe import samples
from cropglobe.errors import CropGlobeError
from cropglobe.zarrcheck import CORRUPT

CLI = [sys.executable, "-c", "from cropglobe.cli import main; main()"]


def flip_silently(chunk: Path) -> int:
    """Flip one bit of ``chunk`` (a Blosc chunk file) where the stream still decodes, to other bytes.

    Returns:
        The offset of the flipped byte.
    """
    from numcodecs import Blosc

    raw = chunk.read_bytes()
    before = bytes(Blosc().decode(raw))
    for pos in range(len(raw) // 2, len(raw)):  # past the 16-byte header, inside the compressed data
        flipped = bytearray(raw)
        flipped[pos] ^= 0x04
        try:
            after = bytes(Blosc().decode(bytes(flipped)))
        except Exception:  # this flip breaks the stream (a decode error names the chunk anyway)
            continue
        if after != before:
            chunk.write_bytes(bytes(flipped))
            return pos
    raise AssertionError(f"{chunk}: no byte whose flip still decodes")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, check=False)


def _one_clear_line(proc: subprocess.CompletedProcess, array: Path, key: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert f"{array}: chunk file {key}: checksum mismatch (" in lines[0] and lines[0].endswith(CORRUPT), lines[0]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A SampleSet store (several chunks per array), a map cube and a cell, all written by cropglobe's writers."""
    from cropglobe.mapping import simulated_cube, write_cube
    from cropglobe.sources import simulate

    tmp = tmp_path_factory.mktemp("checksums")
    ds = simulate.simulate(["FRA"], samples_per_class=4, seed=3)
    mp = pytest.MonkeyPatch()
    mp.setattr(samples, "CHUNK_BYTES", 100_000)  # several chunks per array
    store = samples.save(ds, tmp / "obs.zarr")
    mp.undo()
    cube = write_cube(simulated_cube("FRA", (1, 18), 8, seed=1)[0], tmp / "cube.zarr")
    return {"store": store, "cube": cube, "cell": tiny_cell(tmp / "cell"), "ds": ds}


def _copy(src: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(src, tmp_path / src.name))


def _checksums(store: Path) -> dict[str, list]:
    return {p.parent.name: json.loads(p.read_text())["filters"] for p in sorted(store.glob("*/.zarray"))}


def test_every_array_cropglobe_writes_carries_a_checksum(made, tmp_path):
    from cropglobe.features import stream

    stream.stream(made["store"], tmp_path / "f.zarr", ["median1d"], block=10)
    for store in (made["store"], made["cube"], tmp_path / "f.zarr"):
        found = _checksums(store)
        assert found and all(f == [{"id": "crc32c", "location": "end"}] for f in found.values()), (store, found)


def test_map_on_a_flipped_cube_chunk_exits_2_with_one_line(made, tmp_path):
    cube = _copy(made["cube"], tmp_path)
    flip_silently(cube / "reflectance" / "0.2.0.1")
    proc = _run("map", str(made["cell"]), str(cube), "--out", str(tmp_path / "m.tif"), "--quiet")
    _one_clear_line(proc, cube / "reflectance", "0.2.0.1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.zarr"]  # nothing partial


def test_map_names_the_flipped_chunk_in_process(made, tmp_path):
    from typer.testing import CliRunner

    from cropglobe.cli import app

    cube = _copy(made["cube"], tmp_path)
    flip_silently(cube / "reflectance" / "0.3.0.0")
    result = CliRunner().invoke(app, ["map", str(made["cell"]), str(cube), "--out", str(tmp_path / "m.tif"),
                                      "--quiet", "--scheduler", "synchronous", "--tile", "64"])
    assert isinstance(result.exception, CropGlobeError), (result.exception, result.output)
    assert "reflectance: chunk file 0.3.0.0: checksum mismatch (" in str(result.exception)
    assert str(result.exception).endswith(CORRUPT)


@pytest.mark.parametrize("command", ["predict", "features"])
def test_commands_reading_a_flipped_sampleset_exit_2_with_one_line(made, tmp_path, command):
    store = _copy(made["store"], tmp_path)
    chunks = sorted(p.name for p in (store / "reflectance").iterdir() if not p.name.startswith("."))
    key = chunks[-1]  # the last block: read after earlier blocks were composited
    flip_silently(store / "reflectance" / key)
    if command == "predict":
        args = ["predict", str(made["cell"]), str(store), "--out", str(tmp_path / "p.parquet"), "--block", "5"]
    else:
        args = ["features", str(store), "--out", str(tmp_path / "f.zarr"), "--family", "median1d", "--block", "5"]
    proc = _run(*args, "--quiet")
    _one_clear_line(proc, store / "reflectance", key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["obs.zarr"]  # nothing partial


def test_load_names_a_flipped_coordinate_chunk(made, tmp_path):
    store = _copy(made["store"], tmp_path)
    flip_silently(store / "lat" / "0")
    with pytest.raises(CropGlobeError, match=r"lat: chunk file 0: checksum mismatch \(stored and computed crc32c"):
        samples.load(store)


def test_a_flipped_store_written_without_checksums_loads_silently(made, tmp_path):
    """Why checksums: the same flip in a store without them gives other values and no error."""
    old = tmp_path / "old.zarr"
    made["ds"].to_zarr(old, zarr_format=2, consolidated=True, write_empty_chunks=True)  # cropglobe's writes before
    assert all(not f for f in _checksums(old).values())
    intact = samples.load(old)
    flip_silently(old / "reflectance" / "0.0.0")
    damaged = samples.load(old)
    assert not np.array_equal(intact["reflectance"].values, damaged["reflectance"].values, equal_nan=True)


def test_stores_without_checksums_still_read_and_map(made, tmp_path):
    from cropglobe.features.stream import iter_blocks, open_lazy
    from cropglobe.mapping import MapOptions, make_map, simulated_cube
    from cropglobe.mapping.store import as_digital_numbers

    old = tmp_path / "old.zarr"
    made["ds"].to_zarr(old, zarr_format=2, consolidated=True, write_empty_chunks=True)
    loaded = samples.load(old)
    np.testing.assert_array_equal(loaded["reflectance"].values, made["ds"]["reflectance"].values)
    assert sum(b.sizes["sample"] for b in iter_blocks(open_lazy(old), 5)) == made["ds"].sizes["sample"]
    plain = tmp_path / "plain.zarr"
    as_digital_numbers(simulated_cube("FRA", (1, 18), 8, seed=1)[0]).to_zarr(plain, zarr_format=2, consolidated=True)
    make_map(made["cell"], plain, tmp_path / "old.tif", MapOptions(scheduler="synchronous", tile=64))
    make_map(made["cell"], made["cube"], tmp_path / "new.tif", MapOptions(scheduler="synchronous", tile=64))
    import rasterio

    with rasterio.open(tmp_path / "old.tif") as a, rasterio.open(tmp_path / "new.tif") as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))
