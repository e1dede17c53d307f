"""Tests for transfer runs: outputs, scenario typing, resume after a crash, and input errors."""

from __future__ import annotations

import json

import lightning as L
import pandas as pd
import pytest

from cropglobe import experiment
from cropglobe.errors import CropGlobeError

SPEC = {
    "name": "tiny",
    "data": {"simulate": {"countries": ["FRA", "BEL", "ARG"], "samples_per_class": 8, "seed": 2}},
    "sources": ["FRA"],
    "targets": "all",
    "cells": [
        {"feature": "median2d", "model": "cropnet-lite", "augmentation": "paper"},
        {"feature": "harmonic", "model": "rf"},
    ],
    "seeds": [0],
    "train": {"epochs": 2, "batch_size": 16, "lr": 0.001},
    "model_options": {"rf": {"n_estimators": 20}},
    "remaps": "paper",
}
METRICS = ["oa", "macro_f1", "weighted_f1", "kappa", "n", "confusion", "best_epoch"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "a"
    results = experiment.run(experiment.parse_spec(SPEC), run_dir, progress=False)
    return run_dir, results


def test_outputs_and_scenarios(finished):
    run_dir, results = finished
    assert len(results) == 2 * 3  # cells x (in-region + BEL + ARG)
    kinds = dict(zip(results["target"], results["scenario"], strict=True))
    assert kinds == {"FRA": "in-region", "BEL": "cross-country", "ARG": "cross-hemisphere"}
    for name in ("config.yaml", "results.parquet", "report.md", "signatures.npz", "figures/transfer_matrix.png",
                 "figures/features_by_scenario.png", "figures/confusion.png", "figures/signatures.png"):
        assert (run_dir / name).exists(), name
    manifest = json.loads((run_dir / "splits" / "FRA_seed0.json").read_text())
    parts = [set(manifest[k]) for k in ("train", "val", "test")]
    assert all(not (a & b) for i, a in enumerate(parts) for b in parts[i + 1:])
    assert all(s.startswith("FRA-") for p in parts for s in p)
    report = (run_dir / "report.md").read_text()
    assert "SIMULATED DATA" in report and "Cross hemisphere" in report
    assert pd.read_parquet(run_dir / "results.parquet")["simulated"].all()
    assert (run_dir / "cells" / "FRA__harmonic__rf__none__s0" / "model").exists()
    # ARG keeps no wheat: its reference labels never contain wheat
    arg = results[results["target"] == "ARG"].iloc[0]
    assert "wheat" not in arg["classes"]



def test_every_torch_cell_keeps_its_training_log(finished):
    """Each torch cell folder holds Lightning's CSV log of its fit (issue 27); a tabular cell has none."""
    run_dir, _ = finished
    torch_log = run_dir / "cells" / "FRA__median2d__cropnet-lite__paper__s0" / "logs" / "version_0" / "metrics.csv"
    assert torch_log.is_file()
    assert "epoch" in torch_log.read_text(encoding="utf-8").splitlines()[0]
    assert not (run_dir / "cells" / "FRA__harmonic__rf__none__s0" / "logs").exists()

class _Crash(Exception):
    pass


class _CrashOnce(L.Callback):
    def on_train_epoch_end(self, trainer, module):
        if trainer.current_epoch == 1:  # after epoch 0's checkpoint, before epoch 1's
            raise _Crash("simulated crash in the middle of a torch cell")


def test_interrupted_run_resumes_to_identical_results(finished, tmp_path):
    _, reference = finished
    run_dir = tmp_path / "b"
    spec = experiment.parse_spec(SPEC)
    with pytest.raises(_Crash):
        experiment.run(spec, run_dir, callbacks=[_CrashOnce()], progress=False)
    assert (run_dir / "cells" / "FRA__median2d__cropnet-lite__paper__s0" / "checkpoints" / "last.ckpt").exists()
    assert not (run_dir / "results.parquet").exists()
    with pytest.raises(CropGlobeError, match="already holds a run"):
        experiment.run(spec, run_dir, progress=False)
    resumed = experiment.run(spec, run_dir, resume=True, progress=False)
    pd.testing.assert_frame_equal(resumed[METRICS].reset_index(drop=True), reference[METRICS].reset_index(drop=True))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sources": ["USA"]}, "source country USA is not in the data"),
        ({"targets": ["CHN"]}, "target country CHN is not in the data"),
        ({"remaps": {"ARG": {"keep": ["corn", "barley"]}}}, "'barley'"),
        ({"cells": [{"feature": "harmonic", "model": "cropnet"}]}, "takes matrix inputs but feature 'harmonic'"),
        ({"cells": [{"feature": "median2d", "model": "rf"}]}, "takes vector inputs but feature 'median2d'"),
        ({"cells": [{"feature": "harmonic", "model": "rf", "augmentation": "paper"}]}, "applies to the median"),
        ({"cells": [{"feature": "ndvi-magic", "model": "rf"}]}, "ndvi-magic"),
        ({"targets": [], "in_region_fraction": 0}, "no target to evaluate"),
        ({"data": {"path": "/nonexistent.zarr"}}, "no such SampleSet"),
    ],
)
def test_bad_configs_fail_before_training(tmp_path, change, message):
    with pytest.raises(CropGlobeError, match=message):
        experiment.run(experiment.parse_spec({**SPEC, **change}), tmp_path / "r", progress=False)
    assert not (tmp_path / "r" / "cells").exists()


def test_report_rebuilds_from_results(finished):
    from typer.testing import CliRunner

    from cropglobe.cli import app

    run_dir, _ = finished
    (run_dir / "report.md").unlink()
    (run_dir / "figures" / "transfer_matrix.png").unlink()
    result = CliRunner().invoke(app, ["report", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert (run_dir / "report.md").exists() and (run_dir / "figures" / "transfer_matrix.png").exists()
    bad = CliRunner().invoke(app, ["report", str(run_dir / "cells")])
    assert bad.exit_code != 0


def test_one_seed_study_with_ensemble_has_no_ensemble_rows(tmp_path):
    """Issue 27: ``ensemble: true`` with one seed made duplicate rows, "Seeds: [-1, 0]" and "± 0.000"."""
    spec = {**SPEC, "data": {"simulate": {"countries": ["FRA", "BEL"], "samples_per_class": 6, "seed": 2}},
            "cells": [{"feature": "harmonic", "model": "rf"}], "model_options": {"rf": {"n_estimators": 5}},
            "adaptation": {"methods": ["prior"], "ensemble": True}}
    results = experiment.run(experiment.parse_spec(spec), tmp_path / "run", progress=False)
    assert (results["seed"] >= 0).all() and not results["adaptation"].str.contains("ensemble").any()
    text = (tmp_path / "run" / "report.md").read_text()
    assert "Seeds: [0];" in text and "-1" not in text.split("## ")[0]
    assert "±" not in text and "ensemble" not in text
