"""Wall-to-wall mapping throughput: ``cropglobe map`` end to end vs the bare model on the same pixels.

SIMULATED DATA. A tiny transfer study on the simulator (train on FRA, evaluate on BEL) trains
cropnet-lite (median2d), LightGBM on harmonic features and LightGBM on median1d features; each
cell then maps a simulated BEL cube (a grid of fields, 219 observation dates x 10 bands) with
``make_map`` (reading the Zarr cube, clear-sky mask, compositing, features, model, writing the
COGs/PNG/CSV, on a Dask LocalCluster). The reference is the bare model's inference throughput on
the model-ready inputs of the same pixels, measured in the same run:
``ratio = min over {cropnet-lite, lightgbm-harmonic} of end-to-end px/s / bare-model px/s``.
Figures also give the compositing throughput alone, each cell's BEL macro-F1 / OA from the
transfer run and its map accuracy against the cube's truth.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

NAME = "map"
DESCRIPTION = ("cropglobe map end-to-end px/s vs bare model px/s (cropnet-lite, LightGBM harmonic/median1d) "
               "on a SIMULATED BEL cube; fast path and FRA->BEL accuracy")

_CELLS = [("median2d", "cropnet-lite"), ("harmonic", "lightgbm"), ("median1d", "lightgbm")]


def _transfer(run_dir: Path, quick: bool):
    from cropglobe import experiment

    spec = experiment.parse_spec({
        "name": "bench-map", "data": {"simulate": {"countries": ["FRA", "BEL"], "samples_per_class": 15 if quick else 150}},
        "sources": ["FRA"], "targets": ["BEL"], "in_region_fraction": 0.0,
        "cells": [{"feature": f, "model": m} for f, m in _CELLS],
        "train": {"epochs": 1 if quick else 15, "batch_size": 64, "lr": 0.001},
        "model_options": {"lightgbm": {"n_estimators": 30 if quick else 200}},
    })
    return experiment.run(spec, run_dir, progress=False)


def _bare(cell: Path, store: Path, repeats: int) -> tuple[float, float, float]:
    """Seconds of the model alone on the model-ready inputs of every mappable pixel, and the pixel count."""
    from cropglobe.mapping import prepare
    from cropglobe.mapping.locate import lonlat
    from cropglobe.mapping.predict import _dataset, model_inputs, predict_proba

    recipe, cube, ctx = prepare(cell, store)
    rows, cols = cube.shape
    refl, clear, _ = cube.source.read(slice(0, rows), slice(0, cols), recipe.bands)
    lon, lat = lonlat(cube.transform, cube.crs, slice(0, rows), slice(0, cols))
    from cropglobe import composite

    c = recipe.composite
    t0 = time.perf_counter()
    full = composite.composite(_dataset(refl.reshape(*refl.shape[:2], -1), clear.reshape(clear.shape[0], -1), None,
                                        lon, lat, ctx), interval=c["interval"], window=c["window"], align=c["align"],
                               clear_threshold=c["clear_threshold"], min_clear=ctx.min_clear)
    composite_s = time.perf_counter() - t0
    x = model_inputs(full, recipe)
    model = recipe.load_model()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict_proba(model, recipe, x)
        best = min(best, time.perf_counter() - t0)
    return best, float(len(x)), composite_s


def run(quick: bool = False) -> dict:
    """Train the tiny FRA->BEL study, map the simulated BEL cube with each cell, compare with the bare model."""
    import rasterio

    from cropglobe.experiment.runner import cell_key
    from cropglobe.experiment.config import CellSpec
    from cropglobe.mapping import make_map, simulated_cube, write_cube

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results = _transfer(tmp / "run", quick)
        fields, px = ((2, 2), 8) if quick else ((10, 10), 12)
        cube, truth = simulated_cube("BEL", fields, px, seed=5, cloudy=(slice(0, px // 2), slice(0, px)))
        store = write_cube(cube, tmp / "bel.zarr")
        figures: dict = {"data": "SIMULATED (cropglobe phenology simulator)", "pixels": int(truth.size),
                         "observation_dates": int(cube.sizes["time"]), "bands": int(cube.sizes["band"])}
        ratios = {}
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=40)
        figures["scheduler"] = "LocalCluster, 2 workers x 1 thread (started once, outside the timing)"
        for feature, model in _CELLS:
            cell = tmp / "run" / "cells" / cell_key(["FRA"], CellSpec(feature=feature, model=model), 0)
            key = f"{model}_{feature}"
            bare_s, n_model, comp_s = _bare(cell, store, 1 if quick else 3)
            res = make_map(cell, store, tmp / f"{key}.tif", tile=64, scheduler=cluster.scheduler_address)
            with rasterio.open(res.paths["classes"]) as src:
                got = src.read(1)
            ok = truth != 255
            row = results[(results["feature"] == feature) & (results["model"] == model) & (results["target"] == "BEL")]
            e2e = res.pixels_per_second
            bare = n_model / bare_s
            figures[key] = {"end_to_end_px_per_s": round(e2e), "bare_model_px_per_s": round(bare),
                            "compositing_only_px_per_s": round(truth.size / comp_s),
                            "ratio_end_to_end_vs_bare": round(e2e / bare, 4),
                            "map_accuracy_vs_truth": round(float((got[ok] == truth[ok]).mean()), 4),
                            "transfer_FRA_to_BEL_macro_f1": round(float(row["macro_f1"].iloc[0]), 4),
                            "transfer_FRA_to_BEL_oa": round(float(row["oa"].iloc[0]), 4)}
            ratios[key] = e2e / bare
        cluster.close()
        fast = figures["lightgbm_harmonic"]
        figures["fast_path"] = {"model": "lightgbm on harmonic", "end_to_end_px_per_s": fast["end_to_end_px_per_s"],
                                "target_px_per_s": 100_000, "meets_target": fast["end_to_end_px_per_s"] >= 100_000}
    return {"ratio": min(ratios["cropnet-lite_median2d"], ratios["lightgbm_harmonic"]),
            "reference": "bare model inference (predict_proba on precomputed model inputs of the same pixels), same run",
            "figures": figures}
