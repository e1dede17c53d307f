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


def test_scores_over_a_legend_of_the_users_own():
    classes = ("corn", "cereal/wheat", "cereal/barley", "other")
    truth = np.array(["corn", "cereal/wheat", "cereal/barley", "other", "cereal/wheat"])
    pred = np.array(["corn", "cereal/barley", "cereal/barley", "other", "cereal/wheat"])
    s = metrics.score_names(truth, pred, classes)
    assert list(s.per_class) == list(classes) and np.asarray(s.confusion).shape == (4, 4)
    assert s.oa == pytest.approx(0.8)
    with pytest.raises(Exception, match="labels outside the legend: 'rice'"):
        metrics.score_names(np.array(["rice"]), np.array(["corn"]), classes)
    # rolled up to the first level, wheat read as barley is right: cereal is cereal
    top = metrics.score_at_depth(s.confusion, classes)
    assert list(top.per_class) == ["corn", "cereal", "other"] and top.oa == 1.0 and top.macro_f1 == 1.0
    # a target's remap over this legend: barley absent from its reference -> other, truth and prediction alike
    t, p = metrics.remap_target("X", truth, pred, {"X": {"keep": ["corn", "cereal/wheat"]}}, classes=classes)
    assert list(t) == ["corn", "cereal/wheat", "other", "other", "cereal/wheat"]
    assert list(p) == ["corn", "other", "other", "other", "cereal/wheat"]
