"""Scale: streaming composite + median2d + harmonic features at 300,000 vs 30,000 samples (SIMULATED).

Input: observation-level SampleSets written to Zarr block by block by
:func:`cropglobe.sources.simulate_large.write_tiled` (perturbed repeats of a simulated base set: 10 bands x
219 dates, clear-sky scores), 300,000 samples (about the CropGlobe release) and 30,000 for the
reference. :func:`cropglobe.features.stream.stream` then reads each store 10,000 samples at a time,
composites (5-day medians, gap filling, hemisphere alignment), cuts the May-November window and
writes median2d (N, 10, 43) and harmonic (N, 35) features to Zarr. Each step runs in its own fresh
process so that its peak resident memory (``getrusage``) is its own. Ratio = samples per CPU-second
at 300k / samples per CPU-second at 30k (the mean of a 30k run before and one after the 300k run;
CPU time of the process, all threads): 1.0 = linear cost, goal >= 0.8. CPU time, because on a
shared machine a 10-minute run's wall time also measures whoever else held the cores meanwhile;
the wall-time rates and their ratio are figures too. The peak memory goal is <= 8 GB.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

NAME = "scale"
DESCRIPTION = ("streaming composite + median2d + harmonic over Zarr in 10,000-sample blocks (SIMULATED): "
               "ratio = samples/s at 300,000 / samples/s at 30,000, peak RSS per process")
FAMILIES = ("median2d", "harmonic")


def _in_fresh_process(fn: Any, *args: Any) -> dict:
    """Run ``fn(*args)`` in a new spawned process (its own peak memory) and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _size_gb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e9


def run(quick: bool = False) -> dict:
    """Write both simulated sets, stream each through composite + features, report rates and peaks."""
    from cropglobe.features.stream import stream_measured
    from cropglobe.sources.simulate_large import write_measured

    big, ref = (3_000, 300) if quick else (300_000, 30_000)
    block, base = (1_000, 5) if quick else (10_000, 100)
    with tempfile.TemporaryDirectory(prefix="cropglobe-bench-scale-") as tmp:
        root = Path(tmp)
        made = {n: _in_fresh_process(write_measured, str(root / f"obs{n}.zarr"), n, block, base) for n in (ref, big)}
        runs = [(ref, _in_fresh_process(stream_measured, str(root / f"obs{ref}.zarr"), str(root / "f_ref1.zarr"),
                                        FAMILIES, block)),
                (big, _in_fresh_process(stream_measured, str(root / f"obs{big}.zarr"), str(root / "f_big.zarr"),
                                        FAMILIES, block)),
                (ref, _in_fresh_process(stream_measured, str(root / f"obs{ref}.zarr"), str(root / "f_ref2.zarr"),
                                        FAMILIES, block))]
        store_gb = _size_gb(root / f"obs{big}.zarr")
        features_gb = _size_gb(root / "f_big.zarr")
    rate = [r["samples_in"] / r["seconds"] for _, r in runs]
    cpu_rate = [r["samples_in"] / r["cpu_seconds"] for _, r in runs]
    big_run = runs[1][1]
    values_gb = big * 10 * 219 * 4 / 1e9  # float32 reflectance of the observation-level set
    return {
        "ratio": cpu_rate[1] / ((cpu_rate[0] + cpu_rate[2]) / 2),
        "not_measured": None,  # CPU seconds of fresh processes: other processes on the machine do not move them
        "reference": f"samples per CPU-second of the same streaming run on {ref:,} samples (mean of one "
                     "before and one after), same run",
        "figures": {
            "simulated": True, "families": list(FAMILIES), "block_samples": block,
            "samples": {"big": big, "reference": ref},
            "stream_seconds": {"big": round(big_run["seconds"], 2),
                               "reference": [round(runs[0][1]["seconds"], 2), round(runs[2][1]["seconds"], 2)]},
            "stream_samples_per_s": {"big": round(rate[1]), "reference": [round(rate[0]), round(rate[2])]},
            "stream_cpu_seconds": {"big": round(big_run["cpu_seconds"], 2),
                                   "reference": [round(runs[0][1]["cpu_seconds"], 2),
                                                 round(runs[2][1]["cpu_seconds"], 2)]},
            "stream_samples_per_cpu_s": {"big": round(cpu_rate[1]),
                                         "reference": [round(cpu_rate[0]), round(cpu_rate[2])]},
            "wall_ratio": round(rate[1] / ((rate[0] + rate[2]) / 2), 3),
            "samples_kept": {"big": big_run["samples_out"], "reference": runs[0][1]["samples_out"]},
            "peak_rss_gb": {"stream_big": round(big_run["peak_rss_gb"], 3),
                            "stream_reference": round(max(runs[0][1]["peak_rss_gb"], runs[2][1]["peak_rss_gb"]), 3),
                            "write_big": round(made[big]["peak_rss_gb"], 3),
                            "write_reference": round(made[ref]["peak_rss_gb"], 3)},
            "peak_rss_gb_max": round(max(big_run["peak_rss_gb"], made[big]["peak_rss_gb"]), 3),
            "write_samples_per_s": {"big": round(big / made[big]["seconds"]),
                                    "reference": round(ref / made[ref]["seconds"])},
            "observation_values_gb": round(values_gb, 3), "observation_store_gb": round(store_gb, 3),
            "feature_store_gb": round(features_gb, 3),
            "goals": "ratio >= 0.8 (linear cost), peak_rss_gb_max <= 8",
        },
    }
