"""Direct chunk-file windows of Zarr v2 arrays equal xarray's reads (mirrors src/cropglobe/mapping/zarrwindow.py)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from cropglobe.mapping.cube import CubeSource
from cropglobe.mapping.zarrwindow import read_window


def _cube(tmp_path, dtype, chunks, **encoding):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 9000, size=(7, 3, 37, 29)).astype(dtype)
    ds = xr.Dataset({"reflectance": (("time", "band", "y", "x"), data)})
    path = tmp_path / f"c_{np.dtype(dtype).name}.zarr"
    ds.to_zarr(path, zarr_format=2, encoding={"reflectance": {"chunks": chunks, **encoding}})
    return path, xr.open_zarr(path, chunks=None, mask_and_scale=False)


WINDOWS = [{}, {"y": slice(3, 30), "x": slice(10, 29)}, {"time": slice(2, 5), "band": slice(1, 3), "y": slice(36, 37)},
           {"x": slice(5, 5)}]


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize(("dtype", "chunks"), [(np.uint16, (7, 1, 16, 16)), (np.float32, (3, 2, 10, 7))])
def test_windows_equal_xarray(tmp_path, window, dtype, chunks):
    path, ds = _cube(tmp_path, dtype, chunks)
    var = ds["reflectance"].variable
    got = read_window(path, "reflectance", window, var.dims, var.dtype)
    want = var.isel(**window).values
    assert got is not None and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    # another dimension order (a transposed variable)
    tv = var.transpose("band", "y", "x", "time")
    np.testing.assert_array_equal(read_window(path, "reflectance", window, tv.dims, tv.dtype), tv.isel(**window).values)


def test_a_missing_chunk_reads_as_the_fill_value(tmp_path):
    path, _ = _cube(tmp_path, np.uint16, (7, 1, 16, 16), _FillValue=65535)
    (path / "reflectance" / "0.1.2.0").unlink()  # band 1, rows 32-36, cols 0-15
    ds = xr.open_zarr(path, chunks=None, mask_and_scale=False)
    var = ds["reflectance"].variable
    got = read_window(path, "reflectance", {"y": slice(30, 37)}, var.dims, var.dtype)
    np.testing.assert_array_equal(got, var.isel(y=slice(30, 37)).values)
    assert (got[:, 1, 2:, :16] == 65535).all()


def test_unhandled_arrays_return_none(tmp_path):
    from numcodecs import Delta

    path, ds = _cube(tmp_path, np.uint16, (7, 1, 16, 16), filters=[Delta(dtype="u2")])
    var = ds["reflectance"].variable
    assert read_window(path, "reflectance", {}, var.dims, var.dtype) is None  # filters: xarray decodes them
    assert read_window(path, "reflectance", {}, var.dims, np.dtype("float32")) is None  # xarray's dtype differs
    assert read_window(path, "reflectance", {"y": slice(0, 9, 2)}, var.dims, var.dtype) is None  # strided
    assert read_window(path, "nope", {}, var.dims, var.dtype) is None
    assert read_window(path, "reflectance", {}, ("time", "band", "y"), var.dtype) is None


def test_cube_reads_use_it_and_equal_xarray(cube_store):
    src = CubeSource("dataset", str(cube_store))
    ds = src.open()
    bands = [str(b) for b in ds["band"].values]
    pick = [bands[0], bands[1], bands[5]]  # two runs of adjacent bands
    refl, clear, _ = src.read_raw(slice(3, 20), slice(0, 11), pick, slice(4, 40))
    want = ds["reflectance"].variable.isel(y=slice(3, 20), x=slice(0, 11), time=slice(4, 40),
                                           band=[0, 1, 5]).values
    np.testing.assert_array_equal(refl, want)
    np.testing.assert_array_equal(clear, ds["clear"].variable.isel(y=slice(3, 20), x=slice(0, 11),
                                                                   time=slice(4, 40)).values)
    var = ds["reflectance"].variable
    assert read_window(cube_store, "reflectance", {"y": slice(0, 2)}, var.dims, var.dtype) is not None
