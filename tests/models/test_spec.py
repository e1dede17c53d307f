"""ModelSpec: JSON round trip, label checks, malformed specs."""

from __future__ import annotations

import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.models import ModelSpec


def test_spec_round_trips_through_json():
    spec = ModelSpec("cropnet", 3, 43, 2, {"dropout": (0.1, 0.2, 0.3, 0.4)}, ["B2", "B3", "B4"],
                     ["corn", "other"])
    again = ModelSpec.from_json(spec.to_json())
    assert again == spec and again.options["dropout"] == [0.1, 0.2, 0.3, 0.4]


def test_label_lengths_must_match_sizes():
    with pytest.raises(CropGlobeError, match="2 band names"):
        ModelSpec("cropnet", 3, 43, 2, bands=["B2", "B3"])
    with pytest.raises(CropGlobeError, match="3 class names given for n_classes=2"):
        ModelSpec("cropnet", 3, 43, 2, class_names=["a", "b", "c"])


def test_check_compares_names_or_counts():
    spec = ModelSpec("mlp", 2, 1, 2, bands=["B4", "B8"])
    spec.check(["B4", "B8"], 2)
    with pytest.raises(CropGlobeError, match=r"model was trained on bands \['B4', 'B8'\]"):
        spec.check(["B8", "B4"])
    nameless = ModelSpec("mlp", 2, 1, 2)
    nameless.check(["x", "y"], ["a", "b"])
    with pytest.raises(CropGlobeError, match="trained on 2 classes, expected 3"):
        nameless.check(expect_classes=["a", "b", "c"])


@pytest.mark.parametrize("text,match", [
    ("{", "not valid JSON"),
    ('{"name": "mlp"}', "needs name, n_bands"),
    ('{"name": "mlp", "n_bands": 2, "n_times": 1, "n_classes": 0}', "n_classes must be a positive"),
    ('{"name": "mlp", "n_bands": 2, "n_times": 1, "n_classes": 2, "code": 1}', "unknown model spec"),
    ('{"name": "mlp", "n_bands": 2, "n_times": 1, "n_classes": 2, "options": []}', "options must"),
])
def test_malformed_specs_are_refused(text, match):
    with pytest.raises(CropGlobeError, match=match):
        ModelSpec.from_json(text, "m.pt")
