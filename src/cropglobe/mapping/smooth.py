"""Bayesian smoothing of a class-probability cube, after sits ``sits_smooth`` (Camara, Simoes et al.).

sits (R package, e-sensing/sits; also ``bayesEO::bayes_smooth``) post-processes the per-pixel
class probabilities of a map with a Bayesian update in logit space: for each class ``k`` a
pixel's logit ``x = log(p / (1 - p))`` is taken as a noisy observation with variance
``smoothness`` (sits: "estimated variance of logit of class probabilities") of a value whose
prior is the pixel's neighbourhood: the mean ``m`` and variance ``s^2`` of the logits of the
neighbours in a ``window x window`` square, using the ``neigh_fraction`` of them with the highest
probabilities. The posterior mean is

    x' = (s^2 x + smoothness m) / (s^2 + smoothness)

so a pixel is pulled towards a homogeneous neighbourhood (small ``s^2``) and keeps its own value
where the neighbourhood is mixed (large ``s^2``: field edges are kept). Probabilities come back by
the logistic function, renormalised to sum to 1. The defaults are sits's of version 1.4
(``window_size = 7``, ``neigh_fraction = 0.5``, ``smoothness = 10``).

This is a documented equivalent, not a port of sits's C++: pixels outside the image or NaN
(nodata) are left out of a neighbourhood, the centre pixel belongs to it, and ``s^2`` is the
sample variance (ddof 1) of the neighbours used.
"""

from __future__ import annotations

import numpy as np

from cropglobe.errors import CropGlobeError

#: Probabilities are clipped to [EPS, 1 - EPS] before the logit.
EPS = 1e-4


def _check(proba: np.ndarray, window: int, neigh_fraction: float, smoothness: np.ndarray) -> None:
    if proba.ndim != 3:
        raise CropGlobeError(f"proba: expected a (classes, rows, cols) cube, got shape {proba.shape}")
    if window < 3 or window % 2 == 0:
        raise CropGlobeError(f"window={window}: expected an odd size >= 3")
    if not 0 < neigh_fraction <= 1:
        raise CropGlobeError(f"neigh_fraction={neigh_fraction}: expected a fraction in (0, 1]")
    if smoothness.shape not in ((), (proba.shape[0],)) or not (smoothness > 0).all():
        raise CropGlobeError(f"smoothness={smoothness}: expected one positive number or one per class")


def bayes_smooth(proba: np.ndarray, window: int = 7, neigh_fraction: float = 0.5,
                 smoothness: float | np.ndarray = 10.0, block_rows: int = 64) -> np.ndarray:
    """Smooth a probability cube (classes, rows, cols) as sits does; NaN pixels stay NaN.

    Args:
        proba: Class probabilities, (K, H, W); a pixel with any NaN is nodata.
        window: Odd neighbourhood size.
        neigh_fraction: Share of the neighbours (those of highest probability) that make the prior.
        smoothness: Variance of the logit (one value or one per class); larger smooths more.
        block_rows: Rows processed at a time (memory ~ K x block_rows x W x window^2 floats).

    Returns:
        The smoothed probabilities, float32, same shape.

    Raises:
        CropGlobeError: For a cube that is not 3-D or settings out of range.
    """
    proba = np.asarray(proba, dtype=np.float64)
    sm = np.asarray(smoothness, dtype=np.float64)
    _check(proba, window, neigh_fraction, sm)
    k, h, w = proba.shape
    nodata = np.isnan(proba).any(axis=0)
    logit = np.log(np.clip(proba, EPS, 1 - EPS)) - np.log1p(-np.clip(proba, EPS, 1 - EPS))
    logit[:, nodata] = np.nan
    r = window // 2
    padded = np.pad(logit, ((0, 0), (r, r), (r, r)), constant_values=np.nan)
    out = np.empty_like(logit)
    sm = np.broadcast_to(sm, (k,))[:, None, None]
    with np.errstate(invalid="ignore", over="ignore"):  # nodata neighbourhoods give NaN, dropped below
        _smooth_blocks(logit, padded, out, sm, window, neigh_fraction, block_rows)
    smoothed = 1.0 / (1.0 + np.exp(-out))
    smoothed /= smoothed.sum(axis=0, keepdims=True)
    smoothed[:, nodata] = np.nan
    return smoothed.astype(np.float32)


def _smooth_blocks(logit: np.ndarray, padded: np.ndarray, out: np.ndarray, sm: np.ndarray, window: int,
                   neigh_fraction: float, block_rows: int) -> None:
    """The Bayesian update of :func:`bayes_smooth`, ``block_rows`` rows at a time, into ``out``."""
    k, h, w = logit.shape
    r = window // 2
    for r0 in range(0, h, block_rows):
        r1 = min(h, r0 + block_rows)
        view = np.lib.stride_tricks.sliding_window_view(padded[:, r0:r1 + 2 * r], (window, window), axis=(1, 2))
        neigh = view.reshape(k, r1 - r0, w, window * window)
        valid = np.isfinite(neigh)
        n_valid = valid.sum(axis=-1)
        keep = np.maximum(1, np.ceil(neigh_fraction * n_valid)).astype(np.int64)
        ranked = np.sort(np.where(valid, neigh, -np.inf), axis=-1)  # the highest last
        rank = np.arange(window * window)
        chosen = rank >= (window * window - keep)[..., None]
        values = np.where(chosen, ranked, 0.0)
        mean = values.sum(axis=-1) / keep
        var = np.where(chosen, (ranked - mean[..., None]) ** 2, 0.0).sum(axis=-1) / np.maximum(keep - 1, 1)
        x = logit[:, r0:r1]
        out[:, r0:r1] = (var * x + sm * mean) / (var + sm)
