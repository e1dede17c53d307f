"""Benchmark harness: discover ``benchmarks/bench_*.py`` and print one JSON object per benchmark.

A benchmark module defines ``NAME`` (str), ``DESCRIPTION`` (one line) and
``run(quick: bool = False) -> dict`` returning ``{"ratio": float, "reference": str,
"figures": dict}``: the headline ratio against a reference measured in the same run
(higher = better). ``quick`` shrinks sizes so tests can check the plumbing; its figures are not
performance claims.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from cropglobe.errors import CropGlobeError


@dataclass(frozen=True)
class Benchmark:
    """One discovered benchmark."""

    name: str
    description: str
    module: ModuleType


def benchmarks_dir() -> Path:
    """Return the folder of benchmark modules (``$CROPGLOBE_BENCHMARKS`` or the repo's ``benchmarks/``)."""
    env = os.environ.get("CROPGLOBE_BENCHMARKS")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "benchmarks"
    if not path.is_dir():
        raise CropGlobeError(
            f"benchmark folder {path} not found: run from a source checkout (pip install -e .) or "
            "set CROPGLOBE_BENCHMARKS to the repository's benchmarks/ folder"
        )
    return path


def discover() -> dict[str, Benchmark]:
    """Import every ``bench_*.py`` module and return them by name, sorted."""
    found: dict[str, Benchmark] = {}
    for file in sorted(benchmarks_dir().glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(f"cropglobe_bench_{file.stem}", file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[module.NAME] = Benchmark(module.NAME, module.DESCRIPTION, module)
    return dict(sorted(found.items()))


def run(names: list[str] | None = None, quick: bool = False) -> list[dict]:
    """Run the named benchmarks (all when empty) and return their JSON-ready results.

    Raises:
        CropGlobeError: If a name is not a known benchmark.
    """
    available = discover()
    unknown = [n for n in names or [] if n not in available]
    if unknown:
        raise CropGlobeError(f"unknown benchmark(s) {unknown}; available: {', '.join(available)}")
    results = []
    for name in names or list(available):
        out = available[name].module.run(quick=quick)
        missing = {"ratio", "reference", "figures"} - set(out)
        if missing:
            raise RuntimeError(f"benchmark {name} returned no {sorted(missing)}")
        results.append({"name": name, "ratio": float(out["ratio"]), "reference": str(out["reference"]),
                        "figures": {**out["figures"], "quick": quick, "machine": platform.machine(),
                                    "cpus": os.cpu_count()}})
    return results


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """Return the best wall time (seconds) of ``repeat`` calls of ``fn`` (the least disturbed run)."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def dumps(result: dict) -> str:
    """Serialise one result as a single JSON line."""
    return json.dumps(result, sort_keys=False, default=float)
