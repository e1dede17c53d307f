"""Corrupt inputs: truncated or deleted Zarr chunks, GeoTIFF folders, non-numeric table cells -> one clear error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cropglobe import samples
from cropglobe.errors import CropGlobeError


@pytest.fixture()
def store(tmp_path, tiny_observations, monkeypatch):
    monkeypatch.setattr(samples, "CHUNK_BYTES", 200_000)  # several chunks per array
    path = samples.save(tiny_observations, tmp_path / "obs.zarr")
    chunks = sorted(p for p in (path / "reflectance").iterdir() if not p.name.startswith("."))
    assert len(chunks) > 2
    return path, chunks


def test_intact_store_loads(store):
    path, _ = store
    assert samples.load(path).sizes["sample"] > 0


def test_truncated_chunk_is_an_error_not_a_crash(store):
    path, chunks = store
    data = chunks[1].read_bytes()
    chunks[1].write_bytes(data[: len(data) // 3])
    with pytest.raises(CropGlobeError, match=r"reflectance: chunk 1\.0\.0 is truncated or corrupt"):
        samples.load(path)
    proc = subprocess.run([sys.executable, "-c", "from cropglobe.cli import main; main()", "info", str(path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr  # not 139 (segfault in the decompressor)
    assert "truncated or corrupt" in proc.stderr and "Traceback" not in proc.stderr


def test_chunk_shorter_than_its_header(store):
    path, chunks = store
    chunks[0].write_bytes(b"\x02\x01")
    with pytest.raises(CropGlobeError, match="shorter than its header"):
        samples.load(path)


def test_deleted_chunk_is_an_error_not_silent_nan(store):
    path, chunks = store
    chunks[-1].unlink()
    with pytest.raises(CropGlobeError, match=rf"reflectance: chunk {chunks[-1].name} is missing"):
        samples.load(path)


def test_all_missing_chunks_are_still_written(tmp_path, tiny_observations, monkeypatch):
    import numpy as np

    monkeypatch.setattr(samples, "CHUNK_BYTES", 200_000)
    ds = tiny_observations.copy(deep=True)
    ds["clear"][:] = np.nan  # an all-fill chunk must be on disk, or it would read as deleted
    path = samples.save(ds, tmp_path / "nan.zarr")
    assert samples.load(path)["clear"].isnull().all()


def test_non_numeric_table_cell_names_column_and_row(tmp_path):
    import pandas as pd
    from tests.sources.readers.test_table import CONFIGS, _gee_table

    from cropglobe.sources.readers import read_table

    df = _gee_table().astype({"B4": object})
    df.loc[5, "B4"] = "12,5"
    df.loc[2, "B8"] = None  # an empty cell stays missing
    df.to_csv(tmp_path / "gee.csv", index=False)
    with pytest.raises(CropGlobeError, match=r"gee.csv: column 'B4', data row 6: '12,5' is not a number"):
        read_table(tmp_path / "gee.csv", CONFIGS / "gee_export_example.yaml")
    df.loc[5, "B4"] = "NaN"
    df.to_csv(tmp_path / "gee.csv", index=False)
    ds = read_table(tmp_path / "gee.csv", CONFIGS / "gee_export_example.yaml")
    assert int(pd.isna(ds["reflectance"].values).sum()) == 2


BANDS = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]


def _tif(path, crs="EPSG:32631", x0=500_000.0, size=8):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=len(BANDS), dtype="float32",
                       crs=crs, transform=from_origin(x0, 5_000_000.0, 10, 10)) as dst:
        dst.write(np.full((len(BANDS), size, size), 0.1, dtype=np.float32))
        for i, b in enumerate(BANDS, start=1):
            dst.set_band_description(i, b)
    return path


@pytest.fixture()
def tif_folder(tmp_path):
    folder = tmp_path / "tifs"
    folder.mkdir()
    _tif(folder / "S2_2023-06-01.tif")
    return folder


def test_geotiff_folder_with_good_files_opens(tif_folder):
    from cropglobe.mapping import open_cube

    _tif(tif_folder / "S2_2023-06-11.tif")
    assert open_cube(tif_folder).times.size == 2


@pytest.mark.parametrize("make, message", [
    (lambda f: _tif(f, crs="EPSG:32632"), r"S2_2023-06-11.tif: CRS EPSG:32632 differs from EPSG:32631"),
    (lambda f: _tif(f, x0=500_005.0), r"S2_2023-06-11.tif: grid 8x8 px .* differs"),
    (lambda f: _tif(f, size=9), r"S2_2023-06-11.tif: grid 9x9 px"),
    (lambda f: f.write_bytes(_tif(f).read_bytes()[:300]), r"S2_2023-06-11.tif: cannot be read as a GeoTIFF"),
])
def test_geotiff_folder_mismatches_are_one_error(tif_folder, make, message):
    from cropglobe.mapping import open_cube

    make(tif_folder / "S2_2023-06-11.tif")
    with pytest.raises(CropGlobeError, match=message):
        open_cube(tif_folder)


@pytest.mark.parametrize("content, message", [(None, "it is empty"), ("notes.txt", "it holds notes.txt")])
def test_folder_without_a_cube_is_named(tmp_path, content, message):
    from cropglobe.mapping import open_cube

    folder = tmp_path / "empty"
    folder.mkdir()
    if content:
        (folder / content).write_text("x")
    with pytest.raises(
        CropGlobeError, match=f"not a cube: {message}; expected a Zarr store or a folder of per-date GeoTIFFs"
    ):
        open_cube(folder)
