"""``demo_map`` after a (tiny) transfer run, and the benchmark's plumbing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def test_demo_map_after_a_transfer_run(tmp_path):
    from cropglobe import experiment
    from cropglobe.mapping import demo_map

    spec = experiment.parse_spec({
        "name": "tiny", "data": {"simulate": {"countries": ["FRA", "BEL"], "samples_per_class": 25}},
        "sources": ["FRA"], "targets": ["BEL"], "cells": [{"feature": "harmonic", "model": "lightgbm"}],
        "model_options": {"lightgbm": {"n_estimators": 40}},
    })
    experiment.run(spec, tmp_path / "run", progress=False)
    out = demo_map(tmp_path / "run", tmp_path / "demo", fields=(3, 3), field_px=8, scheduler="synchronous")
    assert Path(out["png"]).read_bytes()[:4] == b"\x89PNG"
    assert out["data"] == "SIMULATED" and out["pixels"] == 24 * 24
    assert out["accuracy"] > 0.5  # cross-country transfer FRA -> BEL, simulated


def test_bench_map_quick_plumbing():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import bench_map

    result = bench_map.run(quick=True)
    assert set(result) == {"ratio", "not_measured", "reference", "figures"}
    assert (result["ratio"] is None) == (result["not_measured"] is not None)
    for key in ("cropnet-lite_median2d", "lightgbm_harmonic"):
        fig = result["figures"][key]
        assert fig["end_to_end_px_per_s"] > 0 and fig["bare_model_px_per_s"] > 0
        assert fig["ratio_end_to_end_vs_bare"] == round(fig["end_to_end_px_per_s"] / fig["bare_model_px_per_s"], 4)
        # the headline basis: px per CPU-second of the map over the bare model's, alternating rounds
        assert fig["timing"]["clock"] == "process" and fig["timing"]["rounds"] >= 2
        assert (fig["cpu_ratio_vs_bare"] is None) == (fig["timing"]["not_measured"] is not None)
        if fig["cpu_ratio_vs_bare"] is not None:
            assert fig["cpu_ratio_vs_bare"] == pytest.approx(fig["map_px_per_cpu_s"] / fig["bare_model_px_per_cpu_s"],
                                                             rel=1e-3, abs=1e-4)  # rounded to 4 decimals
        assert 0 <= fig["map_accuracy_vs_truth"] <= 1
        share = fig["cpu_share"]  # the CPU breakdown by stage
        assert {"read", "composite", "features", "model", "write", "other"} <= set(share)
        assert abs(sum(share.values()) - 1) < 0.01 and share["other"] > -0.05 and fig["cpu_seconds"] > 0
    fast = result["figures"]["fast_path"]
    assert fast["end_to_end_px_per_s"] > 0 and "distilled" in fast["model"]
    assert set(fast["FRA_to_BEL_accuracy"]) == {"oa", "macro_f1"}
    assert fast["observation_cube"]["cpu_bound_px_per_s_2_cores"] > 0
    assert (fast["cropnet_FRA_to_BEL_accuracy_same_samples"]
            == result["figures"]["cropnet-lite_median2d"]["transfer_FRA_to_BEL"])
