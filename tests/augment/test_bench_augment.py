"""Plumbing of benchmarks/bench_augment.py (quick mode; times are not asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_augment.py"


def test_augment_benchmark_runs_and_agrees_with_its_reference() -> None:
    spec = importlib.util.spec_from_file_location("bench_augment_under_test", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.NAME == "augment"
    result = module.run(quick=True)
    assert set(result) == {"ratio", "not_measured", "reference", "figures"}
    assert (result["ratio"] is None) == (result["not_measured"] is not None)
    assert result["ratio"] is None or result["ratio"] > 0
    figures = result["figures"]
    assert figures["timing"]["clock"] == "thread" and figures["torch_cpu_ms_per_batch_1_thread"] > 0
    assert figures["batch"] == [32, 10, 73]
    # the per-sample numpy/scipy reference computes the same augmentation from the same draws
    assert figures["max_abs_diff_vs_reference"] < 1e-4
