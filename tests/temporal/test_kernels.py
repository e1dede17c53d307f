"""The compiled map kernels equal the training kernels.

Those of :mod:`cropglobe.temporal.gapfill` / :mod:`cropglobe.temporal.composite`.
"""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.mapping.cube import Decoding
from cropglobe.temporal import composite, gapfill, kernels

KEEP = np.zeros(256, dtype=np.bool_)
KEEP[list(composite.SCL_KEEP)] = True
NONE = np.zeros((0, 0), dtype=np.float32)


def _series(seed: int, dn: bool):
    """Irregular dates (0-5 per 5-day bin), some cloudy or missing, as raw uint16 DN or float reflectance."""
    rng = np.random.default_rng(seed)
    n_bins, interval, p, b = 30, 5, 97, 4
    per_bin = rng.choice([0, 1, 2, 2, 3, 5], size=n_bins)
    day = np.concatenate([np.sort(rng.choice(interval, k, replace=False)) + j * interval
                          for j, k in enumerate(per_bin)]).astype(np.int64)
    t = day.size
    refl = rng.uniform(0.01, 0.6, size=(t, b, p)).astype(np.float32)
    missing = rng.random((t, b, p)) < 0.08  # single bands missing
    missing[:, :, :5] = rng.random((t, 1, 5)) < 0.5  # whole observations missing
    clear = rng.uniform(0, 1, size=(t, p)).astype(np.float32)
    clear[:, 90:] = 0.1  # never clear
    if dn:
        dec = Decoding(scale=1e-4, nodata=65535.0, clear_scale=0.01, clear_fill=255.0)
        raw = np.where(missing, 65535, np.round(refl * 1e4)).astype(np.uint16)
        craw = np.round(clear * 100).astype(np.uint8)
        craw[rng.random((t, p)) < 0.05] = 255
    else:
        dec = Decoding()
        raw = np.where(missing, np.float32(np.nan), refl)
        craw = clear
    return raw, craw, day, interval, n_bins, dec


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dn", [False, True])
@pytest.mark.parametrize("with_scl", [False, True])
def test_bin_medians_equal_the_training_kernel(seed, dn, with_scl):
    raw, craw, day, interval, n_bins, dec = _series(seed, dn)
    t, _, p = raw.shape
    scl = (
        np.random.default_rng(seed).choice(np.array([4, 5, 8, 9, 3], dtype=np.uint8), size=(t, p)) if with_scl else None
    )
    refl, clear = dec.reflectance(raw), dec.clear(craw)
    valid = composite.usable(refl, clear, scl, 0.75)
    want = gapfill.bin_median_time_major(refl, valid, day, interval, n_bins)
    edges = np.searchsorted(day, interval * np.arange(n_bins + 1))
    w_lo, w_hi = (int(i) for i in np.searchsorted(day, [20, 120]))
    out = np.empty((n_bins,) + raw.shape[1:], dtype=np.float32)
    n_clear = np.empty(p, dtype=np.int64)
    masks = (craw, NONE.astype(np.uint8) if scl is None else scl, KEEP)
    decode = kernels.decoding(dec.scale, dec.offset, dec.nodata, dec.clear_scale, dec.clear_fill, 0.75)
    kernels.bin_medians(raw, masks, decode, (edges[:-1], edges[1:]), (w_lo, w_hi), out, n_clear)
    np.testing.assert_array_equal(out, want)  # same float32 arithmetic: bit for bit
    np.testing.assert_array_equal(n_clear, valid[w_lo:w_hi].sum(axis=0))
    assert np.isnan(out[:, :, 90:]).all() and (n_clear[90:] == 0).all()


def test_bin_medians_apply_the_offset():
    raw, craw, day, interval, n_bins, _ = _series(3, dn=True)
    dec = Decoding(scale=1e-4, offset=-0.1, nodata=65535.0, clear_scale=0.01, clear_fill=255.0)
    refl, clear = dec.reflectance(raw), dec.clear(craw)
    want = gapfill.bin_median_time_major(refl, composite.usable(refl, clear, None, 0.75), day, interval, n_bins)
    edges = np.searchsorted(day, interval * np.arange(n_bins + 1))
    out = np.empty((n_bins,) + raw.shape[1:], dtype=np.float32)
    kernels.bin_medians(raw, (craw, NONE.astype(np.uint8), KEEP), kernels.decoding(1e-4, -0.1, 65535, 0.01, 255, 0.75),
                        (edges[:-1], edges[1:]), (0, 0), out, np.empty(raw.shape[2], dtype=np.int64))
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_fill_window_equals_fill_gaps(seed):
    raw, craw, day, interval, n_bins, dec = _series(seed, dn=False)
    refl, clear = dec.reflectance(raw), dec.clear(craw)
    medians = gapfill.bin_median_time_major(refl, composite.usable(refl, clear, None, 0.75), day, interval, n_bins)
    medians[:, 2, 40] = np.nan  # one band never observed
    medians[:4, :, 41] = np.nan  # gap at the start of the range
    medians[-3:, 1, 42] = np.nan  # one band's gap at the end
    x = (np.arange(n_bins) * interval + 1).astype(np.float64)
    w0, count = 6, 18
    want = gapfill.fill_gaps(np.ascontiguousarray(medians.transpose(2, 1, 0)), x).transpose(2, 1, 0)[w0:w0 + count]
    out = np.empty((medians.shape[2], medians.shape[1], count), dtype=np.float32)  # sample-major
    filled, edge = np.empty(medians.shape[2], dtype=np.bool_), np.empty(medians.shape[2], dtype=np.bool_)
    before = medians.copy()
    kernels.fill_window(medians, x, w0, count, out, filled, edge)
    np.testing.assert_array_equal(medians, before)  # input untouched
    np.testing.assert_array_equal(out.transpose(2, 1, 0), want)  # bit for bit (NaN where never observed)
    has = ~np.isnan(medians)  # (bins, band, P)
    np.testing.assert_array_equal(filled, has.any(axis=0).all(axis=0))
    want_edge = ~(has[:w0 + 1].any(axis=0).all(axis=0) & has[w0 + count - 1:].any(axis=0).all(axis=0))
    np.testing.assert_array_equal(edge, want_edge)
    assert not filled[40] and edge[40]  # a band never observed: the full year may hold it


@pytest.mark.parametrize("pixels", [1, 300, 513])
def test_window_sample_major_is_the_transposing_copy(pixels):
    values = np.random.default_rng(pixels).random((20, 3, pixels)).astype(np.float32)
    values[:, 1, 0] = np.nan  # a band without any value
    if pixels > 1:
        values[5, 2, pixels - 1] = np.nan  # one gap outside the window
    w0, count = 7, 9
    out = np.empty((pixels, 3, count), dtype=np.float32)
    filled = np.empty(pixels, dtype=np.bool_)
    kernels.window_sample_major(values, w0, count, out, filled)
    np.testing.assert_array_equal(out, values[w0:w0 + count].transpose(2, 1, 0))
    np.testing.assert_array_equal(filled, ~np.isnan(values).any(axis=(0, 1)))
    assert not filled[0]
    if pixels > 2:
        assert filled[1] and not filled[-1]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("dn", [False, True])
@pytest.mark.parametrize("with_scl", [False, True])
@pytest.mark.parametrize("counted", [(4, 16), (0, 30), (12, 14)])
def test_window_direct_decodes_the_clear_complete_windows(seed, dn, with_scl, counted):
    """Decoded window = the decoder's values; ``direct`` = every window bin clear, every band finite."""
    raw, craw, _, _, _, dec = _series(seed, dn)
    raw = raw[:30]  # one value per aligned bin
    craw = craw[:30]
    rng = np.random.default_rng(seed)
    craw[:, 60:90] = np.round(100 * 0.9) if dn else np.float32(0.9)  # clear and complete throughout: direct
    raw[:, :, 60:90] = rng.integers(100, 5000, size=(30, raw.shape[1], 30)) * (1 if dn else 1e-4)
    raw[8, 2, 62] = 65535 if dn else np.nan  # but one band missing in one window bin
    if not dn:
        raw[10, 1, 61] = np.inf  # and an infinite value: not direct
    scl = rng.choice(np.array([4, 4, 4, 5, 9], dtype=np.uint8), size=craw.shape) if with_scl else None
    if scl is not None:
        scl[:, 60:90] = 4
    w0, count = 6, 9
    decode = kernels.decoding(dec.scale, dec.offset, dec.nodata, dec.clear_scale, dec.clear_fill, 0.5)
    masks = (craw, NONE.astype(np.uint8) if scl is None else scl, KEEP)
    p, b = raw.shape[2], raw.shape[1]
    out, n_clear, direct = (np.empty((p, b, count), dtype=np.float32), np.empty(p, dtype=np.int64),
                            np.empty(p, dtype=np.bool_))
    kernels.window_direct(raw, masks, decode, w0, count, counted, (out, n_clear, direct))
    refl = dec.reflectance(raw)
    ok = composite.usable(refl, dec.clear(craw), scl, 0.5, composite.SCL_KEEP)
    np.testing.assert_array_equal(out, refl[w0:w0 + count].transpose(2, 1, 0))
    np.testing.assert_array_equal(n_clear, ok[counted[0]:counted[1]].sum(axis=0))
    want = ok[w0:w0 + count].all(axis=0) & np.isfinite(refl[w0:w0 + count]).all(axis=(0, 1))
    np.testing.assert_array_equal(direct, want)
    assert 0 < direct.sum() < p and not direct[62] and (dn or not direct[61])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regrid_rows_equals_regrid_linear(dtype):
    rng = np.random.default_rng(7)
    x_src = np.sort(rng.choice(np.arange(0.0, 365.0, 1.0), 13, replace=False)) + 0.5  # irregular, e.g. dekads
    values = rng.random((400, 13)).astype(dtype)
    values[rng.random(values.shape) < 0.3] = np.nan  # gaps
    values[0] = np.nan  # a row without any value
    values[1, :12], values[1, 12] = np.nan, 0.5  # one value, at the end only
    values[2, 5] = np.inf  # inf counts as missing
    x_tgt = np.arange(-10.0, 380.0, 5.0) + 2.5  # before, between, on and after the sources
    x_tgt[7] = x_src[3]  # a target exactly on a source
    before, after = gapfill.regrid_neighbours(x_src, x_tgt)
    out = np.empty((400, x_tgt.size), dtype=dtype)
    kernels.regrid_rows(values, x_src, x_tgt, before, after, out)
    want = gapfill.regrid_linear(values, x_src, x_tgt)
    assert want.dtype == out.dtype
    np.testing.assert_array_equal(out, want)  # bit for bit, NaN where a row has no value
    assert np.isnan(out[0]).all() and (out[1] == dtype(0.5)).all()
