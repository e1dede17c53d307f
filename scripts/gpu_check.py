"""Helpers of scripts/gpu_check.sh (issue 26): probe the GPU, write the one-cell Canada -> France spec, summarise.

    python scripts/gpu_check.py probe              one JSON line: gpu (bool), why, name, torch, bf16 peak
    python scripts/gpu_check.py spec DATA OUT.yaml the real Canada -> France CropNet cell alone (full epochs)
    python scripts/gpu_check.py summary RUN SECONDS  macro-F1 / OA of the run's rows and the training time

Run with the checkout's ``src`` on ``PYTHONPATH`` (the shell script sets it).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "realdata" / "canada_france.yaml"
DATA = ("can_2017.zarr", "fra_2023_dekad.zarr")


def probe() -> dict:
    """Whether torch can use a CUDA GPU here, and if not, why (one sentence)."""
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
    if hidden is not None and hidden.strip() in ("", "-1"):
        return {"gpu": False, "why": f"CUDA_VISIBLE_DEVICES={hidden!r} hides every device"}
    try:
        import torch
    except ImportError as err:
        return {"gpu": False, "why": f"torch is not importable by {sys.executable} ({err})"}
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        return {"gpu": False, "torch": torch.__version__,
                "why": f"torch {torch.__version__} ({build}) sees no CUDA device"}
    from cropglobe.bench import gpu_bf16_peak

    name = torch.cuda.get_device_name()
    peak, source = gpu_bf16_peak(name)
    return {"gpu": True, "name": name, "count": torch.cuda.device_count(), "torch": torch.__version__,
            "cuda": torch.version.cuda, "bf16_supported": torch.cuda.is_bf16_supported(),
            "bf16_peak_TFLOP_per_s": peak, "bf16_peak_source": source}


def one_cell_spec(data: Path, out: Path) -> Path:
    """Write configs/realdata/canada_france.yaml restricted to its CropNet cell trained on CAN (seed 0,
    the config's full epochs, no adaptation), with absolute data paths, to ``out``."""
    import yaml

    from cropglobe import yamlfile
    from cropglobe.errors import CropGlobeError
    from cropglobe.experiment import parse_spec

    paths = [data / name for name in DATA]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise CropGlobeError(f"real data not found: {', '.join(missing)} (scripts/realdata.sh imports them)")
    raw = yamlfile.load(CONFIG)
    raw.update({"name": "gpu-check-canada-france", "data": {"path": [str(p.resolve()) for p in paths]},
                "sources": ["CAN"], "targets": ["FRA"], "cells": [{"feature": "median2d", "model": "cropnet"}],
                "seeds": [0]})
    raw.pop("adaptation", None)
    parse_spec(raw, str(out))  # the spec must be valid before a GPU minute is spent on it
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"# written by scripts/gpu_check.py from {CONFIG.relative_to(ROOT)}: one cell, seed 0\n"
                   + yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return out


def summary(run: Path, seconds: float) -> dict:
    """The run's result rows (source -> target, macro-F1, OA) and its wall time."""
    import pandas as pd

    rows = pd.read_parquet(run / "results.parquet")
    keep = [c for c in ("source", "target", "scenario", "feature", "model", "seed", "macro_f1", "oa") if c in rows]
    return {"run": str(run), "seconds": round(seconds, 1),
            "rows": json.loads(rows[keep].round(4).to_json(orient="records"))}


def main(argv: list[str]) -> int:
    from cropglobe.errors import CropGlobeError

    try:
        if argv[:1] == ["probe"]:
            print(json.dumps(probe()))
        elif argv[:1] == ["spec"] and len(argv) == 3:
            print(one_cell_spec(Path(argv[1]), Path(argv[2])))
        elif argv[:1] == ["summary"] and len(argv) == 3:
            print(json.dumps(summary(Path(argv[1]), float(argv[2]))))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except CropGlobeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
