"""RF and LightGBM: fit/predict_proba contract, padded class columns, round trips, bad input."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.models import TabularClassifier, get_model, model_info


def data(n: int = 120, f: int = 6, classes=(0, 2, 3), seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.asarray(classes)[np.arange(n) % len(classes)]
    X = rng.normal(size=(n, f)).astype(np.float32) + y[:, None] * 0.8
    return X, y


FAST = {"rf": {"n_estimators": 25}, "lightgbm": {"n_estimators": 30, "min_child_samples": 5}}


@pytest.mark.parametrize("name", ["rf", "lightgbm"])
def test_probabilities_have_one_column_per_class_even_if_absent(name):
    X, y = data()
    model = get_model(name, 6, 1, 5, **FAST[name]).fit(X, y)
    p = model.predict_proba(X)
    assert model_info(name).family == "tabular" and p.shape == (120, 5)
    assert np.allclose(p.sum(1), 1.0) and np.all(p[:, [1, 4]] == 0)
    assert (model.predict(X) == y).mean() > 0.9


@pytest.mark.parametrize("name", ["rf", "lightgbm"])
def test_binary_training_data_still_gives_all_columns(name):
    X, y = data(classes=(1, 3))
    p = get_model(name, 6, 1, 4, **FAST[name]).fit(X, y).predict_proba(X)
    assert p.shape == (120, 4) and np.allclose(p[:, [1, 3]].sum(1), 1.0)


def test_rf_defaults_are_500_balanced_seeded_trees():
    est = get_model("rf", 6, 1, 3)._build()
    assert est.n_estimators == 500 and est.class_weight == "balanced"
    assert est.random_state == 0 and est.n_jobs == -1


def test_lightgbm_is_balanced_and_deterministic():
    X, y = data()
    a = get_model("lightgbm", 6, 1, 4, **FAST["lightgbm"]).fit(X, y).predict_proba(X)
    b = get_model("lightgbm", 6, 1, 4, **FAST["lightgbm"]).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b)
    est = get_model("lightgbm", 6, 1, 4)._build()
    assert est.class_weight == "balanced" and est.get_params()["deterministic"] is True


@pytest.mark.parametrize("name", ["rf", "lightgbm"])
def test_sample_weight_changes_the_fit(name):
    # Uninformative features; class-2 samples with x0 > 0 weigh 20x. Balancing rescales whole
    # classes, so only a weight that varies *within* a class can move the decision.
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 6)).astype(np.float32)
    y = np.arange(300) % 3
    w = np.where((y == 2) & (X[:, 0] > 0), 20.0, 1.0)
    fresh = rng.normal(size=(300, 6)).astype(np.float32)
    fresh[:, 0] = np.abs(fresh[:, 0])
    opts = {**FAST[name], "min_samples_leaf" if name == "rf" else "min_child_samples": 10}
    plain = get_model(name, 6, 1, 3, **opts).fit(X, y).predict(fresh)
    weighted = get_model(name, 6, 1, 3, **opts).fit(X, y, sample_weight=w).predict(fresh)
    assert (weighted == 2).sum() > (plain == 2).sum() + 30


@pytest.mark.parametrize("name", ["rf", "lightgbm"])
def test_save_load_round_trip_predicts_identically(name, tmp_path):
    X, y = data()
    model = get_model(name, 3, 2, 5, **FAST[name]).fit(X, y)
    path = model.save(tmp_path / "m.cgm", bands=["B2", "B3", "B4"], class_names=list("abcde"))
    again = TabularClassifier.load(path, expect_bands=["B2", "B3", "B4"], expect_classes=5)
    assert np.array_equal(again.predict_proba(X), model.predict_proba(X))
    assert again.spec.bands == ("B2", "B3", "B4") and again.spec.options == FAST[name]
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("cropglobe.json"))["classes_seen"] == [0, 2, 3]
    with pytest.raises(CropGlobeError, match=r"trained on bands \['B2', 'B3', 'B4'\]"):
        TabularClassifier.load(path, expect_bands=["B2", "B3", "B8"])
    with pytest.raises(CropGlobeError, match="trained on 5 classes, the data has 7"):
        TabularClassifier.load(path, expect_classes=7)


@pytest.mark.parametrize("bad,match", [
    (lambda X, y: (X[:, :5], y), r"shape \(N, 6\)"),
    (lambda X, y: (np.where(np.arange(6) == 2, np.nan, X), y), "NaN or infinite"),
    (lambda X, y: (X, y + 3), "outside class indices 0..4"),
    (lambda X, y: (X, y.astype(float)), "integer class indices"),
    (lambda X, y: (X, np.zeros_like(y)), "only one class"),
])
def test_bad_training_input_raises_one_clear_error(bad, match):
    X, y = data()
    with pytest.raises(CropGlobeError, match=match):
        get_model("lightgbm", 6, 1, 5, **FAST["lightgbm"]).fit(*bad(X, y))


def test_bad_sample_weight_and_unfitted_use_raise():
    X, y = data()
    model = get_model("rf", 6, 1, 5, **FAST["rf"])
    with pytest.raises(CropGlobeError, match="not fitted"):
        model.predict_proba(X)
    with pytest.raises(CropGlobeError, match="sample_weight must be 120"):
        model.fit(X, y, sample_weight=-np.ones(120))


def test_unknown_tabular_option_is_refused():
    with pytest.raises(CropGlobeError, match=r"unknown option\(s\) \['trees'\]"):
        get_model("rf", 6, 1, 3, trees=10)


def test_lightgbm_threads_per_call_give_the_same_probabilities():
    X, y = data()
    model = get_model("lightgbm", 6, 1, 4, **FAST["lightgbm"]).fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X, num_threads=1), model.predict_proba(X))
