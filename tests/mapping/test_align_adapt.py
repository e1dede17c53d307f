"""``predict`` / ``map`` with ``adapt="align"``: the season offset found on unlabelled samples (SIMULATED DATA)."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe import taxonomy
from cropglobe.errors import CropGlobeError
from cropglobe.mapping.predict_table import PredictOptions, predict_samples
from cropglobe.sources import simulate

from .conftest import train_cell


@pytest.fixture(scope="module")
def median_cell(tmp_path_factory):
    return train_cell(tmp_path_factory.mktemp("align") / "FRA__median1d__lightgbm__none__s0", feature="median1d")


def _later(days: int, seed: int = 21):
    """SIMULATED FRA samples whose whole season comes ``days`` later (every observation date moved)."""
    obs = simulate.simulate(["FRA"], samples_per_class=25, seed=seed)
    return obs.assign_coords(time=obs["time"].values + np.timedelta64(days, "D"))


def test_align_finds_a_later_season_and_records_it(median_cell):
    ds = _later(30)
    plain = predict_samples(median_cell, ds, options=PredictOptions(remaps="none"))
    moved = predict_samples(median_cell, ds, options=PredictOptions(remaps="none", adapt="align"))
    found = (moved.alignment["align_start_days"] + moved.alignment["align_end_days"]) / 2
    assert 10.0 <= found <= 50.0
    assert (moved.table["align_start_days"] == moved.alignment["align_start_days"]).all()
    assert moved.metrics["alignment"] == moved.alignment
    assert moved.metrics["targets"]["FRA"]["macro_f1"] > plain.metrics["targets"]["FRA"]["macro_f1"]


def test_align_reads_no_label(median_cell):
    ds = _later(20)
    garbage = ds.assign_coords(label=("sample", np.random.default_rng(0).choice(taxonomy.CLASSES,
                                                                                 ds.sizes["sample"])))
    a = predict_samples(median_cell, ds, options=PredictOptions(remaps="none", adapt="align"))
    b = predict_samples(median_cell, garbage, options=PredictOptions(remaps="none", adapt="align"))
    assert a.alignment == b.alignment
    cols = [c for c in a.table.columns if c.startswith("prob_")]
    np.testing.assert_array_equal(a.table[cols].to_numpy(), b.table[cols].to_numpy())


def test_align_needs_a_median_feature(cell):
    with pytest.raises(CropGlobeError, match="align moves the season window"):
        predict_samples(cell, simulate.simulate(["FRA"], samples_per_class=3, seed=1),
                        options=PredictOptions(remaps="none", adapt="align"))


def test_predictions_carry_and_score_the_region_named_at_import(median_cell):
    from cropglobe import samples

    ds = samples.with_region(simulate.simulate(["FRA"], samples_per_class=5, seed=8), "sw-france")
    result = predict_samples(median_cell, ds, options=PredictOptions(remaps="none"))
    assert set(result.table["region"]) == {"sw-france"}
    assert result.metrics["regions"]["sw-france"]["macro_f1"] == result.metrics["targets"]["FRA"]["macro_f1"]
