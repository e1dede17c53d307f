"""Compositing + gap filling: cropglobe.temporal.composite against the xarray recipe on the same input.

Input: SIMULATED observation series (cropglobe simulator, northern countries, calendar year 2023:
~146 irregular observations per pixel from two orbits, clear-sky score per observation), 10 bands.
Reference: ``where(clear >= 0.75).resample(time="5D").median()`` + ``interpolate_na("time")`` +
``bfill``/``ffill`` edge fill (xarray). Both give 73 five-day bins; values are compared.
"""

from __future__ import annotations

import time

import numpy as np

NAME = "composite"
DESCRIPTION = ("5-day median compositing + gap filling of 20,000 px x 10 bands x ~146 obs (SIMULATED) "
               "vs xarray resample/median/interpolate_na (ratio = xarray time / cropglobe time)")
_NORTH = ("USA", "FRA", "BEL", "NLD", "GBR", "CHN")


def _input(pixels: int):
    from cropglobe.sources import simulate

    per_class = -(-pixels // 39)  # 39 country x class blocks in the northern countries
    ds = simulate.simulate(countries=list(_NORTH), samples_per_class=per_class, seed=0)
    ds = ds.isel(sample=slice(0, pixels))
    ds = ds.sel(time=ds["time"] < np.datetime64("2024-01-01"))
    # C order (sample, band, time), as samples.build and samples.load give it
    return ds.assign(reflectance=(ds["reflectance"].dims, np.ascontiguousarray(ds["reflectance"].values)),
                     clear=(ds["clear"].dims, np.ascontiguousarray(ds["clear"].values)))


def _reference(ds, threshold: float):
    refl = ds["reflectance"].where(ds["clear"] >= threshold)
    med = refl.resample(time="5D", origin=np.datetime64("2023-01-01")).median()
    return med.interpolate_na("time").bfill("time").ffill("time")


def run(quick: bool = False) -> dict:
    """Time cropglobe.temporal.composite and the xarray reference on the same simulated observations."""
    from cropglobe.temporal import composite
    from cropglobe.temporal.settings import CompositeSettings

    pixels = 300 if quick else 20_000
    ds = _input(pixels)
    threshold = 0.75
    ours_s = ours_cpu = float("inf")
    for _ in range(1 if quick else 3):
        t0, c0 = time.perf_counter(), time.process_time()
        settings = CompositeSettings(interval=5, align="none", clear_threshold=threshold, min_clear=0)
        ours = composite.composite(ds, settings)
        ours_s, ours_cpu = min(ours_s, time.perf_counter() - t0), min(ours_cpu, time.process_time() - c0)
    t0, c0 = time.perf_counter(), time.process_time()
    ref = _reference(ds, threshold).transpose("sample", "band", "time").values
    ref_s, ref_cpu = time.perf_counter() - t0, time.process_time() - c0
    got = ours["reflectance"].values
    both = np.isfinite(got) & np.isfinite(ref)
    max_diff = float(np.abs(got[both] - ref[both]).max()) if both.any() else float("nan")
    return {
        "ratio": ref_s / ours_s,
        "reference": "xarray resample(time='5D').median() + interpolate_na('time') + bfill/ffill on the same input",
        "figures": {
            "data": "SIMULATED (cropglobe phenology simulator)",
            "pixels": int(ds.sizes["sample"]), "bands": int(ds.sizes["band"]), "observations": int(ds.sizes["time"]),
            "bins": int(got.shape[2]), "cropglobe_seconds": round(ours_s, 4), "xarray_seconds": round(ref_s, 3),
            "cropglobe_pixels_per_s": round(pixels / ours_s), "xarray_pixels_per_s": round(pixels / ref_s),
            "cpu_seconds_ratio": round(ref_cpu / ours_cpu, 2),
            "max_abs_difference": max_diff, "cells_compared": int(both.sum()),
            "cells_defined_only_in_one": int((np.isfinite(got) ^ np.isfinite(ref)).sum()),
        },
    }
