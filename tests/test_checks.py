"""Validation plumbing (mirrors src/cropglobe/checks.py)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from cropglobe.checks import Strict, WholeNumber, validation_error, whole_number
from cropglobe.errors import CropGlobeError


class _Box(Strict):
    size: WholeNumber = 1


def test_whole_number_accepts_integers_only():
    assert whole_number(np.int32(4), "n") == 4 and isinstance(whole_number(np.int64(4), "n"), int)
    for bad in (True, 4.0, "4", None):
        with pytest.raises(CropGlobeError, match=r"n=.*: expected a whole number >= 0"):
            whole_number(bad, "n")
    with pytest.raises(CropGlobeError, match=r"interval=0: expected a whole number of days in 1\.\.365"):
        whole_number(0, "interval", 1, 365, unit="days")
    assert whole_number(-3, "shift", minimum=None) == -3


def test_strict_models_and_their_errors():
    assert _Box(size=3).size == 3
    for bad in ({"size": 3.0}, {"size": True}, {"colour": 1}):
        with pytest.raises(ValidationError) as info:
            _Box.model_validate(bad)
        err = validation_error("box.yaml", info.value)
        assert isinstance(err, CropGlobeError) and str(err).startswith("box.yaml: field ")
        assert next(iter(bad)) in str(err)


def test_an_unknown_field_gets_a_did_you_mean_from_its_own_nested_model():
    from pydantic import BaseModel, ConfigDict, ValidationError

    from cropglobe.checks import validation_error
    from cropglobe.experiment import parse_spec

    class Inner(BaseModel):
        model_config = ConfigDict(extra="forbid")
        epochs: int = 1

    class Outer(BaseModel):
        model_config = ConfigDict(extra="forbid")
        train: Inner | None = None
        cells: list[Inner] = []

    for raw, hint in (({"trian": {}}, "did you mean 'train'?"), ({"train": {"epoch": 2}}, "did you mean 'epochs'?"),
                      ({"cells": [{"epocs": 2}]}, "did you mean 'epochs'?")):
        try:
            Outer.model_validate(raw)
        except ValidationError as err:
            assert str(validation_error("x.yaml", err, model=Outer)).endswith(hint)
            assert "did you mean" not in str(validation_error("x.yaml", err))  # no model: no guess
    try:
        Outer.model_validate({"zzzz": 1})
    except ValidationError as err:
        assert "did you mean" not in str(validation_error("x.yaml", err, model=Outer))  # nothing close
    spec = {"name": "t", "data": {"simulate": {"countries": ["FRA"]}}, "sources": ["FRA"], "cels": []}
    with pytest.raises(CropGlobeError, match=r"field cels: .*did you mean 'cells'\?"):
        parse_spec(spec)
