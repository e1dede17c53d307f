"""Compiled (numba) kernels of the map tiles: clear-sky test, bin medians and gap filling on raw cube values.

The map spends its time per pixel in three places: reading the cube, compositing the observations
and running the model. These kernels make the compositing cheap and let the reader skip decoding:
they take the cube's *raw* values (e.g. Sentinel-2 L2A digital numbers as uint16, or float32
reflectance) with the cube's decoding (``scale``, ``nodata``; the clear score's ``scale`` and
fill value), decode each value as it is used, and run the same arithmetic as the training kernels
of :mod:`cropglobe.temporal.gapfill` / :mod:`cropglobe.temporal.composite` in the same float32 order, so a map
pixel's composite equals the training composite of the same series (tests check it against
:func:`cropglobe.mapping.predict.composite_block` and :func:`cropglobe.temporal.composite.composite`).

* :func:`bin_medians` - the clear-sky rule of :func:`cropglobe.temporal.composite.usable` (some band observed,
  clear score >= threshold, SCL code kept), the median of each bin's clear observations per band
  (mean of the two middle values for even counts, as :func:`numpy.nanmedian`) and the number of
  clear observations inside the season window.
* :func:`fill_window` - linear gap filling in time with the nearest value at the edges (the
  ``interpolate_na`` + ``bfill``/``ffill`` recipe of :func:`cropglobe.temporal.gapfill.fill_gaps`), written
  only for the season window's bins, plus per pixel whether every band has a value and whether a
  band's neighbours lie outside the bins given (then the caller composites the full year).
* :func:`window_sample_major` - a pre-composited tile's season window, copied from the time-major
  composite into the sample-major layout the features take, block by block in the cache.
* :func:`window_direct` - a pre-composited cube already on the aligned bins: the window decoded straight
  from raw values, for the pixels whose window is clear and complete (no re-gridding, no full-year decode).
* :func:`regrid_rows` - a pre-composited cube's steps (monthly, dekadal ...) re-gridded to the
  aligned bins, :func:`cropglobe.temporal.gapfill.regrid_linear`'s arithmetic row by row.

All of them release the GIL (``nogil``), so the Dask threads of a map composite tiles in parallel. They
are compiled on first use and cached next to this file (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit


def decoding(scale: float, offset: float, nodata: float, clear_scale: float, clear_fill: float,
             threshold: float) -> np.ndarray:
    """The scalars :func:`bin_medians` decodes raw values with, as one float32 array (numba takes no objects).

    Args:
        scale: Reflectance scale (1 for reflectance already in 0-1); ``raw * scale + offset`` is reflectance.
        offset: Reflectance offset added after the scale (0 for none).
        nodata: Raw value meaning missing (NaN when none; NaN is always missing).
        clear_scale: Scale of the clear score.
        clear_fill: Raw clear value meaning missing (NaN when none).
        threshold: Clear-score threshold (``score * clear_scale >= threshold``).

    Returns:
        ``[scale, offset, nodata, clear_scale, clear_fill, threshold]`` as float32 (each rounded as a
        float32 scalar argument was).
    """
    return np.array([scale, offset, nodata, clear_scale, clear_fill, threshold], dtype=np.float32)


@njit(cache=True, nogil=True)
def bin_medians(refl, masks, decode, bins, window, out, n_clear):  # pragma: no cover - compiled
    """Medians of the clear observations of each bin, per band and pixel, from raw values.

    Args:
        refl: (T, B, P) raw reflectance (any numeric dtype); ``raw * scale + offset`` is reflectance.
        masks: ``(clear, scl, keep)``: the (T, P) raw clear-sky score, or a (0, 0) array when the cube
            has none; the (T, P) uint8 scene classes, or a (0, 0) array when the cube has none; the
            (256,) bool SCL codes that count as clear.
        decode: (6,) float32 ``[scale, offset, nodata, clear_scale, clear_fill, threshold]``
            (:func:`decoding`).
        bins: ``(bin_lo, bin_hi)``: (n_bins,) int64 first observation index of each bin (dates
            sorted) and one past its last.
        window: ``(win_lo, win_hi)``: the first observation index counted in ``n_clear`` (the season
            window) and one past the last one.
        out: (n_bins, B, P) float32 output, NaN where a bin has no clear value of a band.
        n_clear: (P,) int64 output, clear observations in ``[win_lo, win_hi)``.
    """
    clear, scl, keep = masks
    scale, offset, nodata = decode[0], decode[1], decode[2]
    clear_scale, clear_fill, threshold = decode[3], decode[4], decode[5]
    bin_lo, bin_hi = bins
    win_lo, win_hi = window
    t_all, nb, npx = refl.shape
    t0 = min(win_lo, bin_lo[0])
    t1 = max(win_hi, bin_hi[-1])
    kmax = 1
    for j in range(bin_lo.size):
        kmax = max(kmax, bin_hi[j] - bin_lo[j])
    buf = np.empty(kmax, dtype=np.float32)
    half = np.float32(0.5)
    chunk = 1024  # pixels per pass: long contiguous runs per date and band (measured fastest from 1,024 up)
    valid = np.zeros((max(t1 - t0, 0), chunk), dtype=np.bool_)
    seen = np.empty(chunk, dtype=np.bool_)
    for c0 in range(0, npx, chunk):
        c1 = min(c0 + chunk, npx)
        for t in range(t0, t1):  # pass 1: the clear-sky test of each observation
            for p in range(c1 - c0):
                seen[p] = False
            for b in range(nb):
                for p in range(c0, c1):
                    x = np.float32(refl[t, b, p])
                    seen[p - c0] |= (x == x) & (x != nodata)
            for p in range(c0, c1):
                ok = seen[p - c0]
                if ok and clear.shape[0] > 0:
                    c = np.float32(clear[t, p])
                    ok = c != clear_fill and c * clear_scale >= threshold
                if ok and scl.shape[0] > 0:
                    ok = keep[scl[t, p]]
                valid[t - t0, p - c0] = ok
        for p in range(c0, c1):
            n = 0
            for t in range(win_lo, win_hi):
                if valid[t - t0, p - c0]:
                    n += 1
            n_clear[p] = n
        for j in range(bin_lo.size):  # pass 2: medians
            lo, hi = bin_lo[j], bin_hi[j]
            m = hi - lo
            for b in range(nb):
                if m == 0:
                    for p in range(c0, c1):
                        out[j, b, p] = np.nan
                elif m == 1:
                    for p in range(c0, c1):
                        x = np.float32(refl[lo, b, p])
                        ok = valid[lo - t0, p - c0] & (x == x) & (x != nodata)
                        out[j, b, p] = x * scale + offset if ok else np.float32(np.nan)
                elif m == 2:  # Sentinel-2's revisit: at most two dates per 5-day bin (branch-free, vectorised)
                    for p in range(c0, c1):
                        x = np.float32(refl[lo, b, p])
                        y = np.float32(refl[lo + 1, b, p])
                        ox = valid[lo - t0, p - c0] & (x == x) & (x != nodata)
                        oy = valid[lo + 1 - t0, p - c0] & (y == y) & (y != nodata)
                        x = x * scale + offset
                        y = y * scale + offset
                        both = (x + y) * half
                        one = x if ox else y
                        out[j, b, p] = both if (ox & oy) else (one if (ox | oy) else np.float32(np.nan))
                elif m == 3:  # where orbits overlap: three dates per bin (branch-free; the sort's middle value)
                    for p in range(c0, c1):
                        x = np.float32(refl[lo, b, p])
                        y = np.float32(refl[lo + 1, b, p])
                        z = np.float32(refl[lo + 2, b, p])
                        ox = valid[lo - t0, p - c0] & (x == x) & (x != nodata)
                        oy = valid[lo + 1 - t0, p - c0] & (y == y) & (y != nodata)
                        oz = valid[lo + 2 - t0, p - c0] & (z == z) & (z != nodata)
                        x = x * scale + offset
                        y = y * scale + offset
                        z = z * scale + offset
                        k = np.int32(ox) + np.int32(oy) + np.int32(oz)
                        lo_xy = min(x, y)
                        mid = max(lo_xy, min(max(x, y), z))  # median of three = sorted middle
                        two = ((x + y) if oz == 0 else ((x + z) if oy == 0 else (y + z))) * half
                        one = x if ox else (y if oy else z)
                        out[j, b, p] = mid if k == 3 else (two if k == 2 else (one if k == 1 else np.float32(np.nan)))
                else:
                    for p in range(c0, c1):
                        k = 0
                        for t in range(lo, hi):
                            if valid[t - t0, p - c0]:
                                x = np.float32(refl[t, b, p])
                                if x == x and x != nodata:
                                    buf[k] = x * scale + offset
                                    k += 1
                        if k == 0:
                            out[j, b, p] = np.nan
                        elif k == 1:
                            out[j, b, p] = buf[0]
                        elif k == 2:
                            out[j, b, p] = (buf[0] + buf[1]) * half
                        else:
                            for i in range(1, k):  # insertion sort of a handful of values
                                v = buf[i]
                                q = i - 1
                                while q >= 0 and buf[q] > v:
                                    buf[q + 1] = buf[q]
                                    q -= 1
                                buf[q + 1] = v
                            out[j, b, p] = (buf[(k - 1) // 2] + buf[k // 2]) * half


@njit(cache=True, nogil=True)
def fill_window(values, x, w0, count, out, filled, edge):  # pragma: no cover - compiled
    """Fill the gaps of the window bins ``[w0, w0 + count)`` linearly in ``x``, nearest at the edges.

    The arithmetic is :func:`cropglobe.temporal.gapfill.fill_gaps`'s, bit for bit: float32 steps for
    a pixel whose bands share their gaps (within ``values``), float64 rounded once for the others.

    Args:
        values: (n_bins, B, P) float32 bin medians, NaN = gap (not modified).
        x: (n_bins,) float64 bin positions (bin start days).
        w0: First window bin.
        count: Number of window bins.
        out: (P, B, count) float32 output, sample-major (the layout features take), NaN where a band has
            no value at all.
        filled: (P,) bool output, every band has at least one value.
        edge: (P,) bool output, some band has no value in ``[0, w0]`` or none in
            ``[w0 + count - 1, n_bins)`` (or none at all): its window may depend on bins outside
            ``values``.
    """
    n, nb, npx = values.shape
    chunk = 128  # pixels per pass (measured: 64-128 fastest)
    prev = np.empty((n, chunk), dtype=np.int32)
    last = np.empty(chunk, dtype=np.int32)
    odd = np.empty(chunk, dtype=np.bool_)  # bands with different gaps: fill_gaps's float64 path (_fill_rows)
    gaps = np.empty(chunk, dtype=np.int32)  # bands with a gap in one bin
    win = np.empty((count, chunk), dtype=np.float32)  # one band's window bins, time-major (written sample-major)
    for p in range(npx):
        filled[p] = True
        edge[p] = False
    for c0 in range(0, npx, chunk):
        c1 = min(c0 + chunk, npx)
        for p in range(c1 - c0):
            odd[p] = False
        for j in range(n):  # gaps per bin, band by band along contiguous pixels (not across bands per pixel)
            for p in range(c1 - c0):
                gaps[p] = 0
            for b in range(nb):
                for p in range(c0, c1):
                    v = values[j, b, p]
                    gaps[p - c0] += v != v
            for p in range(c1 - c0):
                if gaps[p] != 0 and gaps[p] != nb:
                    odd[p] = True
        for b in range(nb):
            for p in range(c1 - c0):
                last[p] = -1
            for j in range(n):  # forward: the last value at or before each bin
                for p in range(c0, c1):
                    v = values[j, b, p]
                    last[p - c0] = j if v == v else last[p - c0]
                    prev[j, p - c0] = last[p - c0]
            for p in range(c0, c1):
                if prev[n - 1, p - c0] < w0 + count - 1:  # no value in the last window bin or after it
                    edge[p] = True
                last[p - c0] = n
            for j in range(n - 1, -1, -1):  # backward: the next value; fill the window's gaps
                inside = w0 <= j < w0 + count
                for p in range(c0, c1):
                    v = values[j, b, p]
                    if v == v:
                        last[p - c0] = j
                        if inside:
                            win[j - w0, p - c0] = v
                    elif inside:
                        lo, hi = prev[j, p - c0], last[p - c0]
                        if lo < 0 and hi >= n:
                            win[j - w0, p - c0] = np.nan
                        elif lo < 0:
                            win[j - w0, p - c0] = values[hi, b, p]
                        elif hi >= n:
                            win[j - w0, p - c0] = values[lo, b, p]
                        elif odd[p - c0]:  # as _fill_rows: float64, rounded once
                            vp = np.float64(values[lo, b, p])
                            vq = np.float64(values[hi, b, p])
                            frac = (x[j] - x[lo]) / (x[hi] - x[lo])
                            win[j - w0, p - c0] = np.float32(vp + frac * (vq - vp))
                        else:  # as fill_gaps on bands sharing their gaps: float32 steps
                            v0 = values[lo, b, p]
                            d = np.float32(values[hi, b, p] - v0)
                            f = np.float32((x[j] - x[lo]) / (x[hi] - x[lo]))
                            win[j - w0, p - c0] = np.float32(np.float32(d * f) + v0)
            for p in range(c0, c1):
                for j in range(count):
                    out[p, b, j] = win[j, p - c0]
            for p in range(c0, c1):
                if last[p - c0] == n:  # no value in these bins: the full year may have one
                    filled[p] = False
                    edge[p] = True
                elif last[p - c0] > w0:  # no value in the first window bin or before it
                    edge[p] = True


@njit(cache=True, nogil=True)
def window_sample_major(values, w0, count, out, filled):  # pragma: no cover - compiled
    """Copy the window bins ``[w0, w0 + count)`` of a time-major composite into the sample-major layout.

    ``out[p, b, t] = values[w0 + t, b, p]``: the transposing copy of ``values[w0:w0 + count]
    .transpose(2, 1, 0)``, value for value, in blocks of pixels that stay in the cache (about half
    the time of numpy's strided copy, which cost a pre-composited tile more than the rest of its
    compositing). ``filled[p]`` is False where some bin of some band of the pixel is NaN, as
    ``~np.isnan(values).any(axis=(0, 1))``.

    Args:
        values: (n_bins, B, P) float32 composite.
        w0: First window bin.
        count: Number of window bins.
        out: (P, B, count) float32 output.
        filled: (P,) bool output.
    """
    n, nb, npx = values.shape
    chunk = 256  # pixels per block (measured: 64-256 alike, 256 a little faster)
    for c0 in range(0, npx, chunk):
        c1 = min(c0 + chunk, npx)
        for b in range(nb):
            for j in range(count):
                for p in range(c0, c1):
                    out[p, b, j] = values[w0 + j, b, p]
    for p in range(npx):
        filled[p] = True
    for j in range(n):
        for b in range(nb):
            for p in range(npx):
                if values[j, b, p] != values[j, b, p]:
                    filled[p] = False


@njit(cache=True, nogil=True)
def window_direct(refl, masks, decode, w0, count, counted, outputs):  # pragma: no cover - compiled
    """A pre-composited cube on the aligned bins: its window decoded straight from raw values, sample-major.

    Where every window bin of a pixel is clear (:func:`bin_medians`' rule) and holds a finite value
    of every band, the composite's window is the cube's own values, decoded (``raw * scale +
    offset``, float32): re-gridding and gap filling leave them unchanged. This kernel decodes only
    those bins (not the full year), writes them sample-major and says which pixels they are; the
    caller composites the others as before.

    Args:
        refl: (T, B, P) raw reflectance on the aligned bins (any numeric dtype).
        masks: ``(clear, scl, keep)`` as :func:`bin_medians` takes them.
        decode: (6,) float32 decoding scalars (:func:`decoding`).
        w0: First window bin (= time index).
        count: Number of window bins.
        counted: ``(lo, hi)``: the time indices whose clear observations ``n_clear`` counts (the
            season window's dates).
        outputs: ``(out, n_clear, direct)``: the (P, B, count) float32 decoded window (NaN where
            missing; exact where ``direct``), the (P,) int64 clear observations in ``[lo, hi)`` and
            the (P,) bool flag "every window bin clear, with finite values of every band".
    """
    out, n_clear, direct = outputs
    clear, scl, keep = masks
    scale, offset, nodata = decode[0], decode[1], decode[2]
    clear_scale, clear_fill, threshold = decode[3], decode[4], decode[5]
    lo, hi = counted
    t_all, nb, npx = refl.shape
    chunk = 256  # pixels per pass (measured: 0.55x the time of writing sample-major directly, 128-256 alike)
    buf = np.empty((count, chunk), dtype=np.float32)  # one band's window, time-major: contiguous, vectorised
    seen = np.zeros((t_all, chunk), dtype=np.uint8)  # some band present, per date
    bad = np.zeros((count, chunk), dtype=np.uint8)  # some band missing or infinite, per window bin
    inf = np.float32(np.inf)
    nan = np.float32(np.nan)
    for c0 in range(0, npx, chunk):
        c1 = min(c0 + chunk, npx)
        n = c1 - c0
        seen[:] = 0
        bad[:] = 0
        for b in range(nb):  # pass 1: decode the window's bins, band by band, then write them sample-major
            for j in range(count):
                row, dst, s_row, d_row = refl[w0 + j, b], buf[j], seen[w0 + j], bad[j]
                for q in range(n):
                    x = np.float32(row[c0 + q])
                    present = (x == x) & (x != nodata)
                    y = x * scale + offset
                    s_row[q] |= present
                    d_row[q] |= (not present) | (abs(y) == inf)
                    dst[q] = y if present else nan
            for q in range(n):
                for j in range(count):
                    out[c0 + q, b, j] = buf[j, q]
        for t in range(lo, hi):  # the counted dates outside the window: presence only
            if w0 <= t < w0 + count:
                continue
            s_row = seen[t]
            for b in range(nb):
                row = refl[t, b]
                for q in range(n):
                    x = np.float32(row[c0 + q])
                    s_row[q] |= (x == x) & (x != nodata)
        for p in range(c0, c1):  # pass 2: the clear-sky rule of bin_medians, per pixel and date
            k = 0
            ok_window = True
            for t in range(min(lo, w0), max(hi, w0 + count)):
                window = w0 <= t < w0 + count
                if not (window or lo <= t < hi):
                    continue
                ok = seen[t, p - c0] != 0
                if ok and clear.shape[0] > 0:
                    c = np.float32(clear[t, p])
                    ok = c != clear_fill and c * clear_scale >= threshold
                if ok and scl.shape[0] > 0:
                    ok = keep[scl[t, p]]
                if ok and lo <= t < hi:
                    k += 1
                if window:
                    ok_window &= ok and bad[t - w0, p - c0] == 0
            n_clear[p] = k
            direct[p] = ok_window


@njit(cache=True, nogil=True)
def regrid_rows(values, x_src, x_tgt, before, after, out):  # pragma: no cover - compiled
    """Interpolate each row linearly from ``x_src`` to ``x_tgt``, skipping NaN; nearest at the edges.

    :func:`cropglobe.temporal.gapfill.regrid_linear`'s arithmetic, bit for bit (float64
    ``vp + frac * (vq - vp)`` rounded once to ``out``'s dtype), one row at a time: numpy's version
    builds a dozen (rows x targets) float64 temporaries, and on a monthly or dekadal cube re-gridded
    to 5-day bins that cost more than the rest of the map.

    Args:
        values: (M, S) rows sampled at ``x_src``; NaN (or inf) = missing.
        x_src: (S,) float64 source positions, strictly increasing.
        x_tgt: (R,) float64 target positions.
        before: (R,) int64 last source index <= each target (-1 when none).
        after: (R,) int64 first source index >= each target (S when none).
        out: (M, R) output; a row without any finite value is NaN.
    """
    m, s = values.shape
    r = x_tgt.size
    prev = np.empty(s, dtype=np.int64)  # last finite index <= j, -1 when none
    nxt = np.empty(s, dtype=np.int64)  # first finite index >= j, s when none
    for i in range(m):
        last = -1
        for j in range(s):
            if np.isfinite(values[i, j]):
                last = j
            prev[j] = last
        first = s
        for j in range(s - 1, -1, -1):
            if np.isfinite(values[i, j]):
                first = j
            nxt[j] = first
        for k in range(r):
            p = prev[before[k]] if before[k] >= 0 else -1
            q = nxt[after[k]] if after[k] < s else s
            if p >= 0 and q < s:
                vp = np.float64(values[i, p])
                vq = np.float64(values[i, q])
                frac = (x_tgt[k] - x_src[p]) / (x_src[q] - x_src[p]) if q > p else 0.0
                out[i, k] = vp + frac * (vq - vp)
            elif p >= 0:
                out[i, k] = values[i, p]
            elif q < s:
                out[i, k] = values[i, q]
            else:
                out[i, k] = np.nan
