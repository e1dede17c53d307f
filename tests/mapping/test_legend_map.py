"""A legend of the user's own end to end (issue 27): transfer -> predict -> map carry exactly the cell's classes.

SIMULATED DATA: a 4-class study legend with hierarchical names (``cereal/wheat``, ``cereal/rice``) on
the simulator's seven classes, moved there by name (wheat, rice: their last level) and by the
study's declared ``class_map`` (soybean, sugarcane, cotton -> other).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio

from cropglobe import experiment, models
from cropglobe.errors import CropGlobeError
from cropglobe.mapping import NODATA_CLASS, MapOptions, make_map
from cropglobe.mapping.predict_table import predict_samples
from cropglobe.sources import simulate

LEGEND = ["corn", "cereal/wheat", "cereal/rice", "other"]
SPEC = {
    "name": "own-legend",
    "data": {"simulate": {"countries": ["FRA", "BEL"], "samples_per_class": 12, "seed": 2}},
    "sources": ["FRA"], "targets": ["BEL"],
    "classes": LEGEND,
    "class_map": {"soybean": "other", "sugarcane": "other", "cotton": "other"},
    "cells": [{"feature": "harmonic", "model": "lightgbm"}, {"feature": "median2d", "model": "tempcnn"}],
    "seeds": [0],
    "train": {"epochs": 1, "batch_size": 32},
    "model_options": {"lightgbm": {"n_estimators": 30}, "tempcnn": {"filters": 8, "hidden": 16}},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("legend") / "run"
    results = experiment.run(experiment.parse_spec(SPEC), run_dir, progress=False)
    return run_dir, results


def test_the_study_scores_and_writes_cells_of_its_legend(run):
    run_dir, results = run
    assert len(results) == 2 * 2 and results["simulated"].all()
    for _, row in results.iterrows():
        assert list(json.loads(row["per_class"])) == LEGEND
        assert np.asarray(json.loads(row["confusion"])).shape == (4, 4)
        assert set(row["classes"].split(",")) <= set(LEGEND)
    assert "soybean -> other" in results["data"].iloc[0] and "wheat -> cereal/wheat" in results["data"].iloc[0]
    for cell in ("FRA__harmonic__lightgbm__none__s0", "FRA__median2d__tempcnn__none__s0"):
        recipe = json.loads((run_dir / "cells" / cell / "recipe.json").read_text())
        assert recipe["classes"] == LEGEND
    net = models.load_model(run_dir / "cells" / "FRA__median2d__tempcnn__none__s0" / "model", expect_classes=LEGEND)
    assert net(__import__("torch").zeros(2, 10, 43)).shape == (2, 4)  # 4 logits, not 7
    report = (run_dir / "report.md").read_text()
    assert "Classes (4, the study's own): corn, cereal/wheat, cereal/rice, other" in report
    assert "## Scores at the parent level" in report and "corn, cereal, other" in report


def test_predict_writes_the_cells_classes_only(run):
    run_dir, _ = run
    target = simulate.simulate(["BEL"], samples_per_class=4, seed=9)  # SIMULATED, the paper's 7 classes
    for cell in ("FRA__harmonic__lightgbm__none__s0", "FRA__median2d__tempcnn__none__s0"):
        result = predict_samples(run_dir / "cells" / cell, target)
        assert [c for c in result.table.columns if c.startswith("prob_")] == [f"prob_{c}" for c in LEGEND]
        assert set(result.table["predicted"].dropna()) <= set(LEGEND)
        m = result.metrics
        assert m["classes"] == LEGEND and list(m["targets"]["BEL"]["per_class"]) == LEGEND
        # labels the cell does not know are scored as other, and said so
        assert m["reference_as_other"] == {"cotton": 4, "soybean": 4, "sugarcane": 4}
        assert list(m["targets"]["BEL"]["parent"]["per_class"]) == ["corn", "cereal", "other"]


def test_the_map_has_the_cells_classes_only(run, cube_store, tmp_path):
    run_dir, _ = run
    result = make_map(run_dir / "cells" / "FRA__harmonic__lightgbm__none__s0", cube_store, tmp_path / "map.tif",
                      MapOptions(tile=16, scheduler="synchronous"))
    with rasterio.open(result.paths["classes"]) as src:
        names = json.loads(src.tags()["CLASS_NAMES"])
        values = src.read(1)
    assert [names[str(i)] for i in range(len(names))] == LEGEND
    assert set(np.unique(values)) <= {0, 1, 2, 3, NODATA_CLASS}
    areas = pd.read_csv(result.paths["areas"])
    assert list(areas["class"]) == [*LEGEND, "nodata"]


def test_a_data_class_outside_the_legend_needs_the_declared_table(tmp_path):
    spec = experiment.parse_spec({**SPEC, "class_map": {"sugarcane": "other", "cotton": "other"}})
    with pytest.raises(CropGlobeError, match=r"classes 'soybean' \(\d+\) are not in the legend.*class_map"):
        experiment.run(spec, tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "config.yaml").exists()
    with pytest.raises(CropGlobeError, match="class_map: 'oilseed' is not a class of the study's legend"):
        experiment.parse_spec({**SPEC, "class_map": {"soybean": "oilseed"}})
    with pytest.raises(CropGlobeError, match="field classes.*no class 'other'"):
        experiment.parse_spec({**SPEC, "classes": ["corn", "wheat"]})
    with pytest.raises(CropGlobeError, match="field remaps.*'soybean'"):
        experiment.parse_spec({**SPEC, "remaps": {"BEL": {"keep": ["corn", "soybean"]}}})
