"""Test-time season alignment: the criterion, the search and its label-free recovery check."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from cropglobe.augment import align

BIN = 5.0
WINDOW = (24, 31)  # bins 24..54 of a 73-bin year (days 121..275)


def _year(n_per_class: int, peaks: list[float], shift_days: float, rng: np.random.Generator) -> tuple:
    """Full-year series (N, 2, 73): one Gaussian green-up per class, peaking at ``peak + shift_days``."""
    t = np.arange(73) * BIN + 1
    xs, ys = [], []
    for c, peak in enumerate(peaks):
        width = 25.0 + 10 * c
        curve = np.exp(-0.5 * ((t - peak - shift_days) / width) ** 2)
        for _ in range(n_per_class):
            amp = rng.uniform(0.6, 1.0)
            noise = rng.normal(0, 0.03, size=(2, 73))
            xs.append(np.stack([amp * curve, 0.3 + 0.2 * amp * curve]) + noise)
            ys.append(c)
    return np.asarray(xs, dtype=np.float32), np.asarray(ys)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    full, y = _year(60, [170.0, 200.0, 230.0], 0.0, rng)
    win = full[..., WINDOW[0]:WINDOW[0] + WINDOW[1]]
    model = LogisticRegression(max_iter=2000).fit(win.reshape(len(win), -1), y)
    return model, rng


def _predict(model):
    return lambda w: model.predict_proba(w.reshape(len(w), -1))


def test_information_prefers_confident_and_diverse_predictions():
    diverse = np.eye(3)[[0, 1, 2, 0, 1, 2]] * 0.97 + 0.01
    collapsed = np.eye(3)[[0] * 6] * 0.97 + 0.01
    uniform = np.full((6, 3), 1 / 3)
    assert align.information(diverse) > align.information(uniform)
    assert align.information(diverse) > align.information(collapsed)
    assert align.information(uniform) == pytest.approx(0.0, abs=1e-9)


def test_search_finds_the_season_offset_of_an_unlabelled_target(fitted):
    model, rng = fitted
    target, _ = _year(40, [170.0, 200.0, 230.0], 30.0, rng)  # the target's season is 30 days later
    a, b, record = align.search(_predict(model), target, WINDOW, BIN)
    assert abs((a + b) / 2 - 30.0) <= 10.0
    assert record["align_im"] > record["align_im_unshifted"]


def test_no_shift_gives_no_offset(fitted):
    model, rng = fitted
    target, _ = _year(40, [170.0, 200.0, 230.0], 0.0, rng)
    a, b, _ = align.search(_predict(model), target, WINDOW, BIN)
    assert abs(a) <= 10.0 and abs(b) <= 10.0


def test_recovery_check_on_source_data(fitted):
    model, rng = fitted
    source, _ = _year(40, [170.0, 200.0, 230.0], 0.0, rng)
    rows = align.recovery_check(_predict(model), source, WINDOW, BIN, shifts=(-20.0, 20.0))
    assert [r["true_shift_days"] for r in rows] == [20.0, -20.0]
    assert all(abs(r["error_days"]) <= 10.0 for r in rows)


def test_search_is_deterministic_and_reads_no_labels(fitted):
    model, rng = fitted
    target, _ = _year(30, [170.0, 200.0, 230.0], -20.0, rng)
    first = align.search(_predict(model), target, WINDOW, BIN, align.AlignSettings(search_samples=50))
    again = align.search(_predict(model), target.copy(), WINDOW, BIN, align.AlignSettings(search_samples=50))
    assert first == again
