"""``training/settings.py``: the ``train:`` block, a fit's settings and the one definition of the precisions."""

from __future__ import annotations

import pytest
import yaml

from cropglobe.errors import CropGlobeError
from cropglobe.training.settings import (
    INFERENCE_CHOICES,
    PRECISIONS,
    RESOLVED_INFERENCE,
    Precision,
    TrainSettings,
    TrainSpec,
)


def test_the_precisions_are_lightnings_names_and_the_subsets_are_members():
    assert [p.value for p in PRECISIONS] == ["auto", "bf16-mixed", "16-mixed", "32-true"]
    assert set(INFERENCE_CHOICES) == set(PRECISIONS) - {Precision.FP16_MIXED}
    assert set(RESOLVED_INFERENCE) == set(INFERENCE_CHOICES) - {Precision.AUTO}
    assert Precision.FP32 == "32-true" and f"{Precision.BF16_MIXED}" == "bf16-mixed"


@pytest.mark.parametrize("value", [p.value for p in PRECISIONS])
def test_the_train_block_takes_every_precision_and_dumps_it_as_text(value):
    spec = TrainSpec(precision=value)
    assert spec.precision == value
    dumped = spec.model_dump(mode="json")["precision"]
    assert dumped == value and type(dumped) is str
    assert yaml.safe_load(yaml.safe_dump(spec.model_dump(mode="json")))["precision"] == value
    settings = TrainSettings.from_spec(spec, seed=3)
    assert type(settings.precision) is str and settings.precision == value and settings.seed == 3


def test_the_train_block_refuses_an_unknown_precision_naming_the_values():
    with pytest.raises(ValueError, match="'auto', 'bf16-mixed', '16-mixed' or '32-true'"):
        TrainSpec(precision="fp8")
    assert TrainSpec().precision == Precision.AUTO


def test_training_and_inference_check_against_the_same_definition():
    from cropglobe.mapping.predict import inference_precision
    from cropglobe.training.lightning import resolve_precision

    for value in PRECISIONS:
        assert resolve_precision(value, "cpu") in {p.value for p in PRECISIONS} - {"auto"}
    for value in INFERENCE_CHOICES:
        assert inference_precision(value) in RESOLVED_INFERENCE
    with pytest.raises(CropGlobeError, match="expected one of " + ", ".join(INFERENCE_CHOICES)):
        inference_precision(Precision.FP16_MIXED)  # training only
    with pytest.raises(ValueError, match="expected one of " + ", ".join(PRECISIONS)):
        resolve_precision("fp8")
