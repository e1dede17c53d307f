"""``cropglobe predict --adapt align`` streams (issue 29, Medium 11): a first pass reads a seeded sample of at most
``search_samples`` samples block by block for the offset search, a second predicts block by block; no read
or composite is larger than ``block`` samples, and a set that fits one block, or the search sample, gives the
predictions and offsets of the whole set in one piece.

SIMULATED samples (``cropglobe.sources.simulate``, the season moved 30 days later) and a tiny SIMULATED
random-forest cell on ``median1d``.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from tests.reliability.cells import tiny_cell

from cropglobe import samples
from cropglobe.cells.cell import Cell
from cropglobe.mapping import predict_stream
from cropglobe.mapping.predict_table import FEW_CLEAR, PredictOptions, predict_file, predict_samples


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from cropglobe.sources import simulate

    tmp = tmp_path_factory.mktemp("align_blocks")
    ds = simulate.simulate(["FRA"], samples_per_class=4, seed=11)
    ds = ds.assign_coords(time=ds["time"].values + np.timedelta64(30, "D"))
    ds["clear"][:7] = 0.0  # the first block of 7: nothing clear, composite keeps none of it
    return tiny_cell(tmp / "cell", feature="median1d"), samples.save(ds, tmp / "obs.zarr")


@pytest.fixture
def seen(monkeypatch):
    """Sizes of what is read and composited at once, and of the series the offsets are searched on."""
    sizes: dict[str, list[int]] = {"composite": [], "search": []}
    composite, search = predict_stream.composite_like_training, Cell.search_alignment

    def spy_composite(part, *args):
        sizes["composite"].append(int(part.sizes["sample"]))
        return composite(part, *args)

    def spy_search(self, series, *args, **kw):
        sizes["search"].append(len(series))
        return search(self, series, *args, **kw)

    monkeypatch.setattr(predict_stream, "composite_like_training", spy_composite)
    monkeypatch.setattr(Cell, "search_alignment", spy_search)
    return sizes


def _whole(cell, store):
    return predict_samples(cell, samples.load(store), options=PredictOptions(remaps="none", adapt="align"))


def test_align_in_blocks_equals_the_whole_set_and_stays_small(setup, tmp_path, seen):
    cell, store = setup
    res = predict_file(cell, store, tmp_path / "p.parquet", PredictOptions(remaps="none", block=7, adapt="align"))
    assert seen["composite"] == [7, 7, 7, 7] * 2  # the search's pass, then the predictions'
    assert seen["search"] == [21]  # the 21 samples with inputs (fewer than search_samples: all of them)
    whole = _whole(cell, store)
    assert res.alignment == whole.alignment and res.alignment["align_start_days"] != 0.0
    pd.testing.assert_frame_equal(res.table, whole.table)
    assert (res.table["align_start_days"] == res.alignment["align_start_days"]).all()
    assert (res.table["status"][:7] == FEW_CLEAR).all()
    written = pd.read_parquet(tmp_path / "p.parquet")
    assert (written["align_end_days"] == res.alignment["align_end_days"]).all()


def test_align_on_a_set_in_one_block_is_the_whole_set(setup, tmp_path, seen):
    cell, store = setup
    res = predict_file(cell, store, tmp_path / "p.parquet", PredictOptions(remaps="none", block=1000, adapt="align"))
    assert seen["composite"] == [28, 28]  # one path: the search's pass, then the predictions'
    assert seen["search"] == [21]  # all the samples with inputs, as the whole set's search
    whole = _whole(cell, store)
    assert res.alignment == whole.alignment
    pd.testing.assert_frame_equal(res.table, whole.table)


def test_the_search_reads_a_bounded_sample(setup, tmp_path, seen, monkeypatch):
    from cropglobe.augment import align

    cell, store = setup
    monkeypatch.setattr(align, "AlignSettings", functools.partial(align.AlignSettings, search_samples=10))
    res = predict_file(cell, store, tmp_path / "p.parquet", PredictOptions(remaps="none", block=4, adapt="align"))
    first, second = seen["composite"][:-7], seen["composite"][-7:]
    assert second == [4] * 7 and max(first) <= 4 and sum(first) == 10  # 10 drawn, read 4 at a time
    assert seen["search"] and seen["search"][0] <= 10
    assert res.alignment is not None and (res.table["align_start_days"] == res.alignment["align_start_days"]).all()
    again = predict_file(cell, store, tmp_path / "q.parquet", PredictOptions(remaps="none", block=6, adapt="align"))
    assert again.alignment == res.alignment  # the drawn sample depends on the set, not on the block size
