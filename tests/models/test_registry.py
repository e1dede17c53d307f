"""Registry: names, info, options, and bad names/options/sizes."""

from __future__ import annotations

import pytest
import torch

from cropglobe.errors import CropGlobeError
from cropglobe.models import TabularClassifier, get_model, list_models, model_info, model_options

MATRIX = {"cropnet", "cropnet-lite", "resnet50", "efficientnet-v2-s", "cropnet1d", "tempcnn", "tempcnn-anchored"}


def test_registry_lists_every_model_with_family_kind_and_source():
    assert set(list_models()) == MATRIX | {"mlp", "rf", "lightgbm", "presto-ft"}
    for name in list_models():
        info = model_info(name)
        assert info.input_kind == ("matrix" if name in MATRIX else "vector")
        assert info.family == ("tabular" if name in ("rf", "lightgbm") else "torch")
        assert info.source


@pytest.mark.parametrize("name", ["cropnet1d", "tempcnn", "tempcnn-anchored", "mlp", "rf", "lightgbm"])
def test_get_model_returns_the_right_family(name):
    model = get_model(name, 10, 5, 7)
    expected = TabularClassifier if model_info(name).family == "tabular" else torch.nn.Module
    assert isinstance(model, expected)


def test_unknown_name_raises_with_the_available_list():
    with pytest.raises(CropGlobeError, match="unknown model 'cropnet3'; available: cropnet,"):
        get_model("cropnet3", 10, 43, 7)
    with pytest.raises(CropGlobeError, match="unknown model"):
        model_info("vit")


def test_unknown_and_invalid_options_raise():
    with pytest.raises(CropGlobeError, match=r"unknown option\(s\) \['width'\]; allowed: "):
        get_model("cropnet", 10, 43, 7, width=32)
    with pytest.raises(CropGlobeError, match="invalid options"):
        get_model("cropnet", 10, 43, 7, dropout=1.5)
    with pytest.raises(CropGlobeError, match="invalid options"):
        get_model("cropnet", 10, 43, 7, dropout=[0.1, 0.2])
    with pytest.raises(CropGlobeError, match="not JSON-serialisable"):
        get_model("mlp", 10, 1, 7, hidden=object())


@pytest.mark.parametrize("field,value", [("n_bands", 0), ("n_times", -1), ("n_classes", 1.5)])
def test_bad_sizes_raise(field, value):
    sizes = {"n_bands": 10, "n_times": 43, "n_classes": 7} | {field: value}
    with pytest.raises(CropGlobeError, match=field):
        get_model("cropnet", **sizes)


def test_one_class_is_refused():
    with pytest.raises(CropGlobeError, match="n_classes must be at least 2"):
        get_model("tempcnn", 10, 43, 1)


def test_model_options_lists_defaults():
    assert model_options("tempcnn")["kernel_size"] == 5
    assert model_options("rf")["n_estimators"] == 500
