"""CPU seconds per pixel of ``cropglobe map --fast``'s map on the ``bench map`` cubes (SIMULATED DATA).

``setup DIR`` builds, once, what ``benchmarks/bench_map.py`` maps: the quick FRA -> BEL study, the
simulated BEL observation cube tiled 3 x 3 (480 x 480 px, 219 dates x 10 bands, uint16 DN) and the
same region pre-composited (73 five-day bins), and a student (``--student``, a ``map --fast`` preset,
default the default TempCNN; 10 epochs, 1 view and 1 mixup input per pixel: the same network as the
preset's, so the same inference cost; not the accuracy run). The student is distilled from the
study's CropNet-lite cell, or from ``--teacher CELL`` (a real cell, e.g. the recommended anchored
TempCNN, whose student sits behind the same anchor: its map cost is then timed; its accuracy on the
simulated cube means nothing).

``time DIR OUT`` maps both cubes with the student as ``bench map`` does (``make_map``, 128 x 128 px
tiles, the map's in-process Dask cluster, 1 worker x 2 threads, started once; one warm-up map) and
prints JSON: each map's process CPU seconds (every thread: the Dask workers', torch's and the
writer's) and wall seconds, and each stage's CPU seconds (``bench map``'s stage clock). On a shared
machine wall time measures the other processes too; CPU seconds much less so, and
``2 x pixels / CPU seconds`` is the rate on 2 cores both busy with the map. ``--proba`` also writes
``ident_obs*.tif`` / ``ident_comp*.tif`` with probabilities (compare two trees' outputs).

A/B of two source trees: run ``time`` alternately with ``PYTHONPATH=<tree>/src`` (docs/results.md,
"End to end on a larger cube").

``profile DIR OUT`` maps the pre-composited cube once more in this process, without Dask
(``scheduler="synchronous"``, torch on one thread), under :mod:`cProfile` and prints the functions
with the most own time: where a map's CPU goes, stage by stage, without the threads in between.

    PYTHONPATH=src python scripts/fast_map_cpu.py setup /tmp/fastcpu
    PYTHONPATH=src python scripts/fast_map_cpu.py time /tmp/fastcpu /tmp/fastcpu/out --rounds 2
    OMP_NUM_THREADS=1 PYTHONPATH=src python scripts/fast_map_cpu.py profile /tmp/fastcpu /tmp/fastcpu/out
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_map  # the benchmark's cubes, study and stage clock

TILE = 128


def setup(folder: Path, student: str, teacher: Path | None = None) -> None:
    """The study, the two SIMULATED cubes and the ``student`` preset's student (of ``teacher``) under ``folder``."""
    import dataclasses

    from cropglobe.cells.run_folder import RunFolder
    from cropglobe.mapping import MapOptions, simulated_cube, write_cube
    from cropglobe.mapping.fastmap import make_fast_map
    from cropglobe.mapping.student import preset
    from cropglobe.study.spec import CellSpec

    folder.mkdir(parents=True, exist_ok=True)
    bench_map._transfer(folder / "run", True)
    fields, px, rep = (10, 10), 16, 3
    cube, _ = simulated_cube("BEL", fields, px, seed=5, cloudy=(slice(0, px // 2), slice(0, px)))
    small = write_cube(cube, folder / "bel_small.zarr")
    write_cube(bench_map._tiled(cube, rep), folder / "bel.zarr")
    bench_map._precomposited(cube, folder / "bel_5day.zarr", rep)
    cell = teacher or RunFolder(folder / "run").cell_dir(["FRA"], CellSpec(feature="median2d", model="cropnet-lite"), 0)
    make_fast_map(cell, small, folder / "distil.tif", MapOptions(tile=TILE, scheduler="synchronous"),
                  dataclasses.replace(preset(student), epochs=10, views=1, mixup=1), keep_student=folder / "student")


def timed(folder: Path, out: Path, rounds: int, proba: bool, precision: str = "32-true",
          defer: tuple[tuple[str, ...], float] = ((), 0.0)) -> dict:
    """CPU and wall seconds of ``rounds`` maps of each cube (and stage CPU seconds), torch in ``precision``.

    ``defer``: ``(teacher cells, margin)`` makes every timed map the cascade of ``map --fast --defer``
    (the deferred share is reported per map); ``((), 0.0)``: the student alone.
    """
    from distributed import Client

    from cropglobe.mapping import MapOptions, make_map, tiles

    cubes = {"obs": (folder / "bel.zarr", {}), "comp": (folder / "bel_5day.zarr", {"scale": 1e-4, "nodata": 0})}
    student = folder / "student"
    out.mkdir(parents=True, exist_ok=True)
    result: dict = {}
    if hasattr(tiles, "local_cluster"):
        cluster_of = tiles.local_cluster(2)
    else:  # a tree from before mapping.tiles.local_cluster (A/B): the LocalCluster its dask_client started
        from distributed import LocalCluster

        cluster_of = LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None,
                                  silence_logs=40)
    with cluster_of as cluster, Client(cluster):
        where = cluster.scheduler_address
        make_map(student, cubes["obs"][0], out / "warm.tif",
                 MapOptions(tile=TILE, scheduler=where, overwrite=True, precision=precision))
        for key, (store, scale) in cubes.items():
            runs = []
            for _ in range(rounds):
                c0, w0 = time.process_time(), time.perf_counter()
                with bench_map._stage_clock() as stages:
                    res = make_map(student, store, out / f"{key}.tif",
                                   MapOptions(tile=TILE, scheduler=where, overwrite=True, precision=precision,
                                              defer_to=defer[0], defer_margin=defer[1], **scale))
                cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                runs.append({"cpu": round(cpu, 3), "wall": round(wall, 3),
                             "stages": {k: round(v, 3) for k, v in stages.items()}})
            best = min(r["cpu"] for r in runs)
            result[key] = {"pixels": res.pixels, "best_cpu_s": best, "px_per_cpu_s": round(res.pixels / best),
                           "cpu_bound_px_per_s_2_cores": round(2 * res.pixels / best), "runs": runs,
                           "deferred_share": None if res.deferred_pixels is None else
                           round(res.deferred_pixels / max(1, res.pixels - res.nodata_pixels), 4)}
            if proba:
                make_map(student, store, out / f"ident_{key}.tif",
                         MapOptions(tile=TILE, scheduler=where, overwrite=True, probabilities=True, **scale))
    result["load_average"] = [round(v, 2) for v in os.getloadavg()]
    return result


def profile(folder: Path, out: Path, top: int = 25) -> None:
    """Print the ``top`` functions by own time of one synchronous map of the pre-composited cube (after a warm-up)."""
    import cProfile
    import pstats

    from cropglobe.mapping import MapOptions, make_map

    out.mkdir(parents=True, exist_ok=True)
    options = MapOptions(tile=TILE, scheduler="synchronous", overwrite=True, scale=1e-4, nodata=0)
    make_map(folder / "student", folder / "bel_5day.zarr", out / "profile.tif", options)  # compiles the kernels
    with cProfile.Profile() as prof:
        make_map(folder / "student", folder / "bel_5day.zarr", out / "profile.tif", options)
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main() -> None:
    """Command line: ``setup DIR``, ``time DIR OUT [--rounds N] [--proba]`` or ``profile DIR OUT``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    from cropglobe.mapping.student import DEFAULT_STUDENT, PRESETS

    st = sub.add_parser("setup")
    st.add_argument("folder", type=Path)
    st.add_argument("--student", default=DEFAULT_STUDENT, choices=tuple(PRESETS), help="the map --fast preset")
    st.add_argument("--teacher", type=Path, default=None, help="distil from this cell (default: the study's)")
    t = sub.add_parser("time")
    t.add_argument("folder", type=Path)
    t.add_argument("out", type=Path)
    t.add_argument("--rounds", type=int, default=2)
    t.add_argument("--proba", action="store_true", help="also write maps with probabilities (identity checks)")
    t.add_argument("--precision", default="32-true", help="the map's --precision (32-true, bf16-mixed, auto)")
    t.add_argument("--defer", type=float, default=0.0, help="map as the cascade of map --fast --defer MARGIN")
    t.add_argument("--defer-to", nargs="*", default=[], help="the cascade's teacher cells (with --defer)")
    p = sub.add_parser("profile")
    p.add_argument("folder", type=Path)
    p.add_argument("out", type=Path)
    a = ap.parse_args()
    if a.cmd == "setup":
        setup(a.folder, a.student, a.teacher)
    elif a.cmd == "profile":
        profile(a.folder, a.out)
    else:
        result = timed(a.folder, a.out, a.rounds, a.proba, a.precision, (tuple(a.defer_to), a.defer))
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
