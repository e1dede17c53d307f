"""Plumbing of benchmarks/bench_precision.py (quick mode; times are not asserted)."""

from __future__ import annotations

from cropglobe import bench


def test_precision_benchmark_reports_both_modes() -> None:
    module = bench.discover()["precision"].module  # benchmarks/bench_precision.py
    assert module.NAME == "precision"
    result = module.run(quick=True)
    assert set(result) == {"ratio", "not_measured", "reference", "figures"}
    # a ratio, or on a machine too busy to time even one thread's CPU time, the reason
    assert (result["ratio"] is None) == (result["not_measured"] is not None)
    assert result["ratio"] is None or result["ratio"] > 0
    figures = result["figures"]
    assert figures["float32_samples_per_s"] > 0 and figures["bf16_samples_per_s"] > 0
    assert figures["float32_samples_per_cpu_s_1_thread"] > 0 and figures["timing"]["clock"] == "thread"
    assert figures["timing_all_threads"]["clock"] == "wall"
    assert figures["training_default_precision"] in ("bf16-mixed", "32-true")
