"""The ``import`` benchmark runs (quick) and both imports agree; no timing is asserted."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_bench_import_quick():
    path = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_import.py"
    spec = importlib.util.spec_from_file_location("bench_import", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.run(quick=True)
    assert out["ratio"] > 0 and out["figures"]["same_cube"] is True
    assert out["figures"]["columns"] == 34 and "pivot_table" in out["reference"]
