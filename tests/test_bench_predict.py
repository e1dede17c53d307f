"""Plumbing of benchmarks/bench_predict.py (quick mode: 3,000 vs 300 SIMULATED samples; times are not asserted)."""

from __future__ import annotations

import pytest

from cropglobe import bench


@pytest.mark.slow
def test_predict_benchmark_reports_peaks() -> None:
    module = bench.discover()["predict"].module  # benchmarks/bench_predict.py
    assert module.NAME == "predict"
    result = module.run(quick=True)
    assert set(result) == {"ratio", "not_measured", "reference", "figures"} and result["ratio"] > 0
    figures = result["figures"]
    assert figures["simulated"] is True and figures["samples"] == {"big": 3000, "reference": 300}
    assert figures["predicted"]["big"] > 0 and figures["block_samples"] == 1000
    assert all(0 < v < 64 for v in figures["peak_rss_gb"].values())
