"""Tests for disjoint-by-construction splits and manifests."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.training import splits


def test_stratified_holdout_is_disjoint_and_keeps_proportions():
    labels = np.repeat(["corn", "wheat", "other"], [50, 30, 20])
    kept, held = splits.holdout(labels, 0.2, seed=0)
    assert np.intersect1d(kept, held).size == 0 and kept.size + held.size == labels.size
    assert (labels[held] == "corn").sum() == 10 and (labels[held] == "wheat").sum() == 6


def test_spatial_holdout_keeps_blocks_whole():
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(0, 4, 400), rng.uniform(40, 44, 400)
    labels = rng.choice(["corn", "wheat"], 400)
    kept, held = splits.holdout(labels, 0.25, seed=1, method="spatial", lon=lon, lat=lat, block_deg=1.0)
    blocks = splits.spatial_blocks(lon, lat, 1.0)
    assert not set(blocks[kept]) & set(blocks[held])


def test_bad_split_arguments():
    labels = np.array(["corn"] * 10)
    with pytest.raises(CropGlobeError, match="fraction must be in"):
        splits.holdout(labels, 1.5, seed=0)
    with pytest.raises(CropGlobeError, match="unknown method"):
        splits.holdout(labels, 0.2, seed=0, method="temporal")
    with pytest.raises(CropGlobeError, match="one 1.0 degree block"):
        splits.holdout(labels, 0.2, 0, "spatial", np.zeros(10), np.zeros(10), 1.0)


def test_manifest(tmp_path):
    ids = np.array([f"s{i}" for i in range(6)])
    path = splits.write_manifest(tmp_path / "m.json", ids, {"train": np.array([0, 1, 2]), "val": np.array([3])},
                                 {"seed": 0})
    data = json.loads(path.read_text())
    assert data["train"] == ["s0", "s1", "s2"] and data["val"] == ["s3"] and data["info"]["seed"] == 0
    with pytest.raises(RuntimeError, match="overlap"):
        splits.write_manifest(tmp_path / "n.json", ids, {"a": np.array([0, 1]), "b": np.array([1])})


def test_kfold_covers_every_sample_once():
    labels = np.repeat(["corn", "wheat"], 25)
    folds = splits.kfold(labels, 5, seed=0)
    tests = np.concatenate([t for _, t in folds])
    assert sorted(tests.tolist()) == list(range(50))
