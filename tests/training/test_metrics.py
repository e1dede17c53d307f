"""Tests for transfer metrics (scikit-learn backed)."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.training import metrics


def test_scores_on_a_known_case():
    y = np.array([0, 0, 1, 6, 6])
    p = np.array([0, 1, 1, 6, 0])
    s = metrics.evaluate(y, p)
    assert s.oa == pytest.approx(0.6)
    # macro-F1 over present classes only: corn 0.5, soybean 2/3, other 2/3
    assert s.macro_f1 == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)
    assert s.classes_present == ["corn", "soybean", "other"]
    assert s.confusion[6][0] == 1 and s.confusion[0][1] == 1
    assert s.per_class["soybean"]["recall"] == 1.0
    assert 0 < s.kappa < 1


def test_perfect_and_single_class_cases():
    y = np.array([3, 3, 3])
    assert metrics.evaluate(y, y).kappa == 1.0
    assert metrics.evaluate(y, np.array([3, 3, 0])).oa == pytest.approx(2 / 3)
    assert metrics.macro_f1(y, y) == 1.0
