"""One study cell as one object (mirrors src/cropglobe/experiment/job.py); SIMULATED data.

The seed-0 random-forest cell of the tiny run of tests/experiment/conftest.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cropglobe.experiment.job import FeatureCache


def test_the_jobs_answers(rf_job):
    job = rf_job
    assert job.source == "FRA" and job.classes == list(job.prepared.classes)
    assert job.bands == [str(b) for b in job.prepared.full["band"].values]
    assert job.methods == ["none"] and job.max_shift_days == 60.0  # no adaptation block
    assert job.model_options == {"n_estimators": 15}
    assert not job.trains_on_series  # a random forest trains on the family's features
    np.testing.assert_array_equal(job.training_data(), job.cache.features("harmonic"))
    train, val, test = (set(job.parts[k].tolist()) for k in ("train", "val", "test"))
    assert not (train & val or train & test or val & test)
    assert train | val | test == set(job.prepared.indices("FRA").tolist())


def test_targets_are_the_hold_out_then_the_other_units(rf_job):
    targets = rf_job.targets()
    assert [t for t, _ in targets][0] == "FRA"
    assert sorted(t for t, _ in targets[1:]) == ["ARG", "BEL"]
    np.testing.assert_array_equal(targets[0][1], rf_job.parts["test"])
    without_test = dataclasses.replace(rf_job, parts={k: v for k, v in rf_job.parts.items() if k != "test"})
    assert "FRA" not in [t for t, _ in without_test.targets()]


def test_feature_cache_computes_each_family_once(rf_job):
    cache = FeatureCache(rf_job.prepared, {})
    first = cache.features("harmonic")
    assert cache.features("harmonic") is first  # cached
    series = cache.full_series()
    assert series.dtype == np.float32 and not np.isnan(series).any()
    assert series.shape == rf_job.prepared.full["reflectance"].shape
    np.testing.assert_array_equal(cache.labels, rf_job.labels)
