"""The transfer spec: parsing, validation and the cell list (mirrors src/cropglobe/study/spec.py)."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe import experiment
from cropglobe.errors import CropGlobeError
from cropglobe.study import spec as study_spec

SPEC = {
    "name": "tiny",
    "data": {"simulate": {"countries": ["FRA", "BEL", "ARG"], "samples_per_class": 8, "seed": 2}},
    "sources": ["FRA"],
    "targets": "all",
    "cells": [
        {"feature": "median2d", "model": "cropnet-lite", "augmentation": "paper"},
        {"feature": "harmonic", "model": "rf"},
    ],
    "seeds": [0],
    "train": {"epochs": 2, "batch_size": 16, "lr": 0.001},
    "model_options": {"rf": {"n_estimators": 20}},
    "remaps": "paper",
}


def test_spec_validation_errors():
    with pytest.raises(CropGlobeError, match="field sources"):
        experiment.parse_spec({**SPEC, "sources": []})
    with pytest.raises(CropGlobeError, match="exactly one of 'path' or 'simulate'"):
        experiment.parse_spec({**SPEC, "data": {}})
    with pytest.raises(CropGlobeError, match="'cells' or both"):
        experiment.parse_spec({k: v for k, v in SPEC.items() if k != "cells"})
    assert np.array_equal([c.model for c in experiment.parse_spec(
        {**{k: v for k, v in SPEC.items() if k != "cells"}, "features": ["harmonic"], "models": ["rf", "lightgbm"]}
    ).cell_list()], ["rf", "lightgbm"])


def test_a_spec_file_is_read_and_checked_naming_the_file(tmp_path):
    import yaml

    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    spec = study_spec.load_spec(path)
    assert spec == study_spec.parse_spec(SPEC) and experiment.parse_spec is study_spec.parse_spec
    assert [(c.feature, c.model) for c in spec.cell_list()] == [("median2d", "cropnet-lite"), ("harmonic", "rf")]
    assert "ARG" in spec.remap_table() and all(k.isupper() for k in spec.remap_table())  # the paper's remaps
    with pytest.raises(CropGlobeError, match="cannot read experiment config"):
        study_spec.load_spec(tmp_path / "missing.yaml")
    path.write_text("sources: [FRA", encoding="utf-8")
    with pytest.raises(CropGlobeError, match="not valid YAML"):
        study_spec.load_spec(path)
    with pytest.raises(CropGlobeError, match="top level"):
        study_spec.parse_spec(["FRA"])
    with pytest.raises(CropGlobeError, match="field remaps"):
        study_spec.parse_spec({**SPEC, "remaps": {"ARG": {"keep": ["corn", "barley"]}}})
