"""Plumbing of benchmarks/bench_models.py (quick mode; times are not asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_models.py"


def test_models_benchmark_runs_and_counts_cropnet_flops_analytically() -> None:
    spec = importlib.util.spec_from_file_location("bench_models_under_test", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.NAME == "models"
    result = module.run(quick=True)
    assert set(result) == {"ratio", "not_measured", "reference", "figures"}
    assert (result["ratio"] is None) == (result["not_measured"] is not None)
    assert result["ratio"] is None or result["ratio"] > 0
    assert result["figures"]["timing"]["clock"] == "thread"
    figures = result["figures"]
    for name in ("cropnet", "cropnet-lite", "cropnet1d", "resnet50", "efficientnet-v2-s",
                 "tempcnn", "mlp"):
        assert figures[f"{name}_samples_per_s"] > 0
    # CropNet on 10x43: (positions, MACs per position) of each block's two convs, plus the head.
    macs = (430 * (1 * 64 * 9 + 64 * 64 * 9) + 110 * (64 * 128 * 9 + 128 * 128 * 9)
            + 110 * (128 * 256 * 9 + 256 * 256 * 9) + 33 * (256 * 512 * 9 + 512 * 512 * 9) + 512 * 7)
    expected_gflop = 3 * 2 * macs * figures["batch"] / 1e9
    assert abs(figures["cropnet_GFLOP_per_step"] - expected_gflop) < 0.01
