"""An experiment config with ``feature: emit`` runs through the transfer runner on generated EMIT data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cropglobe import samples
from cropglobe.sources.emit import sample_points

from . import data
from .conftest import points_table


@pytest.fixture()
def emit_zarr(tmp_path):
    """Three acquisitions (June-August) of two 'countries' sharing the generated swath."""
    files = [data.write_granule(tmp_path / f"g{i}.nc", data.make_scene(brightness=b, fill_pixels=()), time=t)
             for i, (b, t) in enumerate([(0.95, "2023-06-05T10:00:00Z"), (1.0, "2023-07-10T10:00:00Z"),
                                         (1.05, "2023-08-14T10:00:00Z")])]
    cells = [(r, c) for r in range(1, data.NY) for c in range(1, data.NX)]
    tables = []
    for country in ("FRA", "BEL"):
        t = points_table(cells, labels=["corn" if c < 4 else "wheat" for _, c in cells], country=country)
        t["sample_id"] = country + "_" + t["sample_id"]
        tables.append(t)
    ds = sample_points(files, pd.concat(tables, ignore_index=True))
    return samples.save(ds, tmp_path / "emit.zarr")


def test_transfer_config_with_feature_emit_runs(tmp_path, emit_zarr):
    experiment = pytest.importorskip("cropglobe.experiment.runner")
    from cropglobe.experiment.study import parse_spec

    spec = parse_spec({
        "name": "emit-generated",
        "data": {"path": str(emit_zarr)},
        "composite": {"interval": 5, "window": "06-05:08-14", "align": "none", "clear_threshold": 0.5},
        "sources": ["FRA"], "targets": ["BEL"], "in_region_fraction": 0.2,
        "cells": [{"feature": "emit", "model": "rf"}],
        "model_options": {"rf": {"n_estimators": 20}},
        "feature_options": {"emit": {"continuum": True}},
    })
    results = experiment.run(spec, tmp_path / "run", progress=False)
    assert set(results["feature"]) == {"emit"} and "BEL" in set(results["target"])
    assert np.isfinite(results["oa"]).all()
    # the two classes differ in their spectra (swath halves), so transfer is far above chance (0.5)
    assert float(results.loc[results["target"] == "BEL", "oa"].iloc[0]) > 0.7
