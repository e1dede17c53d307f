"""A tampered recipe.json is refused with one line (issue 29, Low): a model file outside the cell, a bin
width that is not a positive finite number, a reversed window, window bins other than the window's.

The cell is the tiny SIMULATED random-forest cell of :mod:`tests.reliability.cells`.
"""

from __future__ import annotations

import json

import pytest
from tests.reliability.cells import tiny_cell

from cropglobe.cells.cell import load_recipe
from cropglobe.errors import CropGlobeError


@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    return tiny_cell(tmp_path_factory.mktemp("recipe") / "cell")


def _tampered(cell, tmp_path, **changes):
    import shutil

    copy = shutil.copytree(cell, tmp_path / "cell")
    recipe = json.loads((copy / "recipe.json").read_text())
    for key, value in changes.items():
        if key == "window":
            recipe["composite"]["window"] = value
        else:
            recipe[key] = value
    (copy / "recipe.json").write_text(json.dumps(recipe))
    return copy


def test_the_intact_cell_loads(cell):
    assert load_recipe(cell).model_path == cell / "model"


@pytest.mark.parametrize(("changes", "message"), [
    ({"model_file": "../outside/model"}, "model_file = '../outside/model'; expected a file name inside the cell"),
    ({"model_file": "/etc/passwd"}, "model_file = '/etc/passwd'; expected a file name inside the cell"),
    ({"model_file": ""}, "expected a file name inside the cell"),
    ({"bin_days": 0}, "bin_days = 0.0; expected a positive, finite number of days"),
    ({"bin_days": -5}, "bin_days = -5.0; expected a positive"),
    ({"bin_days": float("inf")}, "bin_days = inf; expected a positive"),
    ({"window": "11-30:05-01"}, "composite: season window '11-30:05-01' crosses the end"),
    ({"window_bins": [24, 40]}, r"has bins \[24, 43\] but the recipe says window_bins \[24, 40\]"),
])
def test_a_tampered_recipe_is_one_error(cell, tmp_path, changes, message):
    tampered = _tampered(cell, tmp_path, **changes)
    if changes.get("model_file") == "../outside/model":
        (tmp_path / "outside").mkdir()
        (tmp_path / "outside" / "model").write_bytes((cell / "model").read_bytes())  # it exists: still refused
    with pytest.raises(CropGlobeError, match=message):
        load_recipe(tampered)
