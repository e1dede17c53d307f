"""Tests for cropglobe.sources.emit.granule: layout checks, GLT orthorectification and point sampling."""

from __future__ import annotations

import netCDF4
import numpy as np
import pyproj
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.sources.emit import open_granule, orthorectify, sample_granule
from cropglobe.sources.emit.granule import band_names

from . import data


def test_open_reads_metadata_and_flags(granule):
    g = open_granule(granule)
    assert g.shape == (data.DOWN, data.CROSS, data.WAVELENGTHS.size)
    assert g.time == np.datetime64("2023-07-15T10:31:05", "ns")
    assert (g.good == data.GOOD).all() and (~g.good).sum() >= 3
    assert g.band_names == band_names(data.WAVELENGTHS[data.GOOD])
    assert g.band_names[0] == "R0381.0" and all(n.startswith("R") for n in g.band_names)
    assert band_names(np.array([550.31, 2493.04])) == ["R0550.3", "R2493.0"]


def test_the_swath_is_not_the_ortho_grid(scene):
    """Guard for the round-trip test: reading raw[row, col] without the GLT gives other spectra."""
    row, col = 5, 3
    down, cross = scene.raw_of(row, col)
    assert (down, cross) != (row, col)
    assert not np.allclose(scene.reflectance[row, col, data.GOOD], scene.reflectance[down, cross, data.GOOD])


@pytest.mark.parametrize("row,col", [(5, 3), (8, 7), (2, 0), (0, 6), (8, 1)])
def test_round_trip_known_spectrum_at_known_coordinates(granule, scene, row, col):
    lon, lat = data.cell_center(row, col)
    got = sample_granule(open_granule(granule), np.array([lon]), np.array([lat]))[0]
    down, cross = scene.raw_of(row, col)
    expected = data.spectrum(down, cross)[data.GOOD]
    np.testing.assert_array_equal(got, expected)
    # independent check through the location group: the raw pixel whose lat/lon is nearest the point
    with netCDF4.Dataset(granule) as nc:
        lat_raw, lon_raw = nc["location/lat"][:], nc["location/lon"][:]
    nearest = np.unravel_index(np.argmin((lat_raw - lat) ** 2 + (lon_raw - lon) ** 2), lat_raw.shape)
    if col < data.DOWN:  # the last ortho column duplicates downtrack line DOWN-1
        assert tuple(int(i) for i in nearest) == (down, cross)


def test_points_off_centre_in_the_same_cell_give_the_same_spectrum(granule):
    g = open_granule(granule)
    lon, lat = data.cell_center(4, 5)
    offsets = np.array([-0.45, -0.2, 0.0, 0.3, 0.49]) * data.DX
    values = sample_granule(g, lon + offsets, lat + offsets)
    for v in values[1:]:
        np.testing.assert_array_equal(v, values[0])


def test_orthorectify_matches_the_glt_lookup(granule, scene):
    ortho = orthorectify(open_granule(granule))
    assert ortho.shape == (data.NY, data.NX, int(data.GOOD.sum()))
    for row in range(data.NY):
        for col in range(data.NX):
            raw = scene.raw_of(row, col)
            if raw is None:
                assert np.isnan(ortho.values[row, col]).all()
                continue
            expected = scene.reflectance[raw[0], raw[1], data.GOOD].astype(np.float32)
            expected[expected == data.FILL] = np.nan
            np.testing.assert_array_equal(ortho.values[row, col], expected)
    lon, lat = data.cell_center(3, 2)
    assert ortho["lon"].values[2] == pytest.approx(lon) and ortho["lat"].values[3] == pytest.approx(lat)
    # sampling equals the orthorectified grid everywhere
    rows, cols = np.meshgrid(np.arange(data.NY), np.arange(data.NX), indexing="ij")
    centres = [data.cell_center(r, c) for r, c in zip(rows.ravel(), cols.ravel(), strict=True)]
    sampled = sample_granule(
        open_granule(granule), np.array([c[0] for c in centres]), np.array([c[1] for c in centres])
    )
    np.testing.assert_array_equal(sampled.reshape(ortho.shape), ortho.values)


def test_bad_bands_fill_and_empty_cells_never_come_out(granule, scene):
    g = open_granule(granule)
    ortho = orthorectify(g).values
    assert np.nanmax(ortho) <= 1.5 and np.nanmin(ortho) >= 0  # no POISON (bad bands), no -9999
    assert ortho.shape[2] == data.GOOD.sum()
    # raw pixel (0, 0) is all fill -> its ortho cell is NaN; raw (3, 4) band 2 is fill -> NaN there only
    fill_cell = (data.NY - 1, 0)
    assert scene.raw_of(*fill_cell) == (0, 0)
    assert np.isnan(ortho[fill_cell]).all()
    cell = (data.NY - 1 - 4, 3)
    assert scene.raw_of(*cell) == (3, 4)
    good_pos = int(np.flatnonzero(np.flatnonzero(data.GOOD) == 2)[0])
    assert np.isnan(ortho[cell][good_pos]) and np.isfinite(np.delete(ortho[cell], good_pos)).all()
    # empty GLT corner and points off the grid
    lon, lat = data.cell_center(0, 0)
    out = sample_granule(g, np.array([lon, lon - 1.0, lon]), np.array([lat, lat, lat + 0.5]))
    assert np.isnan(out).all()


def test_negative_reflectance_becomes_nan(tmp_path):
    scene = data.make_scene(fill_pixels=(), fill_bands=())
    scene.reflectance[2, 2, 0] = -0.02
    g = open_granule(data.write_granule(tmp_path / "neg.nc", scene))
    row, col = data.NY - 1 - 2, 2
    lon, lat = data.cell_center(row, col)
    v = sample_granule(g, np.array([lon]), np.array([lat]))[0]
    assert np.isnan(v[0]) and np.isfinite(v[1:]).all()


@pytest.mark.parametrize("omit,message", [
    ("location", "no group 'location'"),
    ("reflectance", "no root variable 'reflectance'"),
    ("good_wavelengths", "sensor_band_parameters/good_wavelengths"),
    ("geotransform", "geotransform"),
])
def test_not_emit_layout_fails_clearly(tmp_path, scene, omit, message):
    path = data.write_granule(tmp_path / f"no_{omit}.nc", scene, omit=(omit,))
    with pytest.raises(CropGlobeError, match="not an EMIT L2A reflectance granule") as err:
        open_granule(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_non_netcdf_and_missing_files_fail_clearly(tmp_path):
    text = tmp_path / "notes.nc"
    text.write_text("not a netcdf file")
    with pytest.raises(CropGlobeError, match="cannot be opened as NetCDF"):
        open_granule(text)
    with pytest.raises(CropGlobeError, match="no such EMIT granule"):
        open_granule(tmp_path / "absent.nc")


def test_inconsistent_geometry_fails_clearly(tmp_path, scene):
    scene.glt_x[4, 4] = data.CROSS + 3
    with pytest.raises(CropGlobeError, match="GLT indices outside"):
        open_granule(data.write_granule(tmp_path / "glt.nc", scene))


def test_projected_grid_and_bad_time_fail_clearly(tmp_path, scene):
    path = data.write_granule(tmp_path / "utm.nc", scene)
    with netCDF4.Dataset(path, "a") as nc:
        nc.setncattr("spatial_ref", pyproj.CRS.from_epsg(32631).to_wkt())
    with pytest.raises(CropGlobeError, match="expected geographic WGS 84"):
        open_granule(path)
    path = data.write_granule(tmp_path / "time.nc", scene, time="mid-July")
    with pytest.raises(CropGlobeError, match="time_coverage_start"):
        open_granule(path)
