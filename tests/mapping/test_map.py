"""End to end: a SIMULATED cube with known per-pixel classes -> COG, confidence, PNG, areas."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio

from cropglobe import taxonomy
from cropglobe.mapping import NODATA_CLASS, MapOptions, make_map

from .conftest import CLOUDY


@pytest.fixture(scope="module")
def mapped(cell, cube_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("map") / "map.tif"
    return make_map(cell, cube_store, out, MapOptions(tile=16, scheduler="synchronous"))


def test_georeferencing_matches_the_cube(mapped, sim_cube):
    cube, _ = sim_cube
    with rasterio.open(mapped.paths["classes"]) as src:
        assert src.crs.to_epsg() == 32631
        assert src.transform == cube.rio.transform()
        assert (src.height, src.width) == (32, 32)
        assert src.dtypes[0] == "uint8" and src.nodata == NODATA_CLASS
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.overviews(1), "internal overviews missing"
        cmap = src.colormap(1)
        assert cmap[taxonomy.CLASSES.index("corn")][:3] == (255, 211, 0)
        names = json.loads(src.tags()["CLASS_NAMES"])
        assert [names[str(i)] for i in range(len(taxonomy.CLASSES))] == list(taxonomy.CLASSES)
        assert src.tags()["SIMULATED"] == "true"


def test_classes_match_truth_and_cloudy_pixels_are_nodata(mapped, sim_cube):
    _, truth = sim_cube
    with rasterio.open(mapped.paths["classes"]) as src:
        got = src.read(1)
    cloudy = np.zeros_like(truth, dtype=bool)
    cloudy[CLOUDY] = True
    assert (got[cloudy] == NODATA_CLASS).all()
    assert (got[~cloudy] != NODATA_CLASS).all(), "a clear pixel got no class"
    accuracy = (got[~cloudy] == truth[~cloudy]).mean()
    assert accuracy > 0.85, accuracy
    assert mapped.nodata_pixels == cloudy.sum()


def test_confidence_cog(mapped):
    with rasterio.open(mapped.paths["confidence"]) as src:
        conf = src.read(1)
        assert src.dtypes[0] == "float32" and src.overviews(1)
    cloudy = np.zeros(conf.shape, dtype=bool)
    cloudy[CLOUDY] = True
    assert np.isnan(conf[cloudy]).all()
    assert ((conf[~cloudy] > 1.0 / len(taxonomy.CLASSES)) & (conf[~cloudy] <= 1.0 + 1e-6)).all()


def test_area_table_in_hectares(mapped):
    table = pd.read_csv(mapped.paths["areas"]).set_index("class")
    with rasterio.open(mapped.paths["classes"]) as src:
        got = src.read(1)
    pixel_ha = 10.0 * 10.0 / 1e4
    for i, name in enumerate(taxonomy.CLASSES):
        assert table.loc[name, "pixels"] == (got == i).sum()
        assert table.loc[name, "hectares"] == pytest.approx((got == i).sum() * pixel_ha)
    assert table.loc["nodata", "hectares"] == pytest.approx(40 * pixel_ha)
    assert table["hectares"].sum() == pytest.approx(32 * 32 * pixel_ha)
    assert (table["data"] == "SIMULATED").all()


def test_area_table_close_to_truth(mapped, sim_cube):
    _, truth = sim_cube
    table = pd.read_csv(mapped.paths["areas"]).set_index("class")
    true_ha = np.array([(truth == i).sum() * 0.01 for i in range(len(taxonomy.CLASSES))])
    got_ha = table.loc[list(taxonomy.CLASSES), "hectares"].to_numpy()
    assert np.abs(got_ha - true_ha).sum() / true_ha.sum() < 0.3  # twice the misclassified share at most


def test_png_quicklook(mapped):
    head = mapped.paths["png"].read_bytes()[:8]
    assert head == b"\x89PNG\r\n\x1a\n"


def test_tiles_and_schedulers_give_the_same_map(cell, cube_store, mapped, tmp_path):
    other = make_map(cell, cube_store, tmp_path / "m.tif",
                     MapOptions(tile=32, scheduler="threads", workers=2, block_pixels=100))
    with rasterio.open(other.paths["classes"]) as a, rasterio.open(mapped.paths["classes"]) as b:
        assert (a.read(1) == b.read(1)).all()


def test_netcdf_and_geotiff_folder_inputs(cell, sim_cube, mapped, tmp_path):
    from cropglobe.mapping import write_cube

    cube, _ = sim_cube
    nc = write_cube(cube, tmp_path / "cube.nc")
    folder = tmp_path / "tifs"
    folder.mkdir()
    sub = cube.isel(time=slice(0, None))
    for t in sub["time"].values:
        day = sub.sel(time=t)
        layers = np.concatenate([day["reflectance"].values, day["clear"].values[None]]).astype("float32")
        names = [*map(str, cube["band"].values), "clear"]
        with rasterio.open(folder / f"S2_{str(t)[:10]}.tif", "w", driver="GTiff", width=32, height=32,
                           count=len(names), dtype="float32", crs="EPSG:32631",
                           transform=cube.rio.transform()) as dst:
            dst.write(layers)
            for i, n in enumerate(names, 1):
                dst.set_band_description(i, n)
    with rasterio.open(mapped.paths["classes"]) as src:
        expected = src.read(1)
    for source in (nc, folder):
        res = make_map(cell, source, tmp_path / f"{source.stem}.tif", MapOptions(tile=32, scheduler="synchronous"))
        with rasterio.open(res.paths["classes"]) as src:
            assert (src.read(1) == expected).all(), source


def test_progress_bar_over_tiles_gives_the_same_map(cell, cube_store, mapped, tmp_path, capsys):
    out = tmp_path / "progress.tif"
    result = make_map(cell, cube_store, out, MapOptions(tile=16, scheduler="synchronous", progress=True))
    with rasterio.open(result.paths["classes"]) as a, rasterio.open(mapped.paths["classes"]) as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))
    assert "mapping tiles" in capsys.readouterr().err
