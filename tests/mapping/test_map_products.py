"""Map products of issue 27: per-class probability COG, confidence PNG, titles with model, source, region, year."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import MapOptions, make_map
from cropglobe.mapping.write import map_title, output_paths
from cropglobe.taxonomy import CLASSES


@pytest.fixture(scope="module")
def sourced_cell(cell, tmp_path_factory) -> Path:
    """The fixture cell with ``trained_on`` in its recipe (as the runner writes it)."""
    copy = tmp_path_factory.mktemp("sourced") / cell.name
    shutil.copytree(cell, copy)
    recipe = json.loads((copy / "recipe.json").read_text(encoding="utf-8"))
    (copy / "recipe.json").write_text(json.dumps({**recipe, "trained_on": ["FRA"]}), encoding="utf-8")
    return copy


@pytest.fixture(scope="module")
def mapped(sourced_cell, cube_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("products") / "m.tif"
    return make_map(sourced_cell, cube_store, out, MapOptions(tile=16, scheduler="synchronous", probabilities=True))


def test_probability_cog_has_one_band_per_class_named(mapped):
    import rasterio

    with rasterio.open(mapped.paths["probabilities"]) as src:
        assert src.count == len(CLASSES) and src.dtypes == ("float32",) * len(CLASSES)
        assert list(src.descriptions) == list(CLASSES)
        tags = src.tags()
        proba = src.read()
        assert src.overviews(1)  # a COG with overviews
        assert src.profile["tiled"]
    assert tags["SOFTWARE"] == "cropglobe map" and tags["SIMULATED"] == "true"
    assert json.loads(tags["TRAINED_ON"]) == ["FRA"] and tags["CLASS_0"] == CLASSES[0]
    with rasterio.open(mapped.paths["classes"]) as cls, rasterio.open(mapped.paths["confidence"]) as conf:
        classes, confidence = cls.read(1), conf.read(1)
    kept = classes != 255
    assert kept.sum() > 0 and (~kept).sum() > 0  # the cloudy corner is nodata
    assert np.isnan(proba[:, ~kept]).all() and not np.isnan(proba[:, kept]).any()
    np.testing.assert_array_equal(proba[:, kept].argmax(0), classes[kept])
    np.testing.assert_allclose(proba[:, kept].max(0), confidence[kept], rtol=1e-6)
    np.testing.assert_allclose(proba[:, kept].sum(0), 1.0, atol=1e-4)


def test_confidence_png_and_titles(mapped):
    png = mapped.paths["confidence_png"]
    assert png.name == "m_confidence.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert mapped.paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import rasterio

    with rasterio.open(mapped.paths["classes"]) as src:
        tags = src.tags()
    title = map_title(tags, simulated=True)
    assert "crop map of FRA, season" in title and tags["SEASON_YEAR"] in title and "(SIMULATED DATA)" in title
    assert "harmonic / lightgbm, trained on FRA" in title and "cube.zarr" in title
    assert map_title(tags, simulated=False, what="confidence").startswith("confidence of FRA")
    assert "SIMULATED" not in map_title(tags, simulated=False)


def test_title_without_tags_and_with_an_ensemble():
    assert map_title({}, simulated=False) == "crop map\nmodel"
    title = map_title({"MODEL": "cropnet", "FEATURE": "median2d", "TRAINED_ON": '["CAN", "FRA"]',
                       "ENSEMBLE": '["a", "b", "c"]', "COUNTRY": "BEL", "SEASON_YEAR": "2021"}, simulated=False)
    assert title == "crop map of BEL, season 2021\nmedian2d / cropnet, trained on CAN+FRA (ensemble of 3 cells)"


def test_no_probability_file_unless_asked(cell, cube_store, tmp_path):
    result = make_map(cell, cube_store, tmp_path / "m.tif", MapOptions(tile=32, scheduler="synchronous"))
    assert "probabilities" not in result.paths
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.png", "m.tif", "m_areas.csv", "m_confidence.png",
                                                          "m_confidence.tif"]


def test_a_user_file_at_the_probability_path_is_kept(cell, cube_store, tmp_path):
    mine = output_paths(tmp_path / "m.tif", probabilities=True)["probabilities"]
    mine.write_bytes(b"my own raster")
    with pytest.raises(CropGlobeError, match="refusing"):
        make_map(cell, cube_store, tmp_path / "m.tif", MapOptions(tile=32, scheduler="synchronous", probabilities=True))
    assert mine.read_bytes() == b"my own raster"
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name]


def test_cli_probabilities_flag(sourced_cell, cube_store, tmp_path):
    from typer.testing import CliRunner

    from cropglobe.cli import app

    result = CliRunner().invoke(app, ["map", str(sourced_cell), str(cube_store), "--out", str(tmp_path / "m.tif"),
                                      "--tile", "32", "--scheduler", "synchronous", "--probabilities", "--quiet"])
    assert result.exit_code == 0, result.output
    printed = "".join(result.output.split())  # rich wraps long paths at the terminal's width
    assert "m_probabilities.tif" in printed and (tmp_path / "m_probabilities.tif").is_file()
