"""Combined classifiers: seed ensembles, class-prior re-weighting and the EM prior estimate."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cropglobe import models
from cropglobe.errors import CropGlobeError
from cropglobe.models.ensemble import (
    Calibration,
    PriorWeighted,
    ProbabilityEnsemble,
    TabularCombination,
    check_adapt,
    combine,
    fit_calibration,
    prior_shift,
)


def _bayes_posteriors(prior: list[float], n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from ``prior`` and exact posteriors of a class-balanced (uniform-prior) model."""
    rng = np.random.default_rng(seed)
    y = rng.choice(len(prior), size=n, p=prior)
    means = np.arange(len(prior), dtype=np.float64) * 1.5
    x = rng.normal(means[y], 1.0)
    like = np.exp(-0.5 * (x[:, None] - means[None, :]) ** 2)
    return like / like.sum(1, keepdims=True), y


def test_prior_shift_recovers_the_target_prior_without_labels() -> None:
    truth = [0.7, 0.2, 0.1]
    proba, y = _bayes_posteriors(truth, 20000, seed=0)
    adjusted, prior = prior_shift(proba)
    np.testing.assert_allclose(prior, truth, atol=0.02)
    np.testing.assert_allclose(adjusted.sum(1), 1.0)
    # the re-weighted posteriors are the Bayes posteriors under the true prior: fewer errors
    assert (adjusted.argmax(1) == y).mean() > (proba.argmax(1) == y).mean() + 0.02
    # a balanced target keeps a near-uniform prior and near-unchanged probabilities
    proba_u, _ = _bayes_posteriors([1 / 3] * 3, 20000, seed=1)
    adjusted_u, prior_u = prior_shift(proba_u)
    np.testing.assert_allclose(prior_u, [1 / 3] * 3, atol=0.02)
    assert np.abs(adjusted_u - proba_u).max() < 0.1
    # a class the model never predicts keeps a zero prior
    padded = np.hstack([proba, np.zeros((len(proba), 1))])
    assert prior_shift(padded)[1][-1] == 0


def test_prior_shift_errors() -> None:
    with pytest.raises(CropGlobeError, match="prior"):
        prior_shift(np.zeros((0, 3)))
    with pytest.raises(CropGlobeError, match="source prior"):
        prior_shift(np.full((4, 3), 1 / 3), source_prior=np.array([0.5, 0.5]))


def _tempered(proba: np.ndarray, k: float) -> np.ndarray:
    """``softmax(k * log p)``: over-confident for k > 1, under-confident for k < 1."""
    q = proba ** k
    return q / q.sum(1, keepdims=True)


@pytest.mark.parametrize("k", [0.4, 1.0, 2.5])
def test_calibration_recovers_the_temperature(k: float) -> None:
    proba, y = _bayes_posteriors([0.5, 0.3, 0.2], 8000, seed=3)  # imbalanced validation, uniform-prior posteriors
    seen = _tempered(proba, k)
    for bias in (False, True):
        cal = fit_calibration(seen, y, 3, bias=bias)
        assert cal.t == pytest.approx(k, rel=0.05)  # softmax(log p^k / t) = p for t = k
        assert np.abs(cal.bias).max() < 0.05  # the class-balanced NLL keeps the uniform prior
        np.testing.assert_allclose(cal.apply(seen), proba, atol=0.02)
    again = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    np.testing.assert_allclose(again.apply(seen), cal.apply(seen))


def test_calibration_corrects_a_class_bias_and_handles_absent_classes_and_zeros() -> None:
    proba, y = _bayes_posteriors([1 / 3] * 3, 8000, seed=4)
    biased = proba * np.array([3.0, 1.0, 1.0])  # the model favours class 0
    biased /= biased.sum(1, keepdims=True)
    cal = fit_calibration(biased, y)
    np.testing.assert_allclose(cal.apply(biased), proba, atol=0.04)
    assert cal.bias[0] - cal.bias[1:].mean() == pytest.approx(-np.log(3), abs=0.1)
    # a fourth class never in the validation data, with exact zeros: stays ~0, nothing is NaN
    padded = np.hstack([_tempered(proba, 0.5), np.zeros((len(proba), 1))])
    cal4 = fit_calibration(padded, y, 4)
    out = cal4.apply(padded)
    assert np.isfinite(out).all() and cal4.bias[3] == 0 and out[:, 3].max() < 1e-5
    # the absent class changes nothing
    assert cal4.t == pytest.approx(fit_calibration(_tempered(proba, 0.5), y).t, rel=1e-3)


def test_calibration_errors() -> None:
    with pytest.raises(CropGlobeError, match="at least 2 classes"):
        fit_calibration(np.full((5, 3), 1 / 3), np.zeros(5, dtype=int))
    with pytest.raises(CropGlobeError, match="class indices"):
        fit_calibration(np.full((5, 3), 1 / 3), np.array([0, 1, 2, 3, 0]))
    with pytest.raises(CropGlobeError, match="N labels"):
        fit_calibration(np.full((5, 3), 1 / 3), np.zeros(4, dtype=int))
    with pytest.raises(CropGlobeError, match="calibration"):
        Calibration(0.0, [0.0, 0.0])
    with pytest.raises(CropGlobeError, match="fitted for 2 classes"):
        Calibration.identity(2).apply(np.full((4, 3), 1 / 3))


def test_calibrated_em_recovers_the_prior_where_under_confident_em_overshoots() -> None:
    truth = np.array([0.7, 0.2, 0.1])
    val, y_val = _bayes_posteriors([1 / 3] * 3, 6000, seed=5)  # labelled source validation
    target, _ = _bayes_posteriors(list(truth), 20000, seed=6)  # unlabelled target
    k = 1 / 3  # under-confident model (e.g. RF vote fractions)
    raw = prior_shift(_tempered(target, k))[1]
    assert np.abs(raw - truth).max() > 0.08  # EM runs away: the rare class vanishes
    assert raw[2] < 0.01
    cal = fit_calibration(_tempered(val, k), y_val)
    adapted, fixed = prior_shift(cal.apply(_tempered(target, k)))
    np.testing.assert_allclose(fixed, truth, atol=0.03)
    # the map's class weights on the raw probabilities give the same classes
    w = cal.prior_weights(fixed)
    np.testing.assert_array_equal((_tempered(target, k) * w).argmax(1), adapted.argmax(1))
    assert cal.prior_weights(np.array([0.5, 0.5, 0.0]))[2] == 0


def _nets() -> list[torch.nn.Module]:
    out = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        out.append(models.get_model("tempcnn", 4, 12, 7, seed=seed).eval())
    return out


def test_probability_ensemble_softmax_is_the_mean_probability() -> None:
    nets = _nets()
    x = torch.as_tensor(np.random.default_rng(0).normal(size=(9, 4, 12)), dtype=torch.float32)
    with torch.no_grad():
        mean = torch.stack([torch.softmax(n(x), -1) for n in nets]).mean(0)
        got = torch.softmax(ProbabilityEnsemble(nets).eval()(x), -1)
    torch.testing.assert_close(got, mean, rtol=1e-5, atol=1e-6)
    assert combine(nets[:1], "torch") is nets[0]  # one model, no weights: unchanged


def test_prior_weighted_multiplies_probabilities_by_the_weights() -> None:
    net = _nets()[0]
    w = np.array([2.0, 0.5, 0.0, 1.0, 1.0, 1.0, 3.0])
    x = torch.as_tensor(np.random.default_rng(1).normal(size=(5, 4, 12)), dtype=torch.float32)
    with torch.no_grad():
        p = torch.softmax(net(x), -1).double().numpy()
        got = torch.softmax(combine([net], "torch", w)(x), -1).double().numpy()
    want = p * w / (p * w).sum(1, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    assert (got[:, 2] < 1e-12).all()  # a zero weight removes the class
    with pytest.raises(ValueError, match="weights"):
        PriorWeighted(net, [1.0, -1.0])


class _Fixed:
    def __init__(self, p: np.ndarray) -> None:
        self.p = p

    def predict_proba(self, x: np.ndarray, **kwargs: object) -> np.ndarray:
        return self.p[: len(x)]


def test_tabular_combination_means_then_weights() -> None:
    a, b = np.array([[0.6, 0.4], [0.2, 0.8]]), np.array([[0.2, 0.8], [0.4, 0.6]])
    both = TabularCombination([_Fixed(a), _Fixed(b)])
    np.testing.assert_allclose(both.predict_proba(np.zeros((2, 3)), num_threads=1), (a + b) / 2)
    weighted = combine([_Fixed(a), _Fixed(b)], "tabular", [3.0, 1.0]).predict_proba(np.zeros((2, 3)))
    m = (a + b) / 2 * [3.0, 1.0]
    np.testing.assert_allclose(weighted, m / m.sum(1, keepdims=True))


def test_check_adapt_names_the_choices_and_where_selftrain_runs() -> None:
    for ok in ("none", "prior", "align"):
        check_adapt(ok, "--adapt")
    with pytest.raises(CropGlobeError, match=r"--adapt tent: expected one of none, prior, align"):
        check_adapt("tent", "--adapt tent")
    with pytest.raises(CropGlobeError, match=r"adapt='selftrain': self-training retrains the cells.*--adapt selftrain"):
        check_adapt("selftrain", "adapt='selftrain'")
