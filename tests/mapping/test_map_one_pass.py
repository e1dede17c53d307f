"""``cropglobe map --member``: every tile is read and composited once, and every member runs on it (issue 26).

SIMULATED cube and cells (tests/mapping/conftest.py).
"""

from __future__ import annotations

import collections

import pytest

from cropglobe.mapping import MapOptions, make_map, predict
from cropglobe.mapping.cube import CubeSource
from cropglobe.models.tabular import TabularClassifier

from .conftest import train_cell


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """Two more 'seeds' of the harmonic LightGBM cell (other simulated draws)."""
    root = tmp_path_factory.mktemp("seeds")
    return [train_cell(root / f"FRA__harmonic__lightgbm__none__s{k}", seed=20 + k) for k in (1, 2)]


def _counted(monkeypatch):
    """Count the composite calls (window_block), the pixels composited and each model's predict calls."""
    calls: collections.Counter = collections.Counter()
    window_block = predict.window_block

    def counting_window_block(refl, *args, **kwargs):
        calls["composite"] += 1
        calls["composited_pixels"] += refl.shape[2]
        return window_block(refl, *args, **kwargs)

    proba = TabularClassifier.predict_proba

    def counting_proba(self, x, *args, **kwargs):
        calls[f"model {id(self)}"] += 1
        calls["model_pixels"] += len(x)
        return proba(self, x, *args, **kwargs)

    monkeypatch.setattr(predict, "window_block", counting_window_block)
    monkeypatch.setattr(TabularClassifier, "predict_proba", counting_proba)
    return calls


def test_members_share_one_read_and_composite_per_block(cell, seeds, cube_store, tmp_path, monkeypatch):
    calls = _counted(monkeypatch)
    make_map(cell, cube_store, tmp_path / "one.tif", MapOptions(tile=16, scheduler="synchronous"))
    single = dict(calls)
    calls.clear()
    make_map(cell, cube_store, tmp_path / "three.tif",
             MapOptions(tile=16, scheduler="synchronous", members=tuple(map(str, seeds))))
    ensemble = dict(calls)
    # the cube is composited as often, and over as many pixels, with three members as with one
    assert single["composite"] == ensemble["composite"] > 1
    assert single["composited_pixels"] == ensemble["composited_pixels"] == 32 * 32
    # one model in the single map; three in the ensemble, each called once per composited block
    single_models = [k for k in single if k.startswith("model ")]
    members = [k for k in ensemble if k.startswith("model ")]
    assert len(single_models) == 1 and len(members) == 3
    assert {ensemble[k] for k in members} == {single[single_models[0]]}
    assert ensemble["model_pixels"] == 3 * single["model_pixels"]


def test_members_share_one_read_per_tile(cell, seeds, cube_store, tmp_path, monkeypatch):
    reads: list[tuple[int, int, int, int]] = []
    read_raw = CubeSource.read_raw

    def counting(self, rows, cols, *args, **kwargs):
        reads.append((rows.start, rows.stop, cols.start, cols.stop))
        return read_raw(self, rows, cols, *args, **kwargs)

    monkeypatch.setattr(CubeSource, "read_raw", counting)
    make_map(cell, cube_store, tmp_path / "one.tif", MapOptions(tile=16, scheduler="synchronous"))
    single = sorted(reads)
    reads.clear()
    make_map(cell, cube_store, tmp_path / "three.tif",
             MapOptions(tile=16, scheduler="synchronous", members=tuple(map(str, seeds))))
    assert single and sorted(reads) == single  # the same strips, each read once
    assert len(set(single)) == len(single)
