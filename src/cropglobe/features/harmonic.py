"""Harmonic-regression features: per-series least-squares Fourier coefficients, vectorised.

Source: harmonic regression of crop reflectance time series as in Wang, Azzari & Lobell (2019),
"Crop type mapping without field-level labels: Random forest transfer and unsupervised clustering
techniques", Remote Sensing of Environment 222 (Landsat bands + GCVI, two harmonics), after
Jakubauskas et al. (2001, harmonic analysis of NDVI time series for crop identification). The
paper we implement (Tong & Wang, arXiv:2509.03497) reports 35 harmonic features without their
exact composition; our default reading is 2 harmonics + a constant (5 coefficients) on 7 inputs:
blue, green, red, NIR, SWIR1, SWIR2 (Sentinel-2 B2, B3, B4, B8, B11, B12) and GCVI = NIR/green - 1.

Model per series: ``y(t) = c + sum_k a_k cos(2 pi k t / P) + b_k sin(2 pi k t / P)`` with ``t`` in
days and period ``P`` (365 by default). Coefficients are ordered ``[c, a_1, b_1, a_2, b_2]`` per
input, inputs in the given order. Amplitude ``sqrt(a_k^2 + b_k^2)`` and phase ``atan2(b_k, a_k)``
follow from them. Masked observations (NaN, or cloudy for observation-level data) are excluded;
series are solved in blocks through batched normal equations (blocks without gaps share one
pseudo-inverse).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from cropglobe.checks import whole_number
from cropglobe.errors import CropGlobeError
from cropglobe.features import indices
from cropglobe.temporal.composite import clear_mask

#: Default inputs: spectral roles (see :data:`cropglobe.features.indices.ROLES`) and index names.
DEFAULT_INPUTS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir1", "swir2", "GCVI")
_BLOCK = 512  # small enough that OpenBLAS stays single-threaded (threads thrash on these shapes)
_SAMPLES = 1024  # samples per fit call in :func:`harmonic` (their float64 series stay in cache)


def design_matrix(t: np.ndarray, order: int = 2, period: float = 365.0) -> np.ndarray:
    """Return the (T, 1 + 2*order) design matrix ``[1, cos(w t), sin(w t), cos(2 w t), ...]``."""
    t = np.asarray(t, dtype=np.float64)
    cols = [np.ones_like(t)]
    for k in range(1, order + 1):
        w = 2.0 * np.pi * k * t / period
        cols += [np.cos(w), np.sin(w)]
    return np.stack(cols, axis=-1)


def fit(y: np.ndarray, t: np.ndarray, mask: np.ndarray | None = None, order: int = 2, period: float = 365.0,
        name_of: Callable[[int], str] | None = None) -> np.ndarray:
    """Least-squares harmonic coefficients of many series sampled at the same times.

    Args:
        y: (M, T) series; NaN values are excluded.
        t: (T,) times in days.
        mask: Optional (M, T) bool, True = use the observation (combined with finiteness).
        order: Number of harmonics.
        period: Period in days.
        name_of: Optional function naming series ``i`` in error messages.

    Returns:
        (M, 1 + 2*order) float64 coefficients.

    Raises:
        CropGlobeError: If a series has fewer valid points than coefficients, or its points do not
            determine them.
    """
    order = whole_number(order, "harmonic order", minimum=0)
    if not period > 0:
        raise CropGlobeError(f"harmonic period={period!r}: expected a positive number of days")
    y = np.asarray(y, dtype=np.float64)
    x = design_matrix(t, order, period)
    p = x.shape[1]
    if mask is None and y.shape[1] >= p and np.isfinite(y.sum(axis=1)).all():  # no gap anywhere (a NaN sums to NaN)
        pinv = np.linalg.pinv(x).T
        if np.linalg.matrix_rank(x) == p:
            return np.concatenate([y[lo:lo + _BLOCK] @ pinv for lo in range(0, y.shape[0], _BLOCK)]) \
                if y.shape[0] else np.empty((0, p))
    ok = np.isfinite(y) if mask is None else (np.asarray(mask, dtype=bool) & np.isfinite(y))
    count = ok.sum(axis=1)
    short = np.flatnonzero(count < p)
    if short.size:
        i = int(short[0])
        who = name_of(i) if name_of is not None else f"series {i}"
        raise CropGlobeError(
            f"harmonic: {who} has {int(count[i])} valid points for {p} coefficients (order {order}); "
            f"expected at least {p} ({short.size} series are short)"
        )
    coef = np.empty((y.shape[0], p))
    pinv = np.linalg.pinv(x).T
    xx = (x[:, :, None] * x[:, None, :]).reshape(x.shape[0], p * p)
    # blocks of rows keep the tall-skinny products small (BLAS threads only contend on them)
    for lo in range(0, y.shape[0], _BLOCK):
        hi = min(lo + _BLOCK, y.shape[0])
        yb, okb = y[lo:hi], ok[lo:hi]
        full = count[lo:hi] == y.shape[1]
        if full.all():
            coef[lo:hi] = yb @ pinv  # no gaps: one shared pseudo-inverse
            continue
        gram = (okb.astype(np.float64) @ xx).reshape(-1, p, p)
        rhs = np.where(okb, yb, 0.0) @ x
        try:
            coef[lo:hi] = np.linalg.solve(gram, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            bad = np.flatnonzero(np.linalg.matrix_rank(gram) < p)
            i = lo + (int(bad[0]) if bad.size else 0)
            who = name_of(i) if name_of is not None else f"series {i}"
            raise CropGlobeError(
                f"harmonic: the valid dates of {who} do not determine {p} coefficients "
                "(too few distinct days within one period); expected well-spread observations"
            ) from None
    return coef


def feature_names(inputs: Sequence[str] = DEFAULT_INPUTS, order: int = 2) -> list[str]:
    """Return the feature names, ``<input>_c``, ``<input>_cos1``, ``<input>_sin1``, ..."""
    terms = ["c"] + [f"{f}{k}" for k in range(1, order + 1) for f in ("cos", "sin")]
    return [f"{name}_{term}" for name in inputs for term in terms]


def input_bands(present: list[str], inputs: Sequence[str] = DEFAULT_INPUTS, **_: object) -> list[str]:
    """The bands of ``present`` that :func:`harmonic` reads for ``inputs`` (e.g. 6 of 10 Sentinel-2 bands)."""
    return indices.bands_used(present, tuple(inputs))


def _series(ds: xr.Dataset, name: str, refl: np.ndarray, present: list[str]) -> np.ndarray:
    """(sample, time) values of one input: an index name, a spectral role or a band name.

    ``refl`` is the (sample, band, time) reflectance of ``ds`` with band names ``present``.
    """
    if str(name).upper() in indices.INDICES:
        return indices.index(ds, name)
    band = indices.role_band(present, name) if name in indices.ROLES else str(name)
    if band not in present:
        raise CropGlobeError(f"harmonic input {name!r}: no such band or spectral role in the SampleSet")
    return refl[:, present.index(band)]


def harmonic(ds: xr.Dataset, order: int = 2, inputs: Sequence[str] = DEFAULT_INPUTS, period: float = 365.0,
             clear_threshold: float = 0.75) -> np.ndarray:
    """Harmonic features (N, len(inputs) * (1 + 2*order)), float32; 35 with the defaults.

    On a composite (``time_kind="composite"``) ``t`` is the bin centre on the aligned calendar; on
    observation-level data it is the day since 1 January of each sample's year, and observations
    failing the clear-sky test (:func:`cropglobe.temporal.composite.clear_mask`) are excluded.

    Raises:
        CropGlobeError: For unknown inputs or a series with too few valid points.
    """
    names = list(inputs)
    refl = ds["reflectance"].transpose("sample", "band", "time").values
    present = [str(b) for b in ds["band"].values]
    series = [_series(ds, name, refl, present) for name in names]  # (N, T) each: band views, index arrays
    n, k, nt = refl.shape[0], len(names), refl.shape[2]
    groups: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
    if ds.attrs.get("time_kind") == "composite" and not np.issubdtype(ds["time"].dtype, np.datetime64):
        t = ds["time"].values.astype(np.float64) - 1.0 + ds["bin_days"].values / 2.0
        groups.append((np.arange(n), t, None))
    else:
        clear = clear_mask(ds, clear_threshold)
        days = ds["time"].values.astype("datetime64[D]")
        years = ds["year"].values.astype(np.int64)
        for year in np.unique(years):
            rows = np.flatnonzero(years == year)
            t = (days - np.datetime64(f"{year:04d}-01-01")).astype(np.float64)
            groups.append((rows, t, clear[rows]))
    p = 1 + 2 * order
    out = np.empty((n, k, p), dtype=np.float32)
    for rows, t, mask in groups:
        # every input of a block of samples in one fit (one pseudo-inverse); blocks keep the float64 copy in cache
        for lo in range(0, rows.size, _SAMPLES):
            r = rows[lo:lo + _SAMPLES]
            y = np.empty((r.size, k, nt), dtype=np.float64)
            for j, values in enumerate(series):
                y[:, j] = values[r[0]:r[-1] + 1] if r[-1] - r[0] + 1 == r.size else values[r]

            def who(i: int, r: np.ndarray = r) -> str:
                return f"sample {str(ds['sample_id'].values[r[i // k]])!r} input {names[i % k]!r}"

            m = None if mask is None else np.repeat(mask[lo:lo + _SAMPLES], k, axis=0)
            out[r] = fit(y.reshape(-1, nt), t, m, order, period, name_of=who).reshape(r.size, k, p)
    return out.reshape(n, -1)
