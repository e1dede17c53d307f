"""Cube storage and decoding: digital numbers with CF attributes, raw reads, --scale/--nodata checks."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
import zarr

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import open_cube, write_cube
from cropglobe.mapping.cube import Decoding


def test_write_cube_stores_digital_numbers_per_band_chunk(sim_cube, tmp_path):
    cube = sim_cube[0].copy(deep=True)
    cube["reflectance"][3, 2, 5, 6] = np.nan
    cube["clear"][4, 1, 1] = np.nan
    store = write_cube(cube, tmp_path / "dn.zarr")
    z = zarr.open_group(str(store), mode="r")
    assert z["reflectance"].dtype == np.uint16 and z["clear"].dtype == np.uint8
    assert z["reflectance"].chunks == (cube.sizes["time"], 1, 32, 32)  # whole series, one band, <= 128 px
    back = xr.open_zarr(store)  # plain xarray decodes the CF attributes
    np.testing.assert_allclose(back["reflectance"].values, cube["reflectance"].values, atol=5.001e-5, equal_nan=True)
    np.testing.assert_allclose(back["clear"].values, cube["clear"].values, atol=0.005 + 1e-6, equal_nan=True)
    assert np.isnan(back["reflectance"].values[3, 2, 5, 6]) and np.isnan(back["clear"].values[4, 1, 1])


def test_raw_reads_and_decoding(sim_cube, cube_store):
    cube = open_cube(cube_store)
    dec = cube.source.decoding
    assert dec == Decoding(scale=1e-4, offset=0.0, nodata=65535.0, clear_scale=0.01, clear_fill=255.0)
    bands = ["B8", "B2", "B3", "B12"]  # out of order and not adjacent: several contiguous reads
    raw, clear, scl = cube.source.read_raw(slice(3, 20), slice(5, 9), bands, slice(10, 40))
    assert raw.dtype == np.uint16 and raw.shape == (30, 4, 17, 4) and clear.dtype == np.uint8 and scl is None
    refl, cl, _ = cube.source.read(slice(3, 20), slice(5, 9), bands, slice(10, 40))
    np.testing.assert_array_equal(refl, dec.reflectance(raw))
    want = sim_cube[0]["reflectance"].sel(band=bands).values[10:40, :, 3:20, 5:9]
    np.testing.assert_allclose(refl, want, atol=5.001e-5)
    assert cube.source.chunk_rows == 32


def test_float_cube_reads_as_stored(sim_cube, tmp_path):
    store = write_cube(sim_cube[0], tmp_path / "float.zarr", dn=False)
    cube = open_cube(store)
    dec = cube.source.decoding
    assert (dec.scale, dec.offset, dec.clear_scale) == (1.0, 0.0, 1.0) and np.isnan(dec.nodata)
    raw, _, _ = cube.source.read_raw(slice(0, 4), slice(0, 4), ["B2"])
    assert raw.dtype == np.float32
    np.testing.assert_array_equal(raw, sim_cube[0]["reflectance"].sel(band=["B2"]).values[:, :, :4, :4])


def test_scale_flags_must_agree_with_the_cube(cube_store):
    assert open_cube(cube_store, scale=1e-4, nodata=65535).source.decoding.scale == 1e-4
    with pytest.raises(CropGlobeError, match=r"declares scale_factor 0.0001 but scale=0.001"):
        open_cube(cube_store, scale=1e-3)
    with pytest.raises(CropGlobeError, match=r"declares _FillValue 65535 but nodata=0"):
        open_cube(cube_store, nodata=0)


def test_raw_integers_without_a_scale_are_refused(sim_cube, tmp_path):
    ds = sim_cube[0].copy()
    ds["reflectance"] = (ds["reflectance"].fillna(0) * 10000).round().astype(np.uint16)
    store = write_cube(ds, tmp_path / "dn_no_attrs.zarr")
    with pytest.raises(CropGlobeError, match="look like scaled integers; declare the scale"):
        open_cube(store)
    assert open_cube(store, scale=1e-4).source.decoding.scale == 1e-4


def test_write_cube_streams_a_dask_backed_cube(tmp_path):
    """A lazily loaded cube (a STAC fetch) is written chunk by chunk, re-chunked to the store's chunks."""
    from cropglobe.mapping import simulated_cube

    cube, _ = simulated_cube("BEL", (3, 3), 56, seed=5)  # 168 x 168 px: two 128-px chunks per side
    lazy = cube.chunk({"time": -1, "band": -1, "y": 64, "x": 64})
    store = write_cube(lazy, tmp_path / "lazy.zarr")
    opened = open_cube(store)
    assert opened.source.chunk_rows == 128 and opened.shape == (168, 168)
    refl, _, _ = opened.source.read(slice(100, 168), slice(0, 168), ["B4"])
    want = cube["reflectance"].sel(band=["B4"]).values[:, :, 100:168]
    np.testing.assert_allclose(refl, want, atol=5.001e-5, equal_nan=True)
