"""Writing an adapted copy of a cell (mirrors src/cropglobe/experiment/adapt_cell.py); SIMULATED data.

Self-training of the tiny random-forest run of tests/experiment/conftest.py and the errors; AdaBN of a
CropNet cell against the runner's is checked in tests/experiment/test_adapt.py.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from cropglobe import samples
from cropglobe.cells.cell import Cell
from cropglobe.errors import CropGlobeError
from cropglobe.experiment.adapt_cell import adapt_cell

CELL = "FRA__harmonic__rf__none__s0"


@pytest.fixture(scope="module")
def bel(tmp_path_factory):
    """Unlabelled-in-spirit BEL samples (labels are present but never read), as a store."""
    from cropglobe.sources import simulate

    path = tmp_path_factory.mktemp("bel") / "bel.zarr"
    samples.save(simulate.simulate(["BEL"], samples_per_class=6, seed=9), path)
    return path


def test_selftrain_writes_a_cell_for_map_and_predict(rf_run, bel, tmp_path):
    cell_dir = rf_run / "cells" / CELL
    info = adapt_cell(cell_dir, bel, tmp_path / "adapted", method="selftrain")
    out = tmp_path / "adapted"
    assert info["method"] == "selftrain" and info["labels_used"] is False and info["n_samples"] > 2
    assert json.loads((out / "adaptation.json").read_text(encoding="utf-8")) == info
    assert (out / "recipe.json").read_text(encoding="utf-8") == (cell_dir / "recipe.json").read_text(encoding="utf-8")
    adapted, original = Cell.load(out), Cell.load(cell_dir)
    ds = samples.load(bel)
    from cropglobe.cells.inputs import composite_like_training

    x, keep = original.inputs(composite_like_training(ds, original.recipe, None, where="bel"))
    assert keep.size == info["n_samples"]
    assert not np.array_equal(adapted.predict_proba(x), original.predict_proba(x))  # the model changed
    again = adapt_cell(cell_dir, bel, tmp_path / "again", method="selftrain")  # seeded: the same cell again
    np.testing.assert_array_equal(Cell.load(tmp_path / "again").predict_proba(x), adapted.predict_proba(x))
    assert {k: v for k, v in again.items() if k != "samples"} == {k: v for k, v in info.items() if k != "samples"}


def test_adapt_cell_errors(rf_run, bel, tmp_path):
    cell_dir = rf_run / "cells" / CELL
    with pytest.raises(CropGlobeError, match="--method 'tent': expected adabn or selftrain"):
        adapt_cell(cell_dir, bel, tmp_path / "a", method="tent")
    with pytest.raises(CropGlobeError, match="'rf' is a tabular model; AdaBN needs a torch model"):
        adapt_cell(cell_dir, bel, tmp_path / "b")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(CropGlobeError, match="adapted cell"):
        adapt_cell(cell_dir, bel, busy, method="selftrain")
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]
    alone = tmp_path / "alone"  # a copy of the cell outside its run: selftrain needs the run's source samples
    shutil.copytree(cell_dir, alone)
    with pytest.raises(CropGlobeError, match="selftrain needs the cell's transfer run"):
        adapt_cell(alone, bel, tmp_path / "c", method="selftrain")
    assert not (tmp_path / "c").exists()
