"""Bayesian smoothing of probability cubes (sits_smooth's method) on a SIMULATED cube with known noise."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.mapping.smooth import bayes_smooth


def _simulated_cube(noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """SIMULATED: a 4-class map of 16 x 16 fields on 64 x 64 pixels; probabilities = softmax(2 * truth + noise)."""
    rng = np.random.default_rng(seed)
    fields = rng.integers(0, 4, (4, 4))
    truth = np.kron(fields, np.ones((16, 16), dtype=np.int64))
    logits = 2.0 * np.eye(4)[truth].transpose(2, 0, 1) + rng.normal(0, noise, (4, 64, 64))
    proba = np.exp(logits) / np.exp(logits).sum(axis=0)
    return proba, truth


def test_smoothing_removes_noise_and_keeps_fields():
    proba, truth = _simulated_cube(noise=1.5)
    raw = (proba.argmax(0) == truth).mean()
    smoothed = bayes_smooth(proba)
    after = (smoothed.argmax(0) == truth).mean()
    assert 0.5 < raw < 0.85  # the noise flips many pixels
    assert after > 0.97 and after > raw + 0.15
    edges = np.zeros_like(truth, dtype=bool)  # pixels next to a field of another class (left or above)
    edges[:, 1:] |= truth[:, 1:] != truth[:, :-1]
    edges[1:] |= truth[1:] != truth[:-1]
    raw_edges = (proba.argmax(0)[edges] == truth[edges]).mean()
    assert (smoothed.argmax(0)[edges] == truth[edges]).mean() > raw_edges + 0.1  # better on boundaries too
    np.testing.assert_allclose(smoothed.sum(axis=0), 1, atol=1e-5)


def test_more_smoothness_smooths_more():
    proba, truth = _simulated_cube(noise=2.0, seed=1)
    light = (bayes_smooth(proba, smoothness=1).argmax(0) == truth).mean()
    strong = (bayes_smooth(proba, smoothness=50).argmax(0) == truth).mean()
    assert strong > light


def test_a_homogeneous_cube_is_unchanged_and_nodata_stays_nodata():
    proba = np.broadcast_to(np.array([0.7, 0.2, 0.1])[:, None, None], (3, 10, 12)).copy()
    proba[:, 4, 5] = np.nan
    out = bayes_smooth(proba, window=5)
    assert np.isnan(out[:, 4, 5]).all()
    ok = ~np.isnan(out[0])
    np.testing.assert_allclose(out[:, ok], proba[:, ok], atol=1e-6)


def test_blocks_do_not_change_the_result():
    proba, _ = _simulated_cube(noise=1.0, seed=2)
    np.testing.assert_allclose(bayes_smooth(proba, block_rows=7), bayes_smooth(proba, block_rows=64), rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{"window": 4}, {"window": 1}, {"neigh_fraction": 0}, {"smoothness": -1},
                                    {"smoothness": [1.0, 2.0]}])
def test_bad_settings_are_one_error(kwargs):
    with pytest.raises(CropGlobeError):
        bayes_smooth(np.full((3, 5, 5), 1 / 3), **kwargs)
