"""Phenology augmentation: batched torch transforms against a per-sample numpy/scipy reference.

One batch of 256 x 10 bands x 73 five-day bins (random, not data), window (24, 43), time shift,
time scale and magnitude warp all at p = 1. The reference loops over samples with ``numpy.interp``
(per band) and ``scipy.interpolate.CubicSpline`` (per sample) on the SAME random draws, so the
run also reports the largest difference between the two outputs. The reference is timed without
its random draws (which favours it). Ratio = reference CPU ms / torch CPU ms per batch, both on one
thread (the thread's CPU time, best of alternating rounds), so other processes on the machine do not
move it; ``null`` with ``not_measured`` when even those timings do not settle.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

NAME = "augment"
DESCRIPTION = ("shift+scale+warp (p=1) on a 256x10x73 batch: torch batched vs per-sample "
               "numpy.interp + scipy CubicSpline loop (ratio = reference ms / torch ms)")


def reference(x_full: np.ndarray, window: tuple[int, int], start_offset: np.ndarray,
              end_offset: np.ndarray, knot_values: np.ndarray | None,
              boundary: str = "not-a-knot") -> np.ndarray:
    """Per-sample loop: the composed moved window by numpy.interp, the warp by scipy CubicSpline."""
    from scipy.interpolate import CubicSpline

    start, count = window
    n, b, t = x_full.shape
    grid, j = np.arange(t, dtype=np.float64), np.arange(count, dtype=np.float64)
    out = np.empty((n, b, count), dtype=np.float32)
    for i in range(n):
        first = start + start_offset[i]
        pos = first + j * (count + end_offset[i] - start_offset[i]) / count
        curve = 1.0
        if knot_values is not None:
            xk = np.linspace(0.0, count - 1.0, knot_values.shape[1])
            curve = CubicSpline(xk, knot_values[i], bc_type=boundary)(j)
        for band in range(b):
            out[i, band] = np.interp(pos, grid, x_full[i, band]) * curve
    return out


def _times(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def run(quick: bool = False) -> dict:
    """Time the batched transforms and the per-sample reference on the same batch and draws.

    Headline: both on one thread (torch with one intra-op thread, the reference is single-threaded),
    timed by the CPU time of that thread in alternating rounds, best of each
    (:func:`cropglobe.bench.alternate`): a core taken by another process does not move it. The
    all-thread wall times of the torch transforms are figures.
    """
    import torch

    from cropglobe.augment import MagnitudeWarp, PhenologyAugment, TimeScale, TimeShift
    from cropglobe.bench import Rounds, alternate

    n, b, t, window, bin_days = (32 if quick else 256), 10, 73, (24, 43), 5.0
    x = torch.rand(n, b, t, generator=torch.Generator().manual_seed(1))
    aug = PhenologyAugment(shift=TimeShift(max_days=10, p=1.0),
                           scale=TimeScale(start_days=(-30, 10), end_days=(-30, 10), p=1.0),
                           warp=MagnitudeWarp(sigma=0.2, knots=5, p=1.0))
    gen = torch.Generator().manual_seed(0)
    repeat = 20 if quick else 100
    for _ in range(10):
        aug(x, window, bin_days, gen)
    torch_times = _times(lambda: aug(x, window, bin_days, gen), repeat)  # all intra-op threads, wall clock

    draw = aug.sample(n, window[1], bin_days, torch.Generator().manual_seed(7), x)
    ours = aug.apply(x, window, draw).numpy()
    start_off, end_off = draw.offsets(n, x)
    args = (x.numpy(), window, start_off.double().numpy(), end_off.double().numpy(),
            draw.knots.double().numpy())
    ref_out = reference(*args)

    inner = 5 if quick else 20  # torch batches per timed run (a run of the reference is one batch)

    def batches() -> None:
        for _ in range(inner):
            aug(x, window, bin_days, gen)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        batches()
        verdict = alternate({"reference": lambda: reference(*args), "torch": batches}, "thread",
                            Rounds(3, 6 if quick else 10))
    finally:
        torch.set_num_threads(threads)
    r_ms, t_ms = verdict.best["reference"] * 1e3, verdict.best["torch"] / inner * 1e3
    return {
        "ratio": None if verdict.not_measured else r_ms / t_ms,
        "not_measured": verdict.not_measured,
        "reference": "per-sample Python loop: numpy.interp per band + scipy CubicSpline per sample "
                     "(same draws, draws not timed); both on one thread, CPU time of the thread, best of "
                     "alternating rounds",
        "figures": {"batch": [n, b, t], "window": list(window), "bin_days": bin_days,
                    "torch_cpu_ms_per_batch_1_thread": round(t_ms, 4),
                    "reference_cpu_ms_per_batch": round(r_ms, 3),
                    "timing": verdict.figures(),
                    "torch_wall_ms_per_batch_all_threads": {
                        "median": round(statistics.median(torch_times) * 1e3, 4),
                        "best": round(min(torch_times) * 1e3, 4),
                        "p90": round(float(np.percentile(torch_times, 90)) * 1e3, 4)},
                    "max_abs_diff_vs_reference": float(np.abs(ours - ref_out).max()),
                    "torch_threads": threads, "device": "cpu",
                    "data": "random uniform tensor (not real or simulated data)"},
    }
