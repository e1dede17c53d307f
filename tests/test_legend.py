"""Class legends (mirrors src/cropglobe/legend.py): checks, name resolution, cross-legend tables, levels."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe import legend, taxonomy
from cropglobe.errors import CropGlobeError

OWN = ("corn", "cereal/wheat", "cereal/barley", "other")


def test_the_default_legend_is_the_papers():
    assert legend.DEFAULT == taxonomy.CLASSES and legend.is_default(taxonomy.CLASSES)
    assert legend.of({}) == taxonomy.CLASSES and legend.of({"classes": list(OWN)}) == OWN


@pytest.mark.parametrize(("names", "match"), [
    ("corn, other", "expected a list"),
    (["corn"], "1 classes; expected 2 to 255"),
    (["corn", "soybean"], "no class 'other'"),
    (["corn", "Corn", "other"], "the same name"),
    (["winter_wheat", "winter wheat", "other"], "the same name"),
    (["cereal//wheat", "other"], "class name 'cereal//wheat'"),
    (["corn;drop", "other"], "class name"),
    ([f"c{i}" for i in range(255)] + ["other"], "256 classes"),
])
def test_bad_legends_are_named(names, match):
    with pytest.raises(CropGlobeError, match=match):
        legend.check_classes(names, "classes")


def test_resolution_by_name_last_level_and_alias():
    assert legend.resolve("Cereal/Wheat", OWN) == "cereal/wheat"
    assert legend.resolve("wheat", OWN) == "cereal/wheat"  # the unique last level
    assert legend.resolve("winter wheat", OWN) == "cereal/wheat"  # taxonomy alias -> wheat -> its class
    assert legend.resolve("maize", OWN) == "corn"
    assert legend.resolve("soybean", OWN) is None  # not in this legend
    assert legend.resolve("x", ("a/x", "b/x", "other")) is None  # an ambiguous last level resolves to nothing
    with pytest.raises(CropGlobeError, match="unknown crop label 'soybean'"):
        legend.normalize("soybean", OWN)
    # the default legend resolves as the taxonomy does
    assert [legend.resolve(n, legend.DEFAULT) for n in ("Maize", "soya beans", "paddy")] == ["corn", "soybean", "rice"]


def test_translate_needs_a_declared_class_for_every_unresolved_class():
    labels = np.array(["corn", "wheat", "rapeseed", "rapeseed", "other"])
    with pytest.raises(CropGlobeError, match=r"classes 'rapeseed' \(2\) are not in the legend.*class_map"):
        legend.translate(labels, OWN, where="data")
    out, moved = legend.translate(labels, OWN, {"Rapeseed": "other"})
    assert list(out) == ["corn", "cereal/wheat", "other", "other", "other"]
    assert moved == {"wheat": "cereal/wheat", "rapeseed": "other"}
    with pytest.raises(CropGlobeError, match="'oilseed', which is not a class"):
        legend.translate(labels, OWN, {"rapeseed": "oilseed"})


def test_levels():
    assert legend.depth(OWN) == 2 and legend.depth(taxonomy.CLASSES) == 1
    assert legend.parents(OWN) == ("corn", "cereal", "other")
    assert legend.at_depth("cereal/wheat", 1) == "cereal" and legend.leaf("cereal/wheat") == "wheat"
