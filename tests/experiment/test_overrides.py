"""``--set key=value`` overrides of a transfer spec (issue 27): dotted keys, YAML values, "did you mean"."""

from __future__ import annotations

import re

import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.experiment import overrides

RAW = {"name": "x", "data": {"simulate": {"countries": ["FRA", "BEL"]}}, "sources": ["FRA"],
       "cells": [{"feature": "harmonic", "model": "rf"}], "train": {"epochs": 3}, "composite": None}


def test_values_are_yaml_and_keys_dotted():
    out = overrides.apply(RAW, ["train.epochs=5", "seeds=[0, 1]", "model_options.rf.n_estimators=7",
                                "composite.interval=10", "name='a b'", "validation.fraction=0.3"])
    assert out["train"]["epochs"] == 5 and out["seeds"] == [0, 1]
    assert out["model_options"] == {"rf": {"n_estimators": 7}}  # below a free mapping: any key
    assert out["composite"] == {"interval": 10} and out["name"] == "a b"
    assert RAW["train"]["epochs"] == 3 and RAW["composite"] is None  # the input is not changed


def test_empty_value_is_null_and_later_assignments_win():
    out = overrides.apply(RAW, ["train.epochs=5", "train.epochs=6", "composite="])
    assert out["train"]["epochs"] == 6 and out["composite"] is None


@pytest.mark.parametrize(("assignment", "message"), [
    ("train.epoch=5", "unknown key 'train.epoch'; did you mean 'train.epochs'?"),
    ("seed=[1]", "unknown key 'seed'; did you mean 'seeds'?"),
    ("validation.fractoin=0.1", "did you mean 'validation.fraction'?"),
    ("bogus=1", "unknown key 'bogus' (keys of the spec: name, data"),
    ("cells.0.model=rf", "cells is a list; set it whole"),
    ("train.epochs", "expected KEY=VALUE"),
    ("=3", "expected KEY=VALUE"),
    ("train.epochs=[1", "not valid YAML"),
])
def test_bad_assignments_are_one_clear_error(assignment, message):
    with pytest.raises(CropGlobeError, match=re.escape(message)):
        overrides.apply(RAW, [assignment])


def test_load_spec_validates_the_result(tmp_path):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(RAW))
    spec = overrides.load_spec(path, ["train.epochs=4", "seeds=[0,1]"])
    assert spec.train.epochs == 4 and spec.seeds == [0, 1]
    with pytest.raises(CropGlobeError, match=r"s.yaml with --set: field train.epochs"):
        overrides.load_spec(path, ["train.epochs=many"])
