"""Scoring a study cell on its targets (mirrors src/cropglobe/experiment/scoring.py); SIMULATED data.

The tiny run of tests/experiment/conftest.py: its saved cells scored again here must give the run's rows.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cropglobe.cells.cell import Cell
from cropglobe.experiment import scoring

CELL = "FRA__harmonic__rf__none__s0"


def _one_hot(prepared, idx):
    truth = prepared.full["label"].values[idx].astype(str)
    proba = np.zeros((len(idx), len(prepared.classes)))
    proba[np.arange(len(idx)), [list(prepared.classes).index(t) for t in truth]] = 1.0
    return proba


def test_evaluate_scores_after_the_targets_remap(rf_job):
    prepared = rf_job.prepared
    idx = prepared.indices("BEL")
    perfect = scoring.evaluate(prepared, "BEL", idx, _one_hot(prepared, idx))
    assert perfect.oa == 1.0 and perfect.macro_f1 == 1.0 and perfect.n == len(idx)
    wrong = np.roll(_one_hot(prepared, idx), 1, axis=1)  # every prediction another class
    assert scoring.evaluate(prepared, "BEL", idx, wrong).oa < 0.5


def test_scenario_of_a_source_and_each_target(rf_job):
    p = rf_job.prepared
    assert scoring.scenario(p, ["FRA"], "FRA") == "in-region"
    assert scoring.scenario(p, ["FRA"], "BEL") == "cross-country"
    assert scoring.scenario(p, ["FRA"], "ARG") == "cross-hemisphere"


def test_score_targets_gives_the_runs_rows(rf_job, rf_run, tmp_path):
    cell = Cell.load(rf_run / "cells" / CELL)
    got = list(scoring.score_targets(rf_job, cell, ["none"], None, tmp_path))
    assert [(t, m) for t, m, *_ in got] == [("FRA", "none"), ("ARG", "none"), ("BEL", "none")]  # hold-out first
    run = pd.read_parquet(rf_run / "results.parquet")
    run = run[(run["seed"] == 0) & (run["adaptation"] == "none")].set_index("target")
    for target, _, proba, row, _ in got:
        assert proba.shape[1] == len(rf_job.classes)
        for key in ("scenario", "oa", "macro_f1", "kappa", "n", "confusion", "classes"):
            assert row[key] == run.loc[target, key], (target, key)
        assert row["seed"] == 0 and row["source"] == "FRA" and row["model"] == "rf"


def test_method_probas_skips_methods_that_do_not_apply(rf_job, rf_run, tmp_path):
    cell = Cell.load(rf_run / "cells" / CELL)
    idx = rf_job.prepared.indices("BEL")
    methods = [m for m, *_ in scoring.method_probas(rf_job, cell, idx, ["none", "adabn", "align"], None, tmp_path)]
    assert methods == ["none"]  # a random forest has no BatchNorm and no season window to move


def test_ensemble_rows_score_the_mean_of_the_seeds(rf_job, rf_run, tmp_path):
    members = []
    for seed in (0, 1):
        cell = Cell.load(rf_run / "cells" / f"FRA__harmonic__rf__none__s{seed}")
        members.append({f"{t}|{m}": p for t, m, p, *_ in scoring.score_targets(rf_job, cell, ["none"], None,
                                                                                 tmp_path)})
    rows = scoring.ensemble_rows(rf_job, members, None)
    assert sorted(r["target"] for r in rows) == ["ARG", "BEL"]  # the in-region hold-out depends on the seed
    rows = sorted(rows, key=lambda r: r["target"] != "BEL")
    assert all(r["seed"] == -1 and r["ensemble_seeds"] == "0,1" for r in rows)
    bel = rf_job.prepared.indices("BEL")
    mean = (members[0]["BEL|none"] + members[1]["BEL|none"]) / 2
    assert rows[0]["macro_f1"] == scoring.evaluate(rf_job.prepared, "BEL", bel, mean).macro_f1
    assert json.loads(rows[0]["confusion"]) == scoring.evaluate(rf_job.prepared, "BEL", bel, mean).confusion
    assert scoring.ensemble_rows(rf_job, [], None) == []


@pytest.mark.parametrize("absent", ["keep", "other"])
def test_source_classes_follow_absent_classes(rf_job, absent):
    job = rf_job.__class__(**{**rf_job.__dict__, "spec": rf_job.spec.model_copy(update={"absent_classes": absent})})
    assert (job.source_classes() is None) == (absent == "keep")
