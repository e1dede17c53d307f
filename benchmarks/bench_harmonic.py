"""Harmonic features: batched least squares (cropglobe.features.harmonic.fit) vs a per-pixel lstsq loop.

Input: synthetic series (2 harmonics + constant + noise) for 100,000 pixels x 7 inputs x 73
five-day steps with 15 % of observations masked, so most series have their own gap pattern.
Reference: ``numpy.linalg.lstsq`` per series on the valid points, timed on a subset of pixels
(the loop is too slow for all of them) and compared per pixel (pixels/s ratio).
"""

from __future__ import annotations

import time

import numpy as np

NAME = "harmonic"
DESCRIPTION = ("harmonic coefficients (2 harmonics + constant) of 100,000 px x 7 inputs x 73 steps with gaps "
               "(ratio = cropglobe pixels/s / per-pixel numpy.linalg.lstsq pixels/s)")


def _series(pixels: int, inputs: int, steps: int, rng: np.random.Generator):
    t = np.arange(steps) * 5.0 + 2.5
    w = 2 * np.pi * t / 365.0
    m = pixels * inputs
    coef = rng.normal(0.2, 0.1, (m, 5))
    y = (coef[:, :1] + coef[:, 1:2] * np.cos(w) + coef[:, 2:3] * np.sin(w)
         + coef[:, 3:4] * np.cos(2 * w) + coef[:, 4:5] * np.sin(2 * w))
    y += rng.normal(0, 0.01, y.shape)
    mask = rng.random(y.shape) >= 0.15
    return y.astype(np.float32), t, mask


def run(quick: bool = False) -> dict:
    """Time the batched fit on all pixels and the lstsq loop on a subset; compare coefficients."""
    from cropglobe.features import harmonic

    pixels, inputs, steps = (2_000, 7, 73) if quick else (100_000, 7, 73)
    ref_pixels = 100 if quick else 2_000
    y, t, mask = _series(pixels, inputs, steps, np.random.default_rng(0))
    t0 = time.perf_counter()
    coef = harmonic.fit(y, t, mask=mask, order=2)
    ours_s = time.perf_counter() - t0
    x = harmonic.design_matrix(t, 2)
    rows = ref_pixels * inputs
    ref = np.empty((rows, 5))
    t0 = time.perf_counter()
    for i in range(rows):
        ok = mask[i]
        ref[i] = np.linalg.lstsq(x[ok], y[i, ok].astype(np.float64), rcond=None)[0]
    ref_s = time.perf_counter() - t0
    ours_rate, ref_rate = pixels / ours_s, ref_pixels / ref_s
    return {
        "ratio": ours_rate / ref_rate,
        "reference": f"per-pixel numpy.linalg.lstsq loop ({ref_pixels} pixels x {inputs} inputs timed, same data)",
        "figures": {
            "data": "synthetic sinusoids with noise and 15% masked observations",
            "pixels": pixels, "inputs": inputs, "steps": steps, "features_per_pixel": inputs * 5,
            "cropglobe_seconds": round(ours_s, 3), "cropglobe_pixels_per_s": round(ours_rate),
            "lstsq_pixels_timed": ref_pixels, "lstsq_seconds": round(ref_s, 3), "lstsq_pixels_per_s": round(ref_rate),
            "max_abs_coefficient_difference": float(np.abs(coef[:rows] - ref).max()),
        },
    }
