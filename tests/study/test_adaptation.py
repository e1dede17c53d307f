"""The adaptation settings of a spec (mirrors src/cropglobe/study/adaptation.py)."""

from __future__ import annotations

import pytest

from cropglobe import experiment
from cropglobe.errors import CropGlobeError
from cropglobe.study.adaptation import AdaptationSpec, SelfTrainSpec

from .test_spec import SPEC


def test_selftrain_portions_lie_in_the_unit_interval():
    with pytest.raises(ValueError, match="portions"):
        SelfTrainSpec(portions=[0.2, 1.2])
    assert all(0 < p <= 1 for p in SelfTrainSpec().portions)


def test_methods_start_with_none_without_repeats_and_are_checked():
    assert AdaptationSpec().single_methods() == ["none", "adabn"]
    assert AdaptationSpec(methods=["prior", "none", "prior"]).single_methods() == ["none", "prior"]
    spec = experiment.parse_spec({**SPEC, "adaptation": {"methods": ["align"], "max_shift_days": 30}})
    assert spec.adaptation is not None and spec.adaptation.max_shift_days == 30.0
    with pytest.raises(CropGlobeError, match="adaptation"):
        experiment.parse_spec({**SPEC, "adaptation": {"methods": ["magic"]}})
    with pytest.raises(CropGlobeError, match="batch_size"):
        experiment.parse_spec({**SPEC, "adaptation": {"batch_size": 0}})
