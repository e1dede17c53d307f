"""Predict at scale: ``cropglobe predict`` on 1,000,000 vs 100,000 samples (SIMULATED), peak memory per process.

Input: observation-level SampleSets written to Zarr block by block by
:func:`cropglobe.sources.simulate_large.write_tiled` (perturbed repeats of a simulated base set:
10 bands x 219 dates, clear-sky scores), and a small random-forest cell on harmonic features of
simulated FRA samples (``model`` + ``recipe.json`` as a transfer run writes them). Each
:func:`cropglobe.mapping.predict_table.predict_file` run (composite like training, features,
probabilities, Parquet + metrics) happens in its own fresh process, so its peak resident memory
(``getrusage``) is its own. ``cropglobe predict`` reads the set 10,000 samples at a time
(:mod:`cropglobe.mapping.predict_stream`, issue 29): before, it held the whole set (86.4k samples
peaked at 3.87 GB). Ratio = peak RSS at 1M / peak RSS at 100k: 1.0 = memory flat in the number
of samples (what grows is the per-sample table: ids, probabilities). Goal: peak < 2 GB at 1M.
"""

from __future__ import annotations

import json
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

NAME = "predict"
DESCRIPTION = ("cropglobe predict in 10,000-sample blocks on 1,000,000 vs 100,000 SIMULATED samples: "
               "ratio = peak RSS at 1M / peak RSS at 100k, goal peak < 2 GB")


def _in_fresh_process(fn: Any, *args: Any) -> dict:
    """Run ``fn(*args)`` in a new spawned process (its own peak memory) and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def write_cell(cell: str) -> dict:
    """A 10-tree random forest on harmonic features of SIMULATED FRA samples, saved as a transfer cell."""
    from cropglobe import models, samples, taxonomy
    from cropglobe.features import families as features
    from cropglobe.sources import simulate
    from cropglobe.temporal import composite, season

    full = composite.composite(simulate.simulate(["FRA"], samples_per_class=20, seed=3))
    x = features.get_feature("harmonic").fn(season.season(full))
    m = models.get_model("rf", x.shape[1], 1, len(taxonomy.CLASSES), n_estimators=10)
    m.fit(x, samples.label_codes(full))
    path = Path(cell)
    path.mkdir(parents=True, exist_ok=True)
    m.save(path / "model", None, list(taxonomy.CLASSES))
    recipe = {"model_file": "model", "model": "rf", "feature": "harmonic", "feature_options": {}, "flatten": False,
              "bands": [str(b) for b in full["band"].values], "classes": list(taxonomy.CLASSES),
              "composite": {"interval": 5, "window": "05-01:11-30", "align": "hemisphere", "clear_threshold": 0.75},
              "window_bins": list(season.window_bins(full)), "bin_days": 5}
    (path / "recipe.json").write_text(json.dumps(recipe), encoding="utf-8")
    return {"cell": cell}


def run(quick: bool = False) -> dict:
    """Write both simulated sets and the cell, predict each in a fresh process, report peaks and rates."""
    from cropglobe.mapping.predict_stream import predict_measured
    from cropglobe.sources.simulate_large import write_measured

    big, ref = (3_000, 300) if quick else (1_000_000, 100_000)
    block, base = (1_000, 5) if quick else (10_000, 100)
    with tempfile.TemporaryDirectory(prefix="cropglobe-bench-predict-") as tmp:
        root = Path(tmp)
        write_cell(str(root / "cell"))  # in this process: the predict runs below have their own
        made = {n: _in_fresh_process(write_measured, str(root / f"obs{n}.zarr"), n, block, base) for n in (ref, big)}
        runs = {n: _in_fresh_process(predict_measured, str(root / "cell"), str(root / f"obs{n}.zarr"),
                                     str(root / f"p{n}.parquet"), block) for n in (ref, big)}
    peak = {n: r["peak_rss_gb"] for n, r in runs.items()}
    return {
        "ratio": peak[big] / peak[ref],
        "not_measured": None,  # peak memory of fresh processes: other processes on the machine do not move it
        "reference": f"peak RSS of the same predict run on {ref:,} samples, same run",
        "figures": {
            "simulated": True, "data": "SIMULATED DATA", "block_samples": block,
            "samples": {"big": big, "reference": ref},
            "predicted": {"big": runs[big]["predicted"], "reference": runs[ref]["predicted"]},
            "peak_rss_gb": {"predict_big": round(peak[big], 3), "predict_reference": round(peak[ref], 3),
                            "write_big": round(made[big]["peak_rss_gb"], 3)},
            "predict_seconds": {"big": round(runs[big]["seconds"], 1), "reference": round(runs[ref]["seconds"], 1)},
            "predict_cpu_seconds": {"big": round(runs[big]["cpu_seconds"], 1),
                                    "reference": round(runs[ref]["cpu_seconds"], 1)},
            "observation_values_gb": round(big * 10 * 219 * 4 / 1e9, 3),
            "goals": "peak_rss_gb.predict_big < 2; ratio near 1 (flat in the number of samples)",
        },
    }
