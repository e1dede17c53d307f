"""The training -> mapping contract: typed compositing settings and recipes (mirrors src/cropglobe/recipe.py)."""

from __future__ import annotations

import json

import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.recipe import RECIPE_VERSION, SCL_KEEP, CompositeSettings, RecipeSpec, read_recipe
from cropglobe.sources import simulate
from cropglobe.temporal import composite

#: A recipe as `cropglobe transfer` wrote it before format_version (no offsets, min_clear, scl_keep).
FORMAT_1 = {"model_file": "model", "model": "lightgbm", "feature": "harmonic", "feature_options": {}, "flatten": False,
            "bands": ["B2", "B3", "B4", "B8", "B11", "B12"], "classes": ["corn", "other"],
            "composite": {"interval": 5, "window": "05-01:11-30", "align": "none;", "clear_threshold": 0.75},
            "window_bins": [24, 43], "bin_days": 5.0, "trained_on": ["FRA"], "data": "SIMULATED DATA"}


def test_a_format_1_recipe_reads_with_the_old_defaults(tmp_path):
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(FORMAT_1))
    r = read_recipe(path)
    assert r.format_version == 1 and r.window_bins == (24, 43)
    c = r.composite
    assert (c.offsets, c.min_clear, c.scl_keep, c.coverage) == (None, 3, SCL_KEEP, "drop")
    assert c.align == "none"  # the "none;" a pre-composited study's label split left
    assert c.composite_kwargs() == {"interval": 5, "window": "05-01:11-30", "align": "none", "clear_threshold": 0.75,
                                    "min_clear": 3, "offsets": None, "scl_keep": SCL_KEEP, "coverage": "drop",
                                    "fill_days": 30}


def test_a_written_recipe_reads_back_equal(tmp_path):
    spec = RecipeSpec.model_validate({**FORMAT_1, "format_version": RECIPE_VERSION,
                                      "composite": {"offsets": {"aus": 170}, "min_clear": 0, "scl_keep": [4, 5]}})
    assert spec.composite.offsets == {"AUS": 170}
    back = read_recipe(spec.write(tmp_path / "recipe.json"))
    assert back == spec and back.composite.scl_keep == (4, 5)


def test_coverage_fill_round_trips_and_older_recipes_read_as_drop(tmp_path):
    spec = RecipeSpec.model_validate({**FORMAT_1, "format_version": RECIPE_VERSION,
                                      "composite": {"coverage": "fill", "fill_days": 45}})
    back = read_recipe(spec.write(tmp_path / "recipe.json"))
    assert back == spec and (back.composite.coverage, back.composite.fill_days) == ("fill", 45)
    assert json.loads((tmp_path / "recipe.json").read_text())["composite"]["fill_days"] == 45
    assert back.composite.composite_kwargs()["fill_days"] == 45
    assert back.composite.edge_tolerance() == 45 and back.composite.edge_tolerance(observations=False) == 45
    # a format-3 recipe (before fill) reads as before: coverage drop, whose tolerance fill_days does not change
    old = RecipeSpec.model_validate({**FORMAT_1, "format_version": 3, "composite": {"coverage": "drop"}})
    assert old.composite.coverage == "drop" and old.composite.edge_tolerance() == 4
    assert old.composite.edge_tolerance(observations=False) == 0


@pytest.mark.parametrize(("change", "match"), [
    ({"window_bins": [24, 0]}, "window_bins"),
    ({"window_bins": [24.0, 43]}, "window_bins"),
    ({"classes": [f"c{i}" for i in range(256)]}, "at most 255"),
    ({"composite": {"min_clear": -1}}, "composite.min_clear"),
    ({"composite": {"interval": 5.5}}, "composite.interval"),
    ({"composite": {"offsets": {"XXX": 3}}}, "composite.offsets"),
    ({"composite": {"coverage": "hold"}}, "composite.coverage"),
    ({"composite": {"coverage": "fill", "fill_days": 200}}, "composite.fill_days"),
    ({"format_version": RECIPE_VERSION + 1}, "newer than this cropglobe reads"),
    ({"colour": "red"}, "colour"),
])
def test_invalid_recipes_name_the_field(tmp_path, change, match):
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({**FORMAT_1, **change}))
    with pytest.raises(CropGlobeError, match=match):
        read_recipe(path)


def test_a_missing_field_is_named(tmp_path):
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({k: v for k, v in FORMAT_1.items() if k != "bands"}))
    with pytest.raises(CropGlobeError, match="'bands' is missing"):
        read_recipe(path)


def test_composite_records_its_settings_and_they_read_back():
    obs = simulate.simulate(["FRA", "ARG"], samples_per_class=3, seed=1)
    settings = CompositeSettings(offsets={"ARG": 170}, min_clear=1, scl_keep=(4, 5, 6, 7), coverage="fill",
                                 fill_days=20)
    full = composite.composite(obs, settings)
    assert CompositeSettings.from_attrs(full.attrs) == settings
    legacy = {k: v for k, v in full.attrs.items() if k != "composite_settings"}  # a composite of an older version
    assert CompositeSettings.from_attrs(legacy) == settings.model_copy(
        update={"scl_keep": SCL_KEEP, "coverage": "drop", "fill_days": 30})
    assert CompositeSettings.from_attrs({**legacy, "alignment": "12 days"}).align == 12


def test_same_calendar():
    assert CompositeSettings(align="+12").same_calendar(CompositeSettings(align=12))
    assert not CompositeSettings().same_calendar(CompositeSettings(offsets={"FRA": 3}))
    assert not CompositeSettings().same_calendar(CompositeSettings(interval=10))


def test_a_misspelt_recipe_or_composite_key_gets_did_you_mean(tmp_path):
    """Readers that validate through ``temporal.settings.parse`` name the right key of a misspelt one (issue 27)."""
    from cropglobe.temporal.settings import parse

    with pytest.raises(CropGlobeError, match=r"x: field intervall: Extra inputs are not permitted; did you mean "
                                             r"'interval'\?"):
        parse(CompositeSettings, {"intervall": 5}, "x")
    with pytest.raises(CropGlobeError, match=r"field composite\.min_cler: .*did you mean 'min_clear'\?"):
        parse(RecipeSpec, {"composite": {"min_cler": 2}}, "recipe.json")
