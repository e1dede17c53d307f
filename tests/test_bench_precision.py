"""Plumbing of benchmarks/bench_precision.py (quick mode; times are not asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_precision.py"


def test_precision_benchmark_reports_both_modes() -> None:
    spec = importlib.util.spec_from_file_location("bench_precision_under_test", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.NAME == "precision"
    result = module.run(quick=True)
    assert set(result) == {"ratio", "reference", "figures"} and result["ratio"] > 0
    figures = result["figures"]
    assert figures["float32_samples_per_s"] > 0 and figures["bf16_samples_per_s"] > 0
    assert figures["training_default_precision"] in ("bf16-mixed", "32-true")
