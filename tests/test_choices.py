"""The fixed vocabularies (:mod:`cropglobe.choices`): one list of values each, shared by the models and the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from cropglobe import choices


def test_values_of_a_literal_an_enum_and_a_registry():
    assert choices.values(choices.Coverage) == ("drop", "error", "fill")
    assert choices.values(choices.Precision) == ("auto", "bf16-mixed", "16-mixed", "32-true")
    assert choices.values({"demo": "...", "paper": "..."}) == ("demo", "paper")


def test_choice_enum_members_are_the_plain_values():
    precision = choices.choice_enum("P", choices.INFERENCE_CHOICES)
    assert [m.value for m in precision] == ["auto", "bf16-mixed", "32-true"]
    assert precision("32-true") == "32-true" and isinstance(precision("auto"), str)
    flatten = choices.choice_enum("F", choices.Flatten)
    assert [m.name for m in flatten] == ["BAND_MAJOR", "TIME_MAJOR"]
    with pytest.raises(ValueError):
        flatten("bogus")


def test_the_library_uses_the_same_lists():
    from cropglobe.experiment import adapt
    from cropglobe.sources.readers import cropglobe_npz, labels
    from cropglobe.study.adaptation import AdaptationSpec
    from cropglobe.temporal.settings import CompositeSettings
    from cropglobe.training import settings

    assert settings.Precision is choices.Precision and settings.INFERENCE_CHOICES == choices.INFERENCE_CHOICES
    assert adapt.METHODS == choices.values(choices.AdaptationMethod)
    assert labels.UNKNOWN_POLICIES == choices.values(choices.UnknownPolicy)
    assert tuple(cropglobe_npz.WINDOWS) == choices.values(choices.ReleaseWindow)  # --window of data import cropglobe
    from cropglobe.features.families import FEATURES

    assert tuple(FEATURES) == choices.values(choices.FeatureFamily)  # --family of data features
    from cropglobe.models.ensemble import ADAPT

    assert (*ADAPT, "selftrain") == choices.values(choices.PredictAdaptation)  # --adapt of predict / map
    from cropglobe.mapping.student import PRESETS

    assert tuple(PRESETS) == choices.values(choices.FastStudent)  # --student of map --fast
    assert AdaptationSpec(methods=["align"]).methods == ["align"]
    with pytest.raises(ValidationError):
        AdaptationSpec(methods=["bogus"])
    assert CompositeSettings(coverage="fill").coverage == "fill"
    with pytest.raises(ValidationError):
        CompositeSettings(coverage="bogus")


def test_the_module_is_light():
    code = ("import sys, cropglobe.choices, cropglobe.cli; "
            "print(sorted(m for m in ('pydantic', 'numpy', 'torch', 'xarray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
