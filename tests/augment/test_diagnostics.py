"""Augmentation diagnostics: sizes of the moves, window offset bias, curvature added by warping."""

from __future__ import annotations

import numpy as np

from cropglobe.augment import diagnostics


def _piecewise_linear(n: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    knots = np.arange(0, 73, 6)  # "monthly" values re-gridded to 73 bins by linear interpolation
    vals = rng.uniform(0.1, 0.5, size=(n, 2, knots.size))
    x = np.stack([[np.interp(np.arange(73), knots, v) for v in s] for s in vals]).astype(np.float32)
    labels = np.array(["corn", "wheat"] * (n // 2))
    x[labels == "wheat"] += 0.05
    return x, labels, np.array(["AAA"] * n)


def test_identity_moves_nothing_and_scale_paper_is_biased_earlier() -> None:
    x, labels, groups = _piecewise_linear()
    t = diagnostics.measure(x, labels, groups, (20, 31), 5.0, ["none", "scale-paper", "scale-sym30d"], seed=1)
    t = t.set_index("augmentation")
    assert t.loc["none", "rel_change"] == 0 and t.loc["none", "offset_days"] == 0
    # a, b ~ U[-30, 10] days with p = 0.5: the window centre moves by -5 days on average
    assert -7 < t.loc["scale-paper", "offset_days"] < -3
    assert abs(t.loc["scale-sym30d", "offset_days"]) < 2.5
    assert 0.4 < t.loc["scale-paper", "changed"] < 0.6


def test_warping_adds_curvature_to_piecewise_linear_series() -> None:
    x, labels, groups = _piecewise_linear()
    flat = diagnostics.curvature_by_cadence(x, groups, (20, 31))
    assert flat["flat_share"].iloc[0] > 0.6
    t = diagnostics.measure(x, labels, groups, (20, 31), 5.0, {"w": {"warp": {"sigma": 0.2, "p": 1.0}}}).iloc[0]
    assert t["curvature"] > 1.1 and t["offset_days"] == 0 and t["changed"] == 1.0
    assert t["vs_class_gap"] > 0.5  # a 20 % warp moves samples by more than half the 0.05 class gap
