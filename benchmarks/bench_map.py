"""Wall-to-wall mapping throughput: ``cropglobe map`` end to end vs the bare model on the same pixels.

SIMULATED DATA. A small transfer study on the simulator (train on FRA, evaluate on BEL) trains
cropnet-lite (median2d) and LightGBM on harmonic features (the registry's default LightGBM, 300
trees, as ``cropglobe transfer`` trains it); the fast path is the student of ``cropglobe map
--fast`` (:mod:`cropglobe.mapping.student`: its default, a small TempCNN on median2d with season-wide views) distilled
from the CropNet cell on the unlabelled pixels of the untiled BEL cube
(:func:`cropglobe.mapping.make_fast_map`). Each cell maps a simulated BEL observation cube with
``make_map`` (reading the Zarr cube, clear-sky mask, compositing, features, model, writing the
COGs/PNG/CSV; the map's default in-process Dask cluster, started once outside the timing; 128 x 128 px
tiles).
The cube is stored as ``write_cube`` writes it: uint16 digital numbers (Sentinel-2 L2A's own
storage), one band per 128 x 128 px chunk; the simulated region (160 x 160 px, 219 dates x 10 bands)
is tiled 3 x 3 into a 480 x 480 px map so that the per-map costs (opening, overviews, PNG) weigh as
little as on a real map (cropnet-lite maps the untiled 160 x 160 px region: at ~1,400 px/s those
costs are negligible already). A second input is the same region PRE-COMPOSITED (73 five-day median
bins with ``bin_days``, as an Earth Engine 5-day composite export would be; mapping only
re-grids/windows it).

The reference is the bare model's inference throughput (``predict_proba`` on precomputed
model-ready inputs of the same pixels, all cores; for the CNN the first 8,192 of them), measured in
the same run. The bare model and the map run in alternating rounds (:func:`cropglobe.bench.alternate`,
best of each), on the CPU seconds of the whole process (every thread, the in-process Dask workers
included), so a core taken by another process does not move the ratio:
``ratio = min over {cropnet-lite, lightgbm-harmonic} of (px per CPU-second of the map) /
(px per CPU-second of the bare model)`` (observation cube). On 2 cores the maps are CPU-bound, so on
a quiet machine this equals the wall-clock ratio (a figure, ``ratio_end_to_end_vs_bare``, from the
best wall times of the same rounds); ``null`` with ``not_measured`` when the timings do not settle.
Figures also give, per pixel and one core, the cost of making the model's
inputs (read excluded) and of the model itself, the fast path's px/s and its BEL accuracy next to
CropNet's on the same simulated BEL samples, and each map's accuracy against the cube's truth. The
fast path's ``cascade`` figure maps the pre-composited cube as ``map --fast --defer 0.02`` does: the
student, and the cropnet-lite teacher on the pixels where the student's top class leads by less than 0.02.
Each map also reports its process CPU seconds, how many cores it kept busy and each stage's share
of the CPU (read, composite, features, model, write, other): with both cores busy the map is
CPU-bound and its ratio to the bare model is about the model's share.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

NAME = "map"
DESCRIPTION = ("cropglobe map end-to-end px/s vs bare model px/s (cropnet-lite, LightGBM harmonic) on a SIMULATED "
               "BEL cube; distilled fast path px/s on a pre-composited cube and its FRA->BEL accuracy vs CropNet")

_CELLS = [("median2d", "cropnet-lite"), ("harmonic", "lightgbm")]
_TILE = 128  # one 128 x 128 px Zarr chunk per band and tile: 16 tasks on the 480 x 480 px map
#: The margin of the fast path's cascade figure (``map --fast --defer``; docs/results.md, "Fast path on real data").
CASCADE_MARGIN = 0.02


def _transfer(run_dir: Path, quick: bool):
    from cropglobe import experiment

    spec = experiment.parse_spec(
        {
            "name": "bench-map",
            "data": {"simulate": {"countries": ["FRA", "BEL"], "samples_per_class": 30 if quick else 80}},
            "sources": ["FRA"],
            "targets": ["BEL"],
            "in_region_fraction": 0.0,
            "cells": [{"feature": f, "model": m} for f, m in _CELLS],
            "train": {
                "epochs": 2 if quick else 10,  # quick: plumbing only (< 3 min on a busy machine)
                "batch_size": 32 if quick else 64,
                "lr": 0.005 if quick else 0.002,
                "precision": "32-true" if quick else "auto",
            },  # the tiny quick teacher is tuned in float32
            "model_options": {"lightgbm": {"n_estimators": 30}} if quick else {},
        }
    )
    return experiment.run(spec, run_dir, progress=False)


def _tiled(ds, repeat: int):
    """The cube's region repeated ``repeat x repeat`` times (a larger map from the same simulated fields)."""
    import xarray as xr

    h, w = ds.sizes["y"], ds.sizes["x"]
    step = float(ds["x"].values[1] - ds["x"].values[0])
    data = {v: (ds[v].dims, np.tile(ds[v].values, (1,) * (ds[v].ndim - 2) + (repeat, repeat)), ds[v].attrs)
            for v in ds.data_vars}
    coords = {k: c.variable for k, c in ds.coords.items() if not {"y", "x"} & set(c.dims) and k != "spatial_ref"}
    coords.update(
        y=ds["y"].values[0] - step * np.arange(h * repeat), x=ds["x"].values[0] + step * np.arange(w * repeat)
    )
    out = xr.Dataset(data, coords=coords, attrs=ds.attrs)
    return out.rio.write_crs(ds.rio.crs).rio.write_transform()


def _precomposited(cube, path: Path, repeat: int = 1):
    """The observation cube composited once with the training code: a 5-day composite cube with ``bin_days``.

    Stored as an Earth Engine export would be: uint16 reflectance x 10000, 0 = nodata; ``repeat``
    tiles the region ``repeat x repeat`` times (a larger map from the same simulated fields).
    """
    from types import SimpleNamespace

    import xarray as xr

    from cropglobe.mapping import write_cube
    from cropglobe.mapping.predict import BlockContext, composite_block
    from cropglobe.recipe import CompositeSettings
    from cropglobe.temporal import season

    t, b, h, w = cube["reflectance"].shape
    recipe = SimpleNamespace(composite=CompositeSettings())  # composite_block reads only the compositing settings
    ctx = BlockContext(recipe, cube["time"].values, "BEL", 2023)  # type: ignore[arg-type]
    values, _ = composite_block(cube["reflectance"].values.reshape(t, b, -1), cube["clear"].values.reshape(t, -1),
                                None, np.full(h * w, 50.5), ctx)
    start, days = season.axis(5)
    dates = np.datetime64("2023-01-01") + (start - 1).astype("timedelta64[D]")
    dn = np.where(np.isnan(values), 0, np.round(values * 10000)).astype(np.uint16).reshape(-1, b, h, w)
    comp = xr.Dataset({"reflectance": (("time", "band", "y", "x"), dn)},
                      coords={"time": dates.astype("datetime64[ns]"), "bin_days": ("time", days),
                              "band": cube["band"].values, "y": cube["y"].values, "x": cube["x"].values},
                      attrs={**cube.attrs, "description": "SIMULATED 5-day median composite cube"})
    comp = comp.rio.write_crs(cube.rio.crs).rio.write_transform()
    return write_cube(_tiled(comp, repeat), path)


def _bare_inputs(cell: Path, store: Path, **scale):
    """The cell's recipe and model, its model-ready inputs of every mappable pixel (torch: the first 8,192),
    and the seconds per pixel of making the inputs (read excluded) and of the model on one core (thread CPU time)."""
    import torch

    from cropglobe.mapping import MapOptions, prepare
    from cropglobe.mapping.locate import lonlat
    from cropglobe.mapping.predict import block_inputs, predict_proba

    recipe, cube, ctx = prepare(cell, store, MapOptions(**scale))
    rows, cols = cube.shape
    xs, prep_s = [], 0.0
    for r0 in range(0, rows, _TILE):  # tile by tile: memory bounded like the map
        for c0 in range(0, cols, _TILE):
            rs, cs = slice(r0, min(r0 + _TILE, rows)), slice(c0, min(c0 + _TILE, cols))
            refl, clear, scl = cube.source.read_raw(rs, cs, ctx.read_bands)
            _, lat = lonlat(cube.transform, cube.crs, rs, cs)
            t = refl.shape[0]
            t0 = time.perf_counter()
            x, _ = block_inputs(refl.reshape(t, refl.shape[1], -1), None if clear is None else clear.reshape(t, -1),
                                None if scl is None else scl.reshape(t, -1), lat, ctx)
            prep_s += time.perf_counter() - t0
            xs.append(x)
    x = np.concatenate([v for v in xs if v.size])
    model = recipe.load_model()
    x = x[:8192] if recipe.family == "torch" else x  # batched CNN cost is linear in pixels: a subset is enough
    one = x[:8192]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        predict_proba(model, recipe, one[:64], threads=None if recipe.family == "torch" else 1)  # warm-up
        t0 = time.thread_time()
        predict_proba(model, recipe, one, threads=None if recipe.family == "torch" else 1)
        model_one = (time.thread_time() - t0) / len(one)
    finally:
        torch.set_num_threads(threads)
    return recipe, model, x, prep_s / (rows * cols), model_one


def _bare(cell: Path, store: Path, repeats: int, **scale) -> tuple[float, int]:
    """Best wall seconds of the model alone on model-ready inputs (all cores) and their count."""
    from cropglobe.mapping.predict import predict_proba

    recipe, model, x, _, _ = _bare_inputs(cell, store, **scale)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict_proba(model, recipe, x)
        best = min(best, time.perf_counter() - t0)
    return best, len(x)


@contextlib.contextmanager
def _stage_clock() -> Iterator[dict[str, float]]:
    """CPU seconds (thread time, summed over the threads that ran them) per map stage while the block runs.

    Stages: ``read`` (cube window, raw values), ``composite`` (clear-sky test, medians, gap filling,
    window), ``features``, ``model`` and ``write`` (tiles and the final overviews, COGs, PNG, CSV).
    """
    import threading

    from cropglobe.cells.cell import Cell
    from cropglobe.mapping import cube, predict, write

    acc: dict[str, float] = {}
    lock = threading.Lock()
    patches = [(cube.CubeSource, "read_raw", "read"), (predict, "window_block", "composite"),
               (Cell, "features", "features"), (Cell, "predict_proba", "model"),
               (write.MapWriter, "write", "write"), (write.MapWriter, "_finish", "write")]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]

    def timed(fn, stage):
        def call(*args, **kwargs):
            t0 = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                with lock:
                    acc[stage] = acc.get(stage, 0.0) + time.thread_time() - t0
        return call

    for (owner, name, stage), (_, _, fn) in zip(patches, saved, strict=True):
        setattr(owner, name, timed(fn, stage))
    try:
        yield acc
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)


def _map_once(cell: Path, store: Path, out: Path, scheduler: str, **scale) -> tuple:
    """Map a cube once under the stage clock: the map's result and CPU seconds per stage."""
    from cropglobe.mapping import MapOptions, make_map

    with _stage_clock() as stages:
        res = make_map(cell, store, out, MapOptions(tile=_TILE, scheduler=scheduler, **scale))
    return res, dict(stages)


def _map_figures(res, stages: dict, cpu: float, wall: float, truth: np.ndarray) -> dict:
    """A map's px/s, accuracy, CPU seconds, cores busy and each stage's share of its CPU seconds."""
    import rasterio

    with rasterio.open(res.paths["classes"]) as src:
        got = src.read(1)
    ok = truth != 255
    share = {k: round(v / cpu, 3) for k, v in sorted(stages.items(), key=lambda kv: -kv[1])}
    share["other"] = round(1 - sum(stages.values()) / cpu, 3)  # Dask, tiling, locating, opening the cube
    return {"end_to_end_px_per_s": round(res.pixels / wall), "deferred_pixels": res.deferred_pixels,
            "map_accuracy_vs_truth": round(float((got[ok] == truth[ok]).mean()), 4),
            "cpu_seconds": round(cpu, 3), "wall_seconds": round(wall, 3),
            "cores_busy": round(cpu / wall, 2),
            "cpu_bound_px_per_s_2_cores": round(2 * res.pixels / cpu), "cpu_share": share}


def _map(cell: Path, store: Path, out: Path, scheduler: str, truth: np.ndarray, **scale) -> dict:
    """Map a cube once; its px/s, accuracy, process CPU seconds and each stage's share of them."""
    cpu = time.process_time()
    res, stages = _map_once(cell, store, out, scheduler, **scale)
    return _map_figures(res, stages, time.process_time() - cpu, res.seconds, truth)


def _compare(key: str, cell: Path, store: Path, out_dir: Path, scheduler: str, truth: np.ndarray,
             quick: bool) -> tuple[dict, object]:
    """The bare model and the map of one cell in alternating rounds: figures and the CPU-time verdict."""
    from cropglobe.bench import Rounds, alternate, judge
    from cropglobe.mapping.predict import predict_proba

    recipe, model, x, prep_px, model_px = _bare_inputs(cell, store)
    c0 = time.process_time()
    predict_proba(model, recipe, x)  # warm-up, and the repeats that make a bare run last >= 0.2 CPU seconds
    reps = max(1, min(1000, math.ceil(0.2 / max(time.process_time() - c0, 1e-4))))
    maps: list[tuple] = []

    def bare(threads: int | None = None):
        def go() -> None:
            for _ in range(reps):
                predict_proba(model, recipe, x, threads=threads)
        return go

    def one_map() -> None:
        maps.append(_map_once(cell, store, out_dir / f"{key}_{len(maps)}.tif", scheduler))

    # The CPU comparison runs the model as the map does: torch with all cores, a tabular model on one
    # core per task (its all-core OpenMP runs also burn CPU spin-waiting when a core is taken).
    fns = {"bare": bare(), "map": one_map}
    cpu_key = "bare"
    if recipe.family != "torch":
        fns[cpu_key := "bare_1_thread"] = bare(1)
        c0 = time.process_time()
        fns[cpu_key]()
        reps = max(1, min(1000, math.ceil(reps * 0.2 / max(time.process_time() - c0, 1e-4))))  # >= 0.2 s on one core
    verdict = alternate(fns, "process", Rounds(2, 3 if quick else 5), decide=[cpu_key, "map"])
    wall = judge({k: verdict.runs[k] for k in ("bare", "map")}, "wall", on_cpu_min=None)
    n_bare = len(x) * reps
    runs = verdict.runs["map"]
    i_cpu = min(range(len(runs)), key=lambda i: runs[i].process)  # the least disturbed map on each clock
    i_wall = min(range(len(runs)), key=lambda i: runs[i].wall)
    res, stages = maps[i_cpu]
    fig = _map_figures(res, stages, runs[i_cpu].process, runs[i_cpu].wall, truth)
    fig["end_to_end_px_per_s"] = round(res.pixels / runs[i_wall].wall)
    fig["pixels"] = int(truth.size)
    fig["bare_model_px_per_s"] = round(n_bare / wall.best["bare"])
    fig["ratio_end_to_end_vs_bare"] = round(fig["end_to_end_px_per_s"] / fig["bare_model_px_per_s"], 4)
    fig["map_px_per_cpu_s"] = round(res.pixels / verdict.best["map"], 1)
    fig["bare_model_px_per_cpu_s"] = round(n_bare / verdict.best[cpu_key], 1)
    fig["bare_model_cpu_basis"] = ("all cores (as the map runs it)" if cpu_key == "bare"
                                   else "one core (as each map task runs it)")
    fig["bare_model_repeats_per_run"] = reps
    cpu_ratio = verdict.ratio(cpu_key, "map")
    fig["cpu_ratio_vs_bare"] = None if cpu_ratio is None else round(cpu_ratio * res.pixels / n_bare, 4)
    fig["one_core_us_per_px"] = {"inputs_read_excluded": round(prep_px * 1e6, 3), "model": round(model_px * 1e6, 3)}
    fig["timing"] = verdict.figures()
    fig["timing_wall"] = wall.figures()
    return fig, verdict


def run(quick: bool = False) -> dict:
    """Train the small FRA->BEL study, map the simulated BEL cubes with each cell, compare with the bare model."""
    import torch
    from distributed import Client

    from cropglobe.cells.run_folder import RunFolder
    from cropglobe.mapping import MapOptions, simulated_cube, write_cube
    from cropglobe.mapping.fastmap import make_fast_map
    from cropglobe.mapping.student import StudentSettings, accuracy
    from cropglobe.mapping.tiles import local_cluster
    from cropglobe.sources import simulate
    from cropglobe.study.spec import CellSpec

    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _transfer(tmp / "run", quick)
        fields, px = ((2, 2), 8) if quick else ((10, 10), 16)
        rep = 1 if quick else 3
        cube, truth = simulated_cube("BEL", fields, px, seed=5, cloudy=(slice(0, px // 2), slice(0, px)))
        small = write_cube(cube, tmp / "bel_small.zarr")  # uint16 digital numbers, 128 px chunks
        store = write_cube(_tiled(cube, rep), tmp / "bel.zarr")
        comp_store = _precomposited(cube, tmp / "bel_5day.zarr", rep)
        small_truth, truth = truth, np.tile(truth, (rep, rep))
        dn = {"scale": 1e-4, "nodata": 0}
        cells = {f"{m}_{f}": RunFolder(tmp / "run").cell_dir(["FRA"], CellSpec(feature=f, model=m), 0)
                 for f, m in _CELLS}
        target = simulate.simulate(["BEL"], samples_per_class=15 if quick else 80, seed=22)
        # the default student (`map --fast`); --quick: fewer epochs and inputs
        settings = StudentSettings(epochs=5, views=1, mixup=1) if quick else StudentSettings()
        t0 = time.perf_counter()
        distilled = make_fast_map(cells["cropnet-lite_median2d"], small, tmp / "distil.tif",
                                  MapOptions(tile=_TILE, scheduler="synchronous"), settings,
                                  keep_student=tmp / "student")
        distil_s = round(time.perf_counter() - t0, 1)
        student = tmp / "student"
        figures: dict = {
            "data": "SIMULATED (cropglobe phenology simulator)",
            "pixels": int(truth.size),
            "observation_dates": int(cube.sizes["time"]),
            "bands": int(cube.sizes["band"]),
            "cube_storage": "uint16 digital numbers x 10000 (scale_factor 1e-4), one band per 128 px chunk",
            "torch_threads": torch.get_num_threads(),
        }
        ratios: dict = {}
        refused: dict[str, str] = {}
        stage_s = {"setup": round(time.perf_counter() - t_start, 1)}  # training, cubes, distillation
        with local_cluster(2) as cluster, Client(cluster):  # the map's own default cluster, 2 threads
            figures["scheduler"] = ("in-process Dask LocalCluster of `cropglobe map` (mapping.tiles.local_cluster: no "
                                    "dashboard, no worker profiler), 1 worker x 2 threads (started once, outside the "
                                    "timing); every task's model call on one core, torch and LightGBM alike "
                                    "(mapping.tiles.task_threads; a map of one tile: both); "
                                    f"{_TILE} x {_TILE} px tiles")
            for key, cell in cells.items():
                # the CNN maps the untiled region: at ~1,400 px/s its per-map costs are negligible already
                cnn = key.startswith("cropnet")
                where, want = (small, small_truth) if cnn else (store, truth)
                t0 = time.perf_counter()
                fig, verdict = _compare(key, cell, where, tmp, cluster.scheduler_address, want, quick)
                fig["transfer_FRA_to_BEL"] = {k: round(v, 4) for k, v in accuracy(cell, target).items()}
                figures[key] = fig
                ratios[key] = fig["cpu_ratio_vs_bare"]
                if verdict.not_measured:
                    refused[key] = verdict.not_measured
                stage_s[key] = round(time.perf_counter() - t0, 1)
            t0 = time.perf_counter()
            figures["lightgbm_harmonic"]["model"] = (
                "LightGBM, registry defaults (300 trees x 31 leaves)" if not quick else "LightGBM, 30 trees (quick)")
            lgb = _map(cells["lightgbm_harmonic"], comp_store, tmp / "lgb_comp.tif", cluster.scheduler_address,
                       truth, **dn)
            bare_s, n_model = _bare(cells["lightgbm_harmonic"], comp_store, 1 if quick else 3, **dn)
            figures["lightgbm_harmonic"]["on_precomposited_cube"] = {
                "end_to_end_px_per_s": lgb["end_to_end_px_per_s"], "bare_model_px_per_s": round(n_model / bare_s),
                "ratio_end_to_end_vs_bare": round(lgb["end_to_end_px_per_s"] * bare_s / n_model, 4)}
            fast = _map(student, comp_store, tmp / "fast.tif", cluster.scheduler_address, truth, **dn)
            fast_obs = _map(student, store, tmp / "fast_obs.tif", cluster.scheduler_address, truth)
            cascade = _map(student, comp_store, tmp / "cascade.tif", cluster.scheduler_address, truth, **dn,
                           defer_to=(str(cells["cropnet-lite_median2d"]),), defer_margin=CASCADE_MARGIN)
            bare_s, n_model = _bare(student, comp_store, 1 if quick else 3, **dn)
            stage_s["fast_path_and_precomposited"] = round(time.perf_counter() - t0, 1)
        figures["fast_path"] = {
            "model": (f"the `cropglobe map --fast` student distilled from the cropnet-lite cell on "
                      f"{distilled.teacher['pixels']} unlabelled BEL cube pixels ({settings.describe()})"),
            "distil_seconds": distil_s,
            "input": ("PRE-COMPOSITED 5-day cube (73 bins, bin_days, uint16 x 10000 as an Earth Engine export); "
                      "mapping re-grids/windows only"),
            "end_to_end_px_per_s": fast["end_to_end_px_per_s"], "bare_model_px_per_s": round(n_model / bare_s),
            "end_to_end_px_per_s_on_observation_cube": fast_obs["end_to_end_px_per_s"],
            "target_px_per_s": 100_000, "meets_target": fast["end_to_end_px_per_s"] >= 100_000,
            "meets_target_on_observation_cube": fast_obs["end_to_end_px_per_s"] >= 100_000,
            "observation_cube": {k: fast_obs[k] for k in ("wall_seconds", "cpu_seconds", "cores_busy",
                                                          "cpu_bound_px_per_s_2_cores", "cpu_share")},
            "meets_target_on_observation_cube_cpu_bound": fast_obs["cpu_bound_px_per_s_2_cores"] >= 100_000,
            "map_accuracy_vs_truth": fast["map_accuracy_vs_truth"],
            "FRA_to_BEL_accuracy": {k: round(v, 4) for k, v in accuracy(student, target).items()},
            "cropnet_FRA_to_BEL_accuracy_same_samples": figures["cropnet-lite_median2d"]["transfer_FRA_to_BEL"],
            "cascade": {  # map --fast --defer: the teacher classifies the student's unsure pixels
                "margin": CASCADE_MARGIN, "teacher": "the cropnet-lite cell (0.17 GFLOP/px; the recommended "
                                                     "anchored TempCNN costs about 0.004)",
                "deferred_share": round(cascade["deferred_pixels"] / max(1, int((truth != 255).sum())), 4),
                "end_to_end_px_per_s": cascade["end_to_end_px_per_s"],
                "cpu_bound_px_per_s_2_cores": cascade["cpu_bound_px_per_s_2_cores"],
                "map_accuracy_vs_truth": cascade["map_accuracy_vs_truth"]},
        }
        lg = figures["lightgbm_harmonic"]["one_core_us_per_px"]
        share = figures["lightgbm_harmonic"]["cpu_share"]
        figures["note"] = (f"lightgbm_harmonic on one core: inputs {lg['inputs_read_excluded']} us/px (clear mask, "
                           f"compositing, gap filling, harmonic fit; read excluded) vs model {lg['model']} us/px; "
                           "end to end also reads the cube and writes the outputs, so its ratio to the bare model "
                           "falls as the model gets cheaper (fewer trees). cpu_share: each stage's share of the "
                           "map process's CPU seconds (thread time of the stage's calls; 'other' = Dask's event "
                           "loop, tiling, locating, opening; for torch also its intra-op threads, so a CNN's "
                           "model share "
                           "reads low). With both cores busy (cores_busy ~2) the map is "
                           "CPU-bound: its ratio to the bare model (all cores, the model alone) is then about the "
                           f"model's share, {share.get('model', 0):.3f} for lightgbm_harmonic here. "
                           "cpu_bound_px_per_s_2_cores = 2 x pixels / CPU seconds: the rate with both cores to "
                           "itself and busy (on a shared machine other processes take cores and the wall rate "
                           "is lower)")
        figures["machine_load_1min"] = round(os.getloadavg()[0], 2)  # other processes share the 2 cores
        figures["benchmark_seconds"] = round(time.perf_counter() - t_start, 1)
        figures["stage_seconds"] = stage_s
    return {
        "ratio": None if refused else min(ratios.values()),
        "not_measured": "; ".join(f"{k}: {v}" for k, v in refused.items()) or None,
        "reference": "bare model inference (predict_proba on precomputed model inputs of the same pixels), same run; "
                     "CPU seconds of the process, best of alternating rounds",
        "figures": figures,
    }
