"""Vectorised temporal kernels: median of observations per bin, and linear regridding with edge fill.

These are the array cores of :mod:`cropglobe.composite`. They work on whole blocks of pixels at
once: bin membership is computed once per time axis (observations share one date axis, NaN where a
pixel was not observed), observations are gathered into a padded ``(N, B, bins, K)`` array and
reduced with a NaN-aware median; gaps are filled by linear interpolation in time with the nearest
value at the edges (the ``interpolate_na`` + ``bfill``/``ffill`` recipe of xarray, done with
cumulative max/min index scans instead of a per-series loop).
"""

from __future__ import annotations

import warnings

import numpy as np


def bin_members(day: np.ndarray, interval: int, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Group observation positions by bin.

    Args:
        day: Day offset of each observation from the start of the axis, shape (T,).
        interval: Bin width in days.
        n_bins: Number of bins; observations outside ``[0, n_bins * interval)`` are ignored.

    Returns:
        ``(index, present)``, both shape (n_bins, K) with K the most observations in one bin:
        observation positions (0 where padded) and whether the slot holds one.
    """
    day = np.asarray(day, dtype=np.int64)
    pos = np.flatnonzero((day >= 0) & (day < n_bins * interval))
    b = day[pos] // interval
    counts = np.bincount(b, minlength=n_bins)
    k = max(int(counts.max(initial=0)), 1)
    order = np.argsort(b, kind="stable")
    b, pos = b[order], pos[order]
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(b.size) - first[b]
    index = np.zeros((n_bins, k), dtype=np.int64)
    present = np.zeros((n_bins, k), dtype=bool)
    index[b, slot] = pos
    present[b, slot] = True
    return index, present


def nanmedian_last(x: np.ndarray) -> np.ndarray:
    """NaN-aware median over the last axis (NaN where a row has no finite value).

    Equal to :func:`numpy.nanmedian` (mean of the two middle values for an even count) but faster
    for the short axes of composite bins: up to two values it is their mean; otherwise one sort.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if x.shape[-1] <= 2:
            return np.nanmean(x, axis=-1) if x.shape[-1] == 2 else x[..., 0].copy()
        s = np.sort(x, axis=-1)  # NaN sorts last
        n = np.isfinite(s).sum(axis=-1, keepdims=True)
        lo = np.take_along_axis(s, np.maximum((n - 1) // 2, 0), axis=-1)
        hi = np.take_along_axis(s, n // 2 - (n == 0), axis=-1)
        med = (lo + hi)[..., 0] * x.dtype.type(0.5)
        med[n[..., 0] == 0] = np.nan
        return med


def bin_median(values: np.ndarray, valid: np.ndarray, index: np.ndarray, present: np.ndarray,
               chunk: int = 2048) -> np.ndarray:
    """Median of the valid observations in each bin.

    Args:
        values: (N, B, T) float array (NaN = missing).
        valid: (N, T) bool, observations passing the clear-sky test.
        index: (bins, K) observation positions from :func:`bin_members`.
        present: (bins, K) slot mask from :func:`bin_members`.
        chunk: Pixels per block (bounds memory to ``chunk * B * bins * K`` values).

    Returns:
        (N, B, bins) medians, NaN where a bin has no valid observation.
    """
    n, nb, _ = values.shape
    out = np.empty((n, nb, index.shape[0]), dtype=values.dtype)
    nan = values.dtype.type(np.nan)
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        keep = valid[lo:hi][:, index] & present  # (n, bins, K)
        gathered = np.where(keep[:, None], values[lo:hi][:, :, index], nan)
        out[lo:hi] = nanmedian_last(gathered)
    return out


def regrid_linear(values: np.ndarray, x_src: np.ndarray, x_tgt: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Interpolate each row linearly from ``x_src`` to ``x_tgt``, skipping NaN; nearest at the edges.

    Args:
        values: (M, S) rows sampled at increasing ``x_src`` (S,), NaN = missing.
        x_src: Source positions, strictly increasing.
        x_tgt: Target positions (R,).
        chunk: Rows per block.

    Returns:
        (M, R) float array; a row without any finite value stays NaN.
    """
    values = np.asarray(values)
    x_src = np.asarray(x_src, dtype=np.float64)
    x_tgt = np.asarray(x_tgt, dtype=np.float64)
    m, s = values.shape
    after = np.searchsorted(x_src, x_tgt, side="left")  # first source >= target
    before = np.searchsorted(x_src, x_tgt, side="right") - 1  # last source <= target
    out = np.empty((m, x_tgt.size), dtype=values.dtype)
    ar = np.arange(s)
    for lo in range(0, m, chunk):
        v = values[lo:lo + chunk]
        ok = np.isfinite(v)
        prev = np.maximum.accumulate(np.where(ok, ar, -1), axis=1)
        nxt = np.minimum.accumulate(np.where(ok, ar, s)[:, ::-1], axis=1)[:, ::-1]
        p = np.where(before >= 0, prev[:, np.clip(before, 0, s - 1)], -1)
        q = np.where(after < s, nxt[:, np.clip(after, 0, s - 1)], s)
        has_p, has_q = p >= 0, q < s
        p_i, q_i = np.clip(p, 0, s - 1), np.clip(q, 0, s - 1)
        vp = np.take_along_axis(v, p_i, axis=1).astype(np.float64)
        vq = np.take_along_axis(v, q_i, axis=1).astype(np.float64)
        xp, xq = x_src[p_i], x_src[q_i]
        span = np.where(q_i > p_i, xq - xp, 1.0)
        frac = np.where(q_i > p_i, (x_tgt[None, :] - xp) / span, 0.0)
        res = vp + frac * (vq - vp)
        res = np.where(has_p & ~has_q, vp, res)
        res = np.where(has_q & ~has_p, vq, res)
        res[~has_p & ~has_q] = np.nan
        out[lo:lo + chunk] = res
    return out


def fill_gaps(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Fill NaN along the last axis by linear interpolation in ``x``, nearest value at the edges.

    Args:
        values: (..., T) array.
        x: (T,) increasing positions (bin starts).

    Returns:
        The filled array (same shape and dtype); all-NaN series stay NaN.
    """
    shape = values.shape
    flat = values.reshape(-1, shape[-1])
    missing = np.isnan(flat).any(axis=1)
    out = flat.copy()
    if missing.any():
        out[missing] = regrid_linear(flat[missing], x, x)
    return out.reshape(shape)
