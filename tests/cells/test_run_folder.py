"""RunFolder: the run layout's names (cell keys, split tags) and finding a cell's run from its folder."""

from __future__ import annotations

import yaml

from cropglobe.cells.run_folder import RunFolder
from cropglobe.study.spec import CellSpec, parse_spec

SPEC = {"data": {"simulate": {"countries": ["FRA", "BEL"]}}, "sources": ["FRA:2022", "FRA+BEL"], "folds": 2,
        "seeds": [0, 3], "cells": [{"feature": "median1d", "model": "rf"},
                                   {"feature": "median2d", "model": "tempcnn", "augmentation": "paper", "copies": 2}]}


def test_names_of_cells_and_split_manifests(tmp_path):
    run = RunFolder(tmp_path)
    rf, aug = CellSpec(feature="median1d", model="rf"), CellSpec(feature="median2d", model="tempcnn",
                                                                 augmentation="paper", copies=2)
    assert run.cell_key(["FRA:2022"], rf, 0) == "FRA-2022__median1d__rf__none__s0"
    assert run.cell_key(["FRA", "BEL"], aug, 3, "f1") == "FRA+BEL__median2d__tempcnn__paperx2__s3_f1"
    assert run.cell_dir(["FRA"], rf, 1) == tmp_path / "cells" / "FRA__median1d__rf__none__s1"
    assert run.cell_name(aug) == "median2d__tempcnn__paperx2"
    assert run.split_tag(["FRA:2022"], 3) == "FRA-2022_seed3"
    assert run.split_path(["FRA"], 0, "f0") == tmp_path / "splits" / "FRA_seed0_f0.json"
    row = {"source": "FRA+BEL", "feature": "median2d", "model": "tempcnn", "augmentation": "paper", "copies": 2,
           "seed": 3}
    assert run.row_key(row) == "FRA+BEL__median2d__tempcnn__paperx2__s3"
    (tmp_path / "splits").mkdir()
    for name in ("FRA_seed0_f0", "FRA_seed0_f1", "BEL_seed0"):
        (tmp_path / "splits" / f"{name}.json").write_text("{}")
    assert run.folds(["FRA"], 0) == ["f0", "f1"] and run.folds(["BEL"], 0) == [""] and run.folds(["USA"], 0) == [""]


def test_a_cell_folder_finds_its_run(tmp_path):
    run = RunFolder(tmp_path / "run")
    cell_dir = run.cells_dir / "FRA+BEL__median2d__tempcnn__paperx2__s3_f1"
    cell_dir.mkdir(parents=True)
    assert RunFolder.of_cell(cell_dir) is None and not run.has_config()  # no config.yaml yet
    run.config_path.write_text(yaml.safe_dump(parse_spec(SPEC).model_dump(mode="json")))
    assert RunFolder.of_cell(cell_dir).path == run.path and RunFolder.of_cell(tmp_path / "run") is None
    found = run.find_cell(cell_dir)
    assert (found.group, found.seed, found.fold, found.cell.model, found.cell.copies) == (["FRA", "BEL"], 3, "f1",
                                                                                          "tempcnn", 2)
    assert run.cell_dir(found.group, found.cell, found.seed, found.fold) == cell_dir
    assert run.find_cell(run.cells_dir / "FRA__median1d__rf__none__s9") is None
