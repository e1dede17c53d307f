"""GeoTIFF folders of digital numbers (issue 29, Medium 9): per-band scales / offsets are honoured, ``--scale``
applies to files that declare none (GDAL's default 1), and a conflict is one clear error.

Fixtures: uint16 GeoTIFFs written with rasterio as Sentinel-2 L2A exports lay them out (one file per
date, one band per spectral band named by its description, DN = reflectance x 10 000, nodata 0),
with scales declared as GDAL band scale / offset (rasterio ``scales`` / ``offsets``), as band
metadata (``scale_factor``), or not at all. Values are made up (reflectance 0.05-0.35), not SIMULATED crops.
"""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import open_cube

BANDS = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]
SIZE = 8


def _reflectance(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.05, 0.35, (len(BANDS), SIZE, SIZE)).astype(np.float32)


def _tif(path, dn: np.ndarray, scales=None, offsets=None, band_tags=None, nodata=0, names=tuple(BANDS)):
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", width=SIZE, height=SIZE, count=len(dn), dtype="uint16",
                       crs="EPSG:32631", transform=from_origin(500_000.0, 5_000_000.0, 10, 10), nodata=nodata) as dst:
        dst.write(dn)
        for i, b in enumerate(names, start=1):
            dst.set_band_description(i, b)
        if scales is not None:
            dst.scales = scales
        if offsets is not None:
            dst.offsets = offsets
        for i, tags in (band_tags or {}).items():
            dst.update_tags(i, **tags)
    return path


def _folder(tmp_path, make, dates=("2023-06-01", "2023-06-11")):
    folder = tmp_path / "tifs"
    folder.mkdir()
    for k, d in enumerate(dates):
        make(folder / f"S2_{d}.tif", k)
    return folder


def _decoded(cube) -> np.ndarray:
    return cube.source.read(slice(0, SIZE), slice(0, SIZE), cube.bands)[0]


def test_plain_digital_numbers_need_the_scale_and_take_it(tmp_path):
    truth = [_reflectance(k) for k in range(2)]
    folder = _folder(tmp_path, lambda p, k: _tif(p, np.round(truth[k] * 10_000).astype(np.uint16)))
    with pytest.raises(CropGlobeError, match="declare the scale"):
        open_cube(folder)
    cube = open_cube(folder, scale=1e-4, nodata=0)  # was: "declares scale_factor 1 but scale=0.0001 was given"
    np.testing.assert_allclose(_decoded(cube), np.stack(truth), atol=1e-4)


def test_declared_scale_and_offset_are_honoured(tmp_path):
    truth = _reflectance()
    dn = np.round((truth + 0.1) * 10_000).astype(np.uint16)  # processing baseline 04.00: offset -1000 DN
    folder = _folder(tmp_path, lambda p, k: _tif(p, dn, scales=[1e-4] * 10, offsets=[-0.1] * 10))
    cube = open_cube(folder)
    np.testing.assert_allclose(_decoded(cube)[0], truth, atol=1e-4)
    open_cube(folder, scale=1e-4)  # the same value: accepted
    with pytest.raises(CropGlobeError, match=r"declares scale_factor 0.0001 but scale=0.001 was given"):
        open_cube(folder, scale=1e-3)


def test_per_band_scales_that_differ_are_decoded_band_by_band(tmp_path):
    truth = _reflectance()
    scales = [1e-4] * 8 + [2e-4, 2e-4]  # e.g. SWIR stored at half the resolution of DN
    dn = np.round(truth / np.asarray(scales, dtype=np.float32)[:, None, None]).astype(np.uint16)
    dn[0, 0, 0] = 0  # nodata
    folder = _folder(tmp_path, lambda p, k: _tif(p, dn, scales=scales))
    cube = open_cube(folder)
    got = _decoded(cube)[0]
    assert np.isnan(got[0, 0, 0])
    got[0, 0, 0] = truth[0, 0, 0]
    np.testing.assert_allclose(got, truth, atol=2e-4)
    b = cube.source.read(slice(2, 5), slice(1, 4), ["B12", "B2"])[0][0]  # a window, bands out of order
    np.testing.assert_allclose(b, truth[[9, 0]][:, 2:5, 1:4], atol=2e-4)
    with pytest.raises(CropGlobeError, match="declares per-band scales"):
        open_cube(folder, scale=1e-4)


def test_scale_in_band_metadata_is_honoured(tmp_path):
    truth = _reflectance()
    dn = np.round(truth * 10_000).astype(np.uint16)
    tags = {i: {"scale_factor": "0.0001"} for i in range(1, 11)}
    folder = _folder(tmp_path, lambda p, k: _tif(p, dn, band_tags=tags))
    np.testing.assert_allclose(_decoded(open_cube(folder))[0], truth, atol=1e-4)


@pytest.mark.parametrize(("second", "message"), [
    ({"scales": [2e-4] * 10}, r"S2_2023-06-11.tif: band scales .* differ from .* of S2_2023-06-01.tif"),
    ({"scales": [0.0] * 10}, r"S2_2023-06-11.tif: band 1 declares scale 0"),
    ({"band_tags": {1: {"scale_factor": "abc"}}}, r"band 1 metadata scale_factor='abc' is not a number"),
])
def test_conflicting_or_bad_scales_are_one_error(tmp_path, second, message):
    dn = np.round(_reflectance() * 10_000).astype(np.uint16)
    folder = _folder(tmp_path, lambda p, k: _tif(p, dn, **(second if k else {"scales": [1e-4] * 10})))
    with pytest.raises(CropGlobeError, match=message):
        open_cube(folder)


def test_a_clear_band_keeps_its_own_scale(tmp_path):
    truth = _reflectance()
    dn = np.round(truth * 10_000).astype(np.uint16)
    clear = np.full((1, SIZE, SIZE), 80, dtype=np.uint16)  # clear score x 100
    folder = _folder(tmp_path, lambda p, k: _tif(p, np.concatenate([dn, clear]), scales=[1e-4] * 10 + [0.01],
                                                 names=(*BANDS, "clear")))
    cube = open_cube(folder)
    refl, c, _ = cube.source.read(slice(0, SIZE), slice(0, SIZE), cube.bands)
    np.testing.assert_allclose(refl[0], truth, atol=1e-4)
    np.testing.assert_allclose(c, 0.8, atol=1e-6)


def test_infinite_sample_values_get_no_scale_hint():
    from cropglobe import samples

    refl = np.full((2, 1, 3), 0.2, dtype=np.float32)
    refl[0, 0, 1] = np.inf
    with pytest.raises(CropGlobeError, match="infinite values are not reflectance") as err:
        samples.build(samples.SampleArrays(
            reflectance=refl, bands=["B4"], time=np.array(["2023-06-01", "2023-06-11", "2023-06-21"],
                                                          dtype="datetime64[ns]"),
            sample_id=["a", "b"], label=["wheat", "wheat"], country="FRA", year=2023, lon=[1.0, 1.0], lat=[45.0, 45.0]))
    assert "declare the scale" not in str(err.value)
