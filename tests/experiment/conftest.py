"""A tiny finished transfer run (SIMULATED; random forests on harmonic features) and one of its cells as a CellJob.

Session-scoped: tests/experiment/test_fitting.py, test_scoring.py, test_posthoc.py and test_adapt_cell.py
share it (one run of a few seconds).
"""

from __future__ import annotations

from pathlib import Path

import pytest

RF_SPEC = {
    "name": "tiny-rf",
    "data": {"simulate": {"countries": ["FRA", "BEL", "ARG"], "samples_per_class": 8, "seed": 2}},
    "sources": ["FRA"],
    "targets": "all",
    "cells": [{"feature": "harmonic", "model": "rf"}],
    "seeds": [0, 1],
    "model_options": {"rf": {"n_estimators": 15}},
    "remaps": "paper",
}
RF_CELL = "FRA__harmonic__rf__none__s0"


@pytest.fixture(scope="session")
def rf_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The finished run folder (two seeds of one rf cell, FRA -> FRA hold-out, BEL, ARG)."""
    from cropglobe import experiment

    run_dir = tmp_path_factory.mktemp("rf_run") / "run"
    experiment.run(experiment.parse_spec(RF_SPEC), run_dir, progress=False)
    return run_dir


@pytest.fixture(scope="session")
def rf_job(rf_run: Path):
    """The run's seed-0 cell as a :class:`~cropglobe.experiment.job.CellJob` (its split read back from the run)."""
    from cropglobe.cells.run_folder import RunFolder
    from cropglobe.experiment.data import prepare_study
    from cropglobe.experiment.job import CellJob, FeatureCache
    from cropglobe.experiment.posthoc import split_parts

    spec = RunFolder(rf_run).load_spec()
    prepared = prepare_study(spec)
    index = {s: i for i, s in enumerate(prepared.full["sample_id"].values.astype(str))}
    parts = split_parts(rf_run, ["FRA"], 0, "", index)
    return CellJob(prepared, spec, FeatureCache(prepared, spec.feature_options), ["FRA"], spec.cells[0], 0, parts)
