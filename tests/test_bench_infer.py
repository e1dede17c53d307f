"""Plumbing of benchmarks/bench_infer.py (quick mode; times are not asserted)."""

from __future__ import annotations

import pytest

from cropglobe import bench
from cropglobe.errors import CropGlobeError


def test_infer_benchmark_reports_px_per_s_peak_and_their_ratio_per_precision():
    module = bench.discover()["infer"].module  # benchmarks/bench_infer.py
    result = module.run(quick=True)
    assert set(result) == {"ratio", "not_measured", "reference", "figures"}
    assert (result["ratio"] is None) == (result["not_measured"] is not None)
    figures = result["figures"]
    # CropNet on 9 bands x 31 bins: (positions, MACs per position) of each block's two convs, plus the head
    # (9x31 -> 5x16 -> 5x16 -> 3x8 positions: 2x2 pooling, ceil mode, after the first and third blocks)
    macs = (279 * (1 * 64 * 9 + 64 * 64 * 9) + 80 * (64 * 128 * 9 + 128 * 128 * 9)
            + 80 * (128 * 256 * 9 + 256 * 256 * 9) + 24 * (256 * 512 * 9 + 512 * 512 * 9) + 512 * 7)
    assert figures["GFLOP_per_pixel"] == pytest.approx(2 * macs / 1e9, abs=2e-4)
    assert figures["cpu_model"] == bench.cpu_info()["cpu_model"]
    f32 = figures["float32"]
    assert f32["px_per_s_1_thread"] > 0 and f32["matmul_GFLOP_per_s_1_thread"] > 0
    assert f32["achieved_GFLOP_per_s_1_thread"] == pytest.approx(
        f32["px_per_s_1_thread"] * figures["GFLOP_per_pixel"], rel=1e-2)
    if result["ratio"] is not None and figures["auto_precision"] == "float32":
        assert result["ratio"] == pytest.approx(f32["achieved_over_peak_1_thread"], abs=1e-3)
    if bench.cpu_info()["bf16_units"]:
        assert figures["bf16"]["px_per_s_1_thread"] > 0 and figures["bf16_over_float32_px_per_s"] > 0
    else:  # said, not timed
        assert figures["bf16"]["measured"] is False and "avx512_bf16" in figures["bf16"]["why"]


def test_infer_on_cuda_without_a_gpu_is_one_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    module = bench.discover()["infer"].module
    with pytest.raises(CropGlobeError, match="no CUDA device"):
        module.run(quick=True, device="cuda")
