"""The cascade's margin chosen for a wanted agreement with the teacher (mapping/cascade.py)."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import cascade


def _proba(rows):
    return np.asarray(rows, dtype=np.float32)


def test_calibrate_picks_the_smallest_margin_that_reaches_the_agreement():
    # 10 pixels: the student disagrees with the teacher on three, with margins 0.005, 0.04 and 0.4
    student = _proba([[0.9, 0.1]] * 7 + [[0.5025, 0.4975], [0.52, 0.48], [0.7, 0.3]])
    teacher = _proba([[1.0, 0.0]] * 7 + [[0.0, 1.0]] * 3)
    got = cascade.calibrate(student, teacher, 0.8)
    assert (got.margin, got.pixels, got.student_agreement) == (0.01, 10, 0.7)  # 0.005 < 0.01: one deferred
    assert got.agreement == pytest.approx(0.8) and got.deferred_share == pytest.approx(0.1)
    assert cascade.calibrate(student, teacher, 0.9).margin == 0.05  # 0.04 < 0.05 as well
    assert cascade.calibrate(student, teacher, 0.7).margin == 0.0  # the student alone
    whole = cascade.calibrate(student, teacher, 1.0)  # the 0.4-margin pixel needs 0.5
    assert whole.margin == 0.5 and whole.agreement == 1.0
    assert whole.record()["deferred_share"] == pytest.approx(0.3)


def test_calibrate_gives_the_largest_margin_when_none_is_enough():
    student = _proba([[1.0, 0.0], [0.9, 0.1]])  # margin 1.0: not below any margin tried
    teacher = _proba([[0.0, 1.0], [0.9, 0.1]])
    got = cascade.calibrate(student, teacher, 1.0)
    assert got.margin == cascade.MARGINS[-1] and got.agreement == 0.5 and got.deferred_share == 0.5


def test_bad_agreement_and_shapes_fail_with_one_line():
    p = _proba([[0.6, 0.4]])
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(CropGlobeError, match=f"cascade agreement {bad}: expected .* in \\(0, 1\\]"):
            cascade.calibrate(p, p, bad)
    with pytest.raises(CropGlobeError, match="expected the same \\(N, C\\)"):
        cascade.calibrate(p, _proba([[0.6, 0.3, 0.1]]), 0.9)
    with pytest.raises(CropGlobeError, match="expected the same"):
        cascade.calibrate(p[:0], p[:0], 0.9)


def test_split_holdout_holds_out_a_fifth_disjoint_and_seeded():
    idx = np.arange(100, 200)
    fit, held = cascade.split_holdout(idx, seed=3)
    assert len(held) == 20 and len(fit) == 80
    assert not np.intersect1d(fit, held).size and np.array_equal(np.sort(np.concatenate([fit, held])), idx)
    assert np.all(np.diff(fit) > 0) and np.all(np.diff(held) > 0)
    again, _ = cascade.split_holdout(idx, seed=3)
    other, _ = cascade.split_holdout(idx, seed=4)
    assert np.array_equal(fit, again) and not np.array_equal(fit, other)
    few, one = cascade.split_holdout(np.arange(3), seed=0)
    assert len(one) == 1 and len(few) == 2
    with pytest.raises(CropGlobeError, match="expected at least 2"):
        cascade.split_holdout(np.arange(1), seed=0)
