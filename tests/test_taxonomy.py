"""Tests for the crop taxonomy: aliases and per-target remaps."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe import taxonomy
from cropglobe.errors import CropGlobeError


def test_classes_in_release_order():
    assert taxonomy.CLASSES == ("corn", "soybean", "rice", "wheat", "sugarcane", "cotton", "other")
    assert taxonomy.class_index("maize") == 0 and taxonomy.class_index("other") == 6


@pytest.mark.parametrize(
    ("alias", "cls"),
    [("Maize", "corn"), ("soya", "soybean"), ("Soybeans", "soybean"), ("winter_wheat", "wheat"),
     ("Spring-Wheat", "wheat"), ("sugar cane", "sugarcane"), ("paddy rice", "rice"), ("COTTON", "cotton")],
)
def test_aliases(alias, cls):
    assert taxonomy.normalize_label(alias) == cls


def test_unknown_label():
    with pytest.raises(CropGlobeError, match="unknown crop label 'banana'"):
        taxonomy.normalize_label("banana")


def test_paper_remaps_are_data():
    remaps = taxonomy.paper_remaps()
    assert remaps["AUS"]["keep"] == ["sugarcane", "cotton"]
    assert "wheat" not in remaps["ARG"]["keep"]
    labels = np.array(["corn", "wheat", "sugarcane", "cotton", "other"])
    out = taxonomy.remap_absent(labels, taxonomy.remap_for("AUS", remaps))
    assert list(out) == ["other", "other", "sugarcane", "cotton", "other"]
    assert taxonomy.remap_for("FRA", remaps) is None


def test_remap_naming_unknown_class_fails():
    with pytest.raises(CropGlobeError, match="labels outside the taxonomy: 'barley'"):
        taxonomy.remap_for("XXX", {"XXX": {"keep": ["corn", "barley"]}})
    with pytest.raises(CropGlobeError, match="'keep' list"):
        taxonomy.remap_for("XXX", {"XXX": {"drop": ["corn"]}})


def test_kept_classes_applies_the_remap_then_the_source_rule():
    classes = ["corn", "soybean", "rice", "wheat", "other"]
    remaps = {"USA": {"keep": ["corn", "soybean", "rice"]}}
    assert taxonomy.kept_classes("USA", remaps, classes) == ["corn", "soybean", "rice"]
    assert taxonomy.kept_classes("FRA", remaps, classes) is None  # no remap, no rule: all
    assert taxonomy.kept_classes("USA", remaps, classes, ["corn", "wheat"]) == ["corn"]  # other is added on scoring
    assert taxonomy.kept_classes("FRA", remaps, classes, ["corn", "wheat"]) == ["corn", "wheat", "other"]
