"""The shipped experiment specs are valid, and a CropGlobe-release-layout study runs end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cropglobe import experiment, samples, taxonomy
from cropglobe.sources import simulate
from cropglobe.sources.readers import read_cropglobe_npz
from cropglobe.temporal import composite
from cropglobe.temporal.settings import CompositeSettings

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*/*.yaml"))
SPECS = [p for p in CONFIGS if p.parent.name in ("demo", "paper", "realdata")]


@pytest.mark.parametrize("path", SPECS, ids=[f"{p.parent.name}/{p.name}" for p in SPECS])
def test_shipped_specs_are_valid(path):
    spec = experiment.load_spec(path)
    experiment.data.check_cells(spec.cell_list())  # names exist and features fit the models
    assert spec.cell_list()


def _release_file(tmp_path: Path, iso: str) -> Path:
    """Write a simulated country as ``median_S2_{ISO3}_month1-12_day5.npz`` in the release layout."""
    obs = simulate.simulate([iso], samples_per_class=8, seed=4)
    comp = composite.composite(obs, CompositeSettings(interval=5, window="05-01:11-30", align="hemisphere"))
    lbl = np.array([taxonomy.CLASSES.index(c) for c in comp["label"].values])
    fea = comp["reflectance"].values.reshape(comp.sizes["sample"], -1)  # flattened, band-major
    path = tmp_path / f"median_S2_{iso}_month1-12_day5.npz"
    np.savez(path, fea=fea, lbl=lbl)
    return path


def test_release_layout_study_with_season_window(tmp_path):
    paths = []
    for iso in ("FRA", "ARG"):
        ds = read_cropglobe_npz(_release_file(tmp_path, iso), year=2023)
        paths.append(str(samples.save(ds, tmp_path / f"{iso}.zarr")))
    spec = experiment.parse_spec(
        {
            "name": "release",
            "data": {"path": paths},
            "composite": None,
            "season_window": "05-01:11-30",
            "sources": ["FRA"],
            "targets": ["ARG"],
            "cells": [{"feature": "median1d", "model": "rf"}, {"feature": "harmonic", "model": "lightgbm"}],
            "model_options": {"rf": {"n_estimators": 30}, "lightgbm": {"n_estimators": 30, "min_child_samples": 2}},
            "remaps": "paper",
        }
    )
    prepared = experiment.prepare_study(spec)
    assert prepared.window == (24, 43) and prepared.full.sizes["time"] == 73
    results = experiment.run(spec, tmp_path / "run", progress=False)
    assert set(results["target"]) == {"FRA", "ARG"}
    in_region = results[results["target"] == "FRA"]
    assert (in_region["oa"] > 0.5).all()  # well above the 1/7 chance level on simulated data
