"""``cropglobe predict`` reads the SampleSet in blocks (issue 29, Medium 11): no block is larger than ``block``
samples, and the predictions equal those of the whole set in one piece (an all-cloudy block included).

SIMULATED samples (``cropglobe.sources.simulate``) and a tiny SIMULATED random-forest cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.reliability.cells import tiny_cell

from cropglobe import samples
from cropglobe.errors import CropGlobeError
from cropglobe.mapping import predict_stream
from cropglobe.mapping.predict_table import FEW_CLEAR, PREDICTED, PredictOptions, predict_file, predict_samples


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from cropglobe.sources import simulate

    tmp = tmp_path_factory.mktemp("blocks")
    ds = simulate.simulate(["FRA"], samples_per_class=4, seed=11)
    ds["clear"][:7] = 0.0  # the first block of 7 samples: nothing clear, composite keeps none of it
    return tiny_cell(tmp / "cell"), samples.save(ds, tmp / "obs.zarr"), ds


def _whole(cell, ds, **kw):
    return predict_samples(cell, ds, options=PredictOptions(remaps="none", **kw)).table


@pytest.mark.parametrize("adapt", ["none", "prior"])
def test_blocks_equal_the_whole_set_and_stay_small(setup, tmp_path, monkeypatch, adapt):
    cell, store, ds = setup
    seen: list[int] = []
    composite = predict_stream.composite_like_training

    def spy(part, *args):  # what is read and composited at once
        seen.append(int(part.sizes["sample"]))
        return composite(part, *args)

    monkeypatch.setattr(predict_stream, "composite_like_training", spy)
    res = predict_file(cell, store, tmp_path / "p.parquet", PredictOptions(remaps="none", block=7, adapt=adapt))
    assert seen == [7, 7, 7, 7]
    whole = _whole(cell, samples.load(store), adapt=adapt)
    pd.testing.assert_frame_equal(res.table, whole)
    assert (res.table["status"][:7] == FEW_CLEAR).all() and (res.table["status"][7:] == PREDICTED).all()
    assert pd.read_parquet(tmp_path / "p.parquet").drop(columns="geometry").shape == whole.shape


def test_a_set_where_no_block_keeps_a_sample_is_the_whole_sets_error(setup, tmp_path):
    cell, _, ds = setup
    cloudy = ds.copy(deep=True)
    cloudy["clear"][:] = 0.0
    store = samples.save(cloudy, tmp_path / "cloudy.zarr")
    with pytest.raises(CropGlobeError, match="composite: no clear observations"):
        predict_file(cell, store, tmp_path / "p.parquet", PredictOptions(block=5))
    assert not (tmp_path / "p.parquet").exists()


@pytest.mark.parametrize("block", [0, -3, True, 2.5])
def test_a_bad_block_is_one_error(setup, tmp_path, block):
    cell, store, _ = setup
    with pytest.raises(CropGlobeError, match="block"):
        predict_file(cell, store, tmp_path / "p.parquet", PredictOptions(block=block))


def test_duplicate_ids_across_blocks_are_refused(setup, tmp_path):
    cell, _, ds = setup
    twice = ds.copy(deep=True)
    ids = twice["sample_id"].values.astype(str).copy()
    ids[-1] = ids[0]  # in different blocks: each block alone is valid
    store = tmp_path / "dup.zarr"  # written past samples.save, which refuses duplicates
    twice.assign_coords(sample_id=("sample", ids)).to_zarr(store, zarr_format=2, consolidated=True,
                                                          write_empty_chunks=True)
    with pytest.raises(CropGlobeError, match="duplicate sample_id"):
        predict_file(cell, store, tmp_path / "p.parquet", PredictOptions(block=5))
    assert np.unique(ids).size == ids.size - 1
