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

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cropglobe.atomic import write_text
from cropglobe.errors import CropGlobeError

#: Unlabelled adaptation at inference (``cropglobe predict`` / ``cropglobe map --adapt``): none,
#: the class prior of the samples / region estimated by :func:`prior_shift`, or the season window
#: offset / stretch of :mod:`cropglobe.augment.align`. (``--adapt selftrain`` retrains the cells
#: first: :mod:`cropglobe.cli._selftrain`, which then predicts / maps with ``none``.)
ADAPT = ("none", "prior", "align")


def check_adapt(adapt: str, shown: str) -> None:
    """Raise unless ``adapt`` is one of :data:`ADAPT` (``selftrain`` is told where it is done).

    Args:
        adapt: The value.
        shown: How the error shows the option and value (``"--adapt tent"``, ``"adapt='tent'"``).

    Raises:
        CropGlobeError: Naming ``shown`` and the choices.
    """
    if adapt == "selftrain":
        raise CropGlobeError(f"{shown}: self-training retrains the cells before they predict; use cropglobe "
                             "predict / cropglobe map --adapt selftrain (cropglobe.cli._selftrain), or cropglobe "
                             "study adapt-cell -m selftrain and predict / map with the cell it writes")
    if adapt not in ADAPT:
        raise CropGlobeError(f"{shown}: expected one of {', '.join(ADAPT)}")


#: A cell's source-validation calibration, next to its ``recipe.json`` (written by ``cropglobe transfer``).
CALIBRATION_FILE = "calibration.json"


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


#: Smallest probability before the log of :class:`Calibration` (RF vote fractions are often exactly 0).
CALIBRATION_EPS = 1e-6


class Calibration:
    """Temperature (and per-class bias) calibration of class probabilities: ``softmax(log p / t + b)``.

    ``t > 1`` softens over-confident probabilities, ``t < 1`` sharpens under-confident ones (RF vote
    fractions, nets trained with heavy augmentation). Fitted by :func:`fit_calibration` on the
    source's validation split; identity: ``t = 1``, ``b = 0`` (up to the clipping of zeros).

    Attributes:
        t: Temperature (> 0).
        bias: Per-class additive bias on the log scale (C,); zero for plain temperature scaling and
            for the classes absent from the validation data.
        method: ``ts`` (temperature only) or ``bcts`` (bias-corrected temperature scaling).
        eps: Probabilities are clipped to at least ``eps`` before the log.
    """

    def __init__(self, t: float, bias: Sequence[float] | np.ndarray, method: str = "bcts",
                 eps: float = CALIBRATION_EPS) -> None:
        self.t = float(t)
        self.bias = np.asarray(bias, dtype=np.float64)
        self.method, self.eps = method, float(eps)
        if not np.isfinite(self.t) or self.t <= 0 or self.bias.ndim != 1 or not np.isfinite(self.bias).all():
            raise CropGlobeError(f"calibration: need a temperature > 0 and finite biases, got t={t}, bias={bias}")

    @classmethod
    def identity(cls, n_classes: int) -> Calibration:
        """No change (``t = 1``, ``b = 0``)."""
        return cls(1.0, np.zeros(n_classes), "identity")

    def logits(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated logits ``log(max(p, eps)) / t + b`` (N, C)."""
        p = np.asarray(proba, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != self.bias.size:
            raise CropGlobeError(f"calibration: fitted for {self.bias.size} classes, got probabilities of "
                                 f"shape {p.shape}")
        return np.log(np.maximum(p, self.eps)) / self.t + self.bias

    def apply(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated probabilities ``softmax(log p / t + b)`` (N, C), rows summing to 1."""
        z = self.logits(proba)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def prior_weights(self, prior: np.ndarray) -> np.ndarray:
        """Class weights ``w`` on the *raw* probabilities with ``argmax(p * w) = argmax(apply(p) * prior)``.

        ``log(apply(p) * prior) = (log p + t * (b + log prior)) / t + const``, so
        ``w = exp(t * (b + log prior))`` (scaled to a largest weight of 1); a zero prior gives a
        zero weight. For models that can only multiply their probabilities by class weights (the map).
        """
        with np.errstate(divide="ignore"):
            logw = self.t * (self.bias + np.log(np.asarray(prior, dtype=np.float64)))
        return np.exp(logw - logw[np.isfinite(logw)].max())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (see :meth:`from_dict`)."""
        return {"method": self.method, "t": self.t, "bias": [float(v) for v in self.bias], "eps": self.eps}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`."""
        return cls(d["t"], d["bias"], d.get("method", "bcts"), d.get("eps", CALIBRATION_EPS))

    def write(self, cell_dir: str | Path) -> Path:
        """Write ``CALIBRATION_FILE`` into a cell folder (atomically); returns its path."""
        path = Path(cell_dir) / CALIBRATION_FILE
        write_text(path, json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def read(cls, cell_dir: str | Path, n_classes: int | None = None) -> Calibration | None:
        """The calibration of a cell folder, or None when it has none.

        Raises:
            CropGlobeError: For an unreadable or invalid file, or one for another number of classes.
        """
        path = Path(cell_dir) / CALIBRATION_FILE
        if not path.is_file():
            return None
        try:
            cal = cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CropGlobeError(f"{path}: not a valid calibration ({exc})") from None
        if n_classes is not None and cal.bias.size != n_classes:
            raise CropGlobeError(f"{path}: {cal.bias.size} class biases; expected {n_classes} classes")
        return cal


def fit_calibration(proba_val: np.ndarray, y_val: np.ndarray, n_classes: int | None = None, bias: bool = True,
                    eps: float = CALIBRATION_EPS) -> Calibration:
    """Fit a temperature (and per-class biases) on labelled *source* validation probabilities.

    Minimises the class-balanced negative log-likelihood (sample weights ``n / (k * count_c)``
    over the ``k`` classes present) of ``softmax(log p / t + b)``, so that the calibrated
    probabilities still refer to the uniform prior every model here is trained for, as
    :func:`prior_shift` assumes. With ``bias`` this is bias-corrected temperature scaling (BCTS),
    the calibration Alexandari, Kundaje & Shrikumar (ICML 2020, arXiv:1901.06852) found EM
    label-shift estimation to need; without it, plain temperature scaling (Guo et al. 2017).
    Classes absent from the validation data keep a zero bias (their probabilities are only
    tempered); the biases carry a tiny L2 penalty (1e-6) that fixes their common offset. Never pass target labels here.

    Args:
        proba_val: The model's probabilities on the source validation samples (N, C).
        y_val: Their class indices (N,), in ``[0, C)``.
        n_classes: C (default ``proba_val.shape[1]``).
        bias: Also fit per-class biases (BCTS); False: temperature only.
        eps: Clip probabilities to at least ``eps`` before the log.

    Returns:
        The fitted :class:`Calibration`.

    Raises:
        CropGlobeError: For mismatched shapes, labels outside ``[0, C)``, or fewer than two classes
            present in the validation data (nothing to calibrate against).
    """
    from scipy.optimize import minimize

    p = np.asarray(proba_val, dtype=np.float64)
    y = np.asarray(y_val).astype(np.int64)
    c = p.shape[1] if n_classes is None and p.ndim == 2 else n_classes
    if p.ndim != 2 or p.shape[1] != c or y.shape != (len(p),):
        raise CropGlobeError(f"calibration: need probabilities (N, {c}) and N labels, got {p.shape} and {y.shape}")
    if len(y) and (y.min() < 0 or y.max() >= c):
        raise CropGlobeError(f"calibration: labels must be class indices in [0, {c}), got {y.min()}..{y.max()}")
    counts = np.bincount(y, minlength=c)
    present = np.flatnonzero(counts)
    if present.size < 2:
        raise CropGlobeError(f"calibration: the validation data must hold at least 2 classes, got {present.size}")
    z = np.log(np.maximum(p, eps))
    w = len(y) / (present.size * counts[y])  # class-balanced weights, mean 1
    onehot = np.zeros_like(z)
    onehot[np.arange(len(y)), y] = 1.0
    n, ridge = float(len(y)), 1e-6

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        t = np.exp(theta[0])
        b = np.zeros(c)
        if bias:
            b[present] = theta[1:]
        logits = z / t + b
        logits -= logits.max(axis=1, keepdims=True)
        logs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        value = float(-(w * logs[np.arange(len(y)), y]).sum() / n)
        g_logits = w[:, None] * (np.exp(logs) - onehot) / n  # dL / d logits
        grad = [float(-(g_logits * z).sum() / t)]  # d logits / d log t = -z / t
        if bias:
            value += ridge * float((theta[1:] ** 2).sum())
            grad += list(g_logits.sum(axis=0)[present] + 2 * ridge * theta[1:])
        return value, np.asarray(grad)

    theta0 = np.zeros(1 + (present.size if bias else 0))
    bounds = [(np.log(1e-2), np.log(1e2))] + [(-30.0, 30.0)] * (len(theta0) - 1)
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds)
    b = np.zeros(c)
    if bias:
        b[present] = res.x[1:]
    return Calibration(float(np.exp(res.x[0])), b, "bcts" if bias else "ts", eps)
