"""Plumbing of benchmarks/bench_scale.py (quick mode: 3,000 vs 300 samples; times are not asserted)."""

from __future__ import annotations

import pytest

from cropglobe import bench


@pytest.mark.slow
def test_scale_benchmark_reports_rates_and_peaks() -> None:
    module = bench.discover()["scale"].module  # benchmarks/bench_scale.py
    assert module.NAME == "scale"
    result = module.run(quick=True)
    assert set(result) == {"ratio", "not_measured", "reference", "figures"} and result["ratio"] > 0
    figures = result["figures"]
    assert figures["simulated"] is True and figures["samples"] == {"big": 3000, "reference": 300}
    assert figures["samples_kept"]["big"] > 0 and figures["samples_kept"]["reference"] > 0
    peaks = figures["peak_rss_gb"]
    assert all(0 < v < 64 for v in peaks.values()) and figures["peak_rss_gb_max"] >= peaks["stream_big"]
    assert figures["stream_samples_per_s"]["big"] > 0 and figures["stream_samples_per_cpu_s"]["big"] > 0
    assert figures["wall_ratio"] > 0
