"""Combined classifiers for inference: seed ensembles and class-prior re-weighting.

Both wrap trained models behind the interface the mapping code already uses, so that a map or a
sample prediction with an ensemble or an adapted prior goes through the same code as one model:

* :class:`ProbabilityEnsemble` (torch) averages the members' softmax probabilities (Lakshminarayanan
  et al., "Simple and Scalable Predictive Uncertainty Estimation using Deep Ensembles", NeurIPS 2017,
  arXiv:1612.01474). It returns the log of the mean probability, so ``softmax(output)`` is the
  mean probability and any code that takes a softmax of a torch model's output keeps working.
* :class:`PriorWeighted` (torch) adds ``log w`` to the logits, i.e. multiplies the probabilities
  by ``w`` and renormalises: with ``w = pi_target / pi_train`` this is the class-prior correction of
  Saerens, Latinne & Decaestecker (Neural Computation 14(1), 2002); the weights come from
  :func:`prior_shift` (EM) on the probabilities of unlabelled target data.
* :class:`TabularCombination` does both for tabular models (``predict_proba``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from cropglobe.errors import CropGlobeError

#: Unlabelled adaptation at inference (``cropglobe predict`` / ``cropglobe map --adapt``): none, or
#: the class prior of the samples / region estimated by :func:`prior_shift`.
ADAPT = ("none", "prior")


class ProbabilityEnsemble(nn.Module):
    """Log of the members' mean softmax probability (members: torch classifiers of the same inputs)."""

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("ProbabilityEnsemble: no member")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logp = torch.stack([torch.log_softmax(m(x).float(), dim=-1) for m in self.members])
        return torch.logsumexp(logp, dim=0) - float(np.log(len(self.members)))


class PriorWeighted(nn.Module):
    """A torch classifier whose probabilities are multiplied by fixed class weights (renormalised)."""

    def __init__(self, net: nn.Module, weights: Sequence[float]) -> None:
        super().__init__()
        w = torch.as_tensor(np.asarray(weights, dtype=np.float64), dtype=torch.float32)
        if w.ndim != 1 or not torch.isfinite(w).all() or (w < 0).any():
            raise ValueError(f"PriorWeighted: weights must be finite and >= 0, got {list(weights)}")
        self.net = net
        self.register_buffer("log_w", torch.log(w.clamp_min(1e-30)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).float() + self.log_w


class TabularCombination:
    """Mean probability of tabular members, optionally re-weighted by fixed class weights."""

    def __init__(self, members: Sequence[Any], weights: Sequence[float] | None = None) -> None:
        if not members:
            raise ValueError("TabularCombination: no member")
        self.members = list(members)
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)

    def predict_proba(self, x: np.ndarray, **kwargs: Any) -> np.ndarray:
        p = np.mean([np.asarray(m.predict_proba(x, **kwargs), dtype=np.float64) for m in self.members], axis=0)
        if self.weights is not None:
            p = p * self.weights
            p /= np.maximum(p.sum(axis=1, keepdims=True), 1e-300)
        return p


def combine(models: Sequence[Any], family: str, weights: Sequence[float] | None = None) -> Any:
    """One model from several (mean probability) and/or class weights; a single model unchanged otherwise.

    Args:
        models: Loaded models of the same inputs and classes (torch ``nn.Module`` or tabular).
        family: ``torch`` or ``tabular``.
        weights: Class weights multiplying the probabilities, or None.
    """
    if len(models) == 1 and weights is None:
        return models[0]
    if family == "torch":
        net = models[0] if len(models) == 1 else ProbabilityEnsemble(models)
        return (net if weights is None else PriorWeighted(net, weights)).eval()
    return TabularCombination(models, weights)


def prior_shift(proba: np.ndarray, source_prior: np.ndarray | None = None, max_iter: int = 1000,
                tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """Re-weight probabilities to the target's class prior, estimated by EM without labels.

    Source: Saerens, Latinne & Decaestecker 2002 (Neural Computation 14(1):21-41). E-step:
    ``q(c|x) ∝ p(c|x) * pi_t(c) / pi_s(c)``; M-step: ``pi_t = mean_x q(.|x)``; from
    ``pi_t = pi_s`` until the prior changes by less than ``tol``.

    Args:
        proba: The model's class probabilities on the unlabelled target (N, C).
        source_prior: The prior the probabilities are calibrated to (C,); default uniform, which
            is the effective prior of a class-balanced loss (every model here is trained so).
        max_iter: Iteration limit.
        tol: Convergence threshold on the largest change of the prior.

    Returns:
        The re-weighted probabilities (N, C) and the estimated target prior (C,).

    Raises:
        CropGlobeError: For an empty or non-2D ``proba`` or a source prior of the wrong length.
    """
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise CropGlobeError(f"prior: need class probabilities (N, C) with N >= 1, got shape {p.shape}")
    n_classes = p.shape[1]
    pi_s = np.full(n_classes, 1.0 / n_classes) if source_prior is None else np.asarray(source_prior, np.float64)
    if pi_s.shape != (n_classes,) or (pi_s <= 0).any():
        raise CropGlobeError(f"prior: source prior must be {n_classes} positive values, got {pi_s.tolist()}")
    pi_s = pi_s / pi_s.sum()
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
    pi_t, q = pi_s.copy(), p
    for _ in range(max_iter):
        q = p * (pi_t / pi_s)
        q /= np.maximum(q.sum(axis=1, keepdims=True), 1e-300)
        new = q.mean(axis=0)
        done = np.abs(new - pi_t).max() < tol
        pi_t = new
        if done:
            break
    q = p * (pi_t / pi_s)
    return q / np.maximum(q.sum(axis=1, keepdims=True), 1e-300), pi_t
