"""Vectorised temporal kernels: median of observations per bin, and linear gap filling / regridding.

These are the array cores of :mod:`cropglobe.temporal.composite`. They work on whole blocks of pixels at
once, with bin membership computed once per time axis (observations share one date axis, NaN where
a pixel was not observed). With at most two observations per bin (Sentinel-2's 5-day revisit) the
median is the mean of a bin's first and last member, computed with NaN-aware ``fmax``/``fmin``;
otherwise observations are gathered into a padded ``(N, B, bins, K)`` array and reduced with a
sort-based NaN median. Gaps are filled by linear interpolation in time with the nearest value at
the edges (the ``interpolate_na`` + ``bfill``/``ffill`` recipe of xarray): neighbours come from
running max/min scans with time as the outer axis, found once per sample when the bands share
their gaps, and only the missing cells are computed.
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
        if x.shape[-1] == 3:
            return nanmedian3(x[..., 0], x[..., 1], x[..., 2])
        s = np.sort(x, axis=-1)  # NaN sorts last
        n = np.isfinite(s).sum(axis=-1, keepdims=True)
        lo = np.take_along_axis(s, np.maximum((n - 1) // 2, 0), axis=-1)
        hi = np.take_along_axis(s, n // 2 - (n == 0), axis=-1)
        med = (lo + hi)[..., 0] * x.dtype.type(0.5)
        med[n[..., 0] == 0] = np.nan
        return med


def nanmedian3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """NaN-aware median of three same-shape arrays, element-wise, without sorting.

    Three finite values: ``max(min(a, b), min(max(a, b), c))``; fewer: the mean of the finite ones
    (the median of one or two values); none: NaN. Equal to :func:`numpy.nanmedian` over a stacked
    last axis of length 3.
    """
    fa, fb, fc = np.isfinite(a), np.isfinite(b), np.isfinite(c)
    n = fa.astype(a.dtype) + fb + fc
    total = np.where(fa, a, 0) + np.where(fb, b, 0) + np.where(fc, c, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        med = total / n  # 0/0 = NaN where nothing is finite
    three = fa & fb & fc
    if three.any():
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        np.copyto(med, np.maximum(lo, np.minimum(hi, c)), where=three)
    return med.astype(a.dtype, copy=False)


def bin_median_time_major(values: np.ndarray, valid: np.ndarray, day: np.ndarray, interval: int,
                          n_bins: int) -> np.ndarray:
    """:func:`bin_median` on time-major arrays (raster strips need no transpose).

    Args:
        values: (T, B, P) float array (NaN = missing), T sorted observation dates.
        valid: (T, P) bool, observations passing the clear-sky test.
        day: (T,) increasing day offsets of the observations from the start of the axis.
        interval: Bin width in days.
        n_bins: Number of bins.

    Returns:
        (bins, B, P) medians, NaN where a bin has no valid observation. Bins with at most three
        observations use the sort-free :func:`nanmedian3`; fuller bins the sort-based median.
    """
    day = np.asarray(day, dtype=np.int64)
    _, nb, p = values.shape
    out = np.full((n_bins, nb, p), np.nan, dtype=values.dtype)
    index, present = bin_members(day, interval, n_bins)
    nan = values.dtype.type(np.nan)
    counts = present.sum(axis=1)
    for k in np.unique(counts):
        bins = np.flatnonzero(counts == k)
        if k == 0:
            continue
        members = []
        for j in range(k):  # the j-th observation of each bin, masked: (bins, B, P)
            pick = _as_slice(index[bins, j])  # evenly spaced dates: a view, masked in one pass
            members.append(np.where(valid[pick][:, None, :], values[pick], nan))
        every = bins.size == n_bins  # one group holds every bin: write straight into ``out``
        if k == 1:
            out[bins] = members[0]
        elif k == 2:
            a, c = members
            med = np.fmax(a, c, out=out if every else None)
            med += np.fmin(a, c, out=a)
            med *= values.dtype.type(0.5)
            if not every:
                out[bins] = med
        elif k == 3:
            out[bins] = nanmedian3(*members)
        else:
            out[bins] = nanmedian_last(np.stack(members, axis=-1))
    return out


def _as_slice(idx: np.ndarray) -> slice | np.ndarray:
    """``idx`` as a slice when it is an arithmetic progression with a positive step (a view, no gather)."""
    if idx.size > 1:
        step = int(idx[1] - idx[0])
        if step > 0 and (np.diff(idx) == step).all():
            return slice(int(idx[0]), int(idx[-1]) + 1, step)
    return idx


def fill_gaps_time_major(values: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fill_gaps` on a (T, B, P) array, in place; returns it and the (T, P) missing-band counts.

    Same result as ``fill_gaps`` on the (P, B, T) transpose: linear in ``x``, nearest value at the
    edges, neighbours found once per pixel when its bands share their gaps.
    """
    x = np.asarray(x, dtype=np.float64)
    t, nb, p = values.shape
    miss = np.isnan(values)
    gaps = miss.sum(axis=1, dtype=np.int16)  # (T, P)
    all_b, any_b = gaps == nb, gaps > 0
    odd = (all_b != any_b).any(axis=0)  # (P,)
    if any_b.any():
        prev, nxt = _scan_neighbours(all_b)
        ti, pi = np.nonzero(all_b & ~odd[None, :])
        ok, q0, q1, frac = _weights(ti, prev[ti, pi], nxt[ti, pi], t, x)
        ti, pi = ti[ok], pi[ok]
        vp = values[q0, :, pi]  # (cells, B)
        vq = values[q1, :, pi]
        vq -= vp
        vq *= frac.astype(values.dtype)[:, None]
        vq += vp
        values[ti, :, pi] = vq
        if odd.any():
            cols = np.flatnonzero(odd)
            sub = np.ascontiguousarray(values[:, :, cols].transpose(2, 1, 0))  # (n, B, T)
            filled = _fill_rows(sub.reshape(-1, t), x).reshape(sub.shape)
            values[:, :, cols] = filled.transpose(2, 1, 0)
    return values, gaps


def bin_median(values: np.ndarray, valid: np.ndarray, day: np.ndarray, interval: int, n_bins: int,
               chunk: int = 2048) -> np.ndarray:
    """Median of the valid observations in each bin.

    Args:
        values: (N, B, T) float array (NaN = missing).
        valid: (N, T) bool, observations passing the clear-sky test.
        day: (T,) increasing day offsets of the observations from the start of the axis.
        interval: Bin width in days.
        n_bins: Number of bins.
        chunk: Pixels per block (bounds the memory of temporaries).

    Returns:
        (N, B, bins) medians, NaN where a bin has no valid observation.
    """
    day = np.asarray(day, dtype=np.int64)
    index, present = bin_members(day, interval, n_bins)
    if index.shape[1] <= 2:
        return _bin_pairs(values, valid, day, interval, n_bins, min(chunk, 1024))
    n, nb, _ = values.shape
    out = np.empty((n, nb, n_bins), dtype=values.dtype)
    nan = values.dtype.type(np.nan)
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        keep = valid[lo:hi][:, index] & present  # (n, bins, K)
        gathered = np.where(keep[:, None], values[lo:hi][:, :, index], nan)
        out[lo:hi] = nanmedian_last(gathered)
    return out


def _bin_pairs(values: np.ndarray, valid: np.ndarray, day: np.ndarray, interval: int, n_bins: int,
               chunk: int) -> np.ndarray:
    """Bins holding at most two observations: the median is their mean.

    Sorted dates make every bin a contiguous run of the time axis, so its first and last
    observations are its (at most) two members; with NaN for masked ones,
    ``(fmax(a, b) + fmin(a, b)) / 2`` is their mean, the single valid value, or NaN.
    """
    n, nb, _ = values.shape
    out = np.full((n, nb, n_bins), np.nan, dtype=values.dtype)
    inside = np.flatnonzero((day >= 0) & (day < n_bins * interval))
    if inside.size == 0:
        return out
    b = day[inside] // interval
    bins, first = np.unique(b, return_index=True)
    last = np.r_[first[1:], b.size] - 1
    i0, i1 = inside[first], inside[last]
    nan, half = values.dtype.type(np.nan), values.dtype.type(0.5)
    every = bins.size == n_bins
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        block, bad = values[lo:hi], ~valid[lo:hi]
        a = np.take(block, i0, axis=2)
        np.copyto(a, nan, where=bad[:, None, i0])
        c = np.take(block, i1, axis=2)
        np.copyto(c, nan, where=bad[:, None, i1])
        med = np.fmax(a, c)
        med += np.fmin(a, c, out=c)
        med *= half
        if every:
            out[lo:hi] = med
        else:
            out[lo:hi, :, bins] = med
    return out


def regrid_neighbours(x_src: np.ndarray, x_tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(before, after)`` (R,) int64: the last source position <= each target (-1 when none) and the first
    >= it (S when none), of increasing ``x_src`` (S,); :func:`regrid_linear` interpolates between them."""
    before = np.searchsorted(x_src, x_tgt, side="right").astype(np.int64) - 1
    after = np.searchsorted(x_src, x_tgt, side="left").astype(np.int64)
    return before, after


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
    before, after = regrid_neighbours(x_src, x_tgt)
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


def _scan_neighbours(miss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Previous and next non-missing position for each cell of a (T, M) mask (-1 / T when none).

    Time is the outer axis, so each of the T steps is one vector operation over all M series.
    """
    t = miss.shape[0]
    pos = np.arange(t, dtype=np.int16)[:, None]
    prev = np.where(miss, np.int16(-1), pos)
    nxt = np.where(miss, np.int16(t), pos)
    for i in range(1, t):
        np.maximum(prev[i - 1], prev[i], out=prev[i])
    for i in range(t - 2, -1, -1):
        np.minimum(nxt[i + 1], nxt[i], out=nxt[i])
    return prev, nxt


def _weights(ti: np.ndarray, p: np.ndarray, q: np.ndarray, t: int,
             x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Neighbours and interpolation weight of missing cells (nearest at the edges).

    Returns ``(ok, p, q, frac)``: ``ok`` flags the cells that have any neighbour; the others are
    already removed from ``p``, ``q`` and ``frac``.
    """
    ok = (p >= 0) | (q < t)
    ti, p, q = ti[ok], p[ok], q[ok]
    p = np.where(p >= 0, p, q).astype(np.intp)
    q = np.where(q < t, q, p).astype(np.intp)
    span = x[q] - x[p]
    frac = np.divide(x[ti] - x[p], span, out=np.zeros_like(span), where=span > 0)
    return ok, p, q, frac


def fill_gaps(values: np.ndarray, x: np.ndarray, gaps: np.ndarray | None = None, inplace: bool = False) -> np.ndarray:
    """Fill NaN along the last axis by linear interpolation in ``x``, nearest value at the edges.

    For (N, B, T) input whose bands share one gap pattern per sample (the usual case: a cloudy
    observation is missing in every band) neighbours and weights are found once per sample and
    applied to all bands; other series are filled one by one (vectorised over series).

    Args:
        values: (..., T) array; with 3 dims the middle one is treated as bands of one sample.
        x: (T,) increasing positions (bin starts).
        gaps: Optional (N, T) count of NaN bands per cell of a 3-dim ``values`` (saves a pass).
        inplace: Fill a 3-dim ``values`` in place (saves a copy).

    Returns:
        The filled array (same shape and dtype); all-NaN series stay NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    if values.ndim != 3:
        flat = values.reshape(-1, values.shape[-1])
        rows = np.flatnonzero(np.isnan(flat).any(axis=1))
        out = flat.copy()
        if rows.size:
            out[rows] = _fill_rows(flat[rows], x)
        return out.reshape(values.shape)
    if gaps is None:
        gaps = np.isnan(values).sum(axis=1)
    all_b, any_b = gaps == values.shape[1], gaps > 0
    odd = (all_b != any_b).any(axis=1)  # bands with different gaps: filled series by series
    t = values.shape[-1]
    prev, nxt = _scan_neighbours(np.ascontiguousarray(all_b.T))  # (T, N)
    ti, ni = np.nonzero((all_b & ~odd[:, None]).T)  # missing cells, all bands at once
    ok, p, q, frac = _weights(ti, prev[ti, ni], nxt[ti, ni], t, x)
    ti, ni = ti[ok], ni[ok]
    out = values if inplace else values.copy()
    vp = values[ni, :, p]  # (cells, B)
    vq = values[ni, :, q]
    vq -= vp
    vq *= frac.astype(values.dtype)[:, None]
    vq += vp
    out[ni, :, ti] = vq
    if odd.any():
        rows = np.flatnonzero(odd)
        out[rows] = _fill_rows(values[rows].reshape(-1, t), x).reshape(values[rows].shape)
    return out


def _fill_rows(rows: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Fill each (M, T) row independently (see :func:`fill_gaps`)."""
    out = rows.copy()
    m = np.ascontiguousarray(np.isnan(rows).T)
    prev, nxt = _scan_neighbours(m)
    ti, ri = np.nonzero(m)
    ok, p, q, frac = _weights(ti, prev[ti, ri], nxt[ti, ri], m.shape[0], x)
    ti, ri = ti[ok], ri[ok]
    vp, vq = rows[ri, p].astype(np.float64), rows[ri, q].astype(np.float64)
    out[ri, ti] = vp + frac * (vq - vp)
    return out
