"""bf16 against float32 inference on REAL test pixels: the share of classes that change (issue 26's rule).

For each CELL and each SampleSet store, :func:`cropglobe.mapping.predict_table.predict_samples` predicts
every sample twice, with ``--precision 32-true`` and ``bf16-mixed`` (bfloat16 autocast of the forward
pass), and the script reports the share of predicted samples whose class changes, the largest change
of a probability, both macro-F1 scores (the cell's run remaps, as ``cropglobe predict`` scores; labels
are read only to score) and the thread CPU seconds of each pass (one torch thread, best of
``--repeat``). bf16 may become the map/predict default where the CPU has bf16 units only if at most
0.5 % of the classes change on every real pair (DEVELOPERS.md, "Precision").

    PYTHONPATH=src python scripts/precision_real.py \\
        runs/canada-france/cells/CAN__median2d__cropnet__none__s0 data/fra_2023_dekad.zarr data/can_2017.zarr

Prints one JSON object per (cell, store) and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def compare(cell: Path, store: Path, repeat: int) -> dict:
    """Predict ``store`` with ``cell`` in float32 and bf16; return the class changes, scores and CPU seconds."""
    import numpy as np

    from cropglobe import samples
    from cropglobe.mapping.predict_table import PredictOptions, predict_samples

    ds = samples.load(store)
    out: dict = {"cell": cell.name, "store": store.name}
    runs = {}
    for precision in ("32-true", "bf16-mixed"):
        best = float("inf")
        for _ in range(max(1, repeat)):
            t = time.thread_time()
            res = predict_samples(cell, ds, options=PredictOptions(precision=precision))
            best = min(best, time.thread_time() - t)
        runs[precision] = res
        out[f"cpu_s_{precision}"] = round(best, 3)
        out[f"macro_f1_{precision}"] = _macro_f1(res.metrics)
    a, b = (runs[p].table for p in ("32-true", "bf16-mixed"))
    both = a["predicted"].notna().to_numpy() & b["predicted"].notna().to_numpy()
    probs = [c for c in a.columns if c.startswith("prob_")]
    out["samples"] = int(both.sum())
    out["changed"] = int((a["predicted"][both] != b["predicted"][both]).sum())
    out["changed_share"] = round(out["changed"] / max(1, out["samples"]), 5)
    out["max_prob_change"] = float(np.nanmax(np.abs(a[probs].to_numpy()[both] - b[probs].to_numpy()[both])))
    return out


def _macro_f1(metrics: dict | None) -> str | None:
    """``region macro-F1`` of each scored region (or country) of ``predict``'s metrics, or None."""
    if metrics is None:
        return None
    group = metrics.get("regions") or metrics["targets"]
    return ", ".join(f"{k} {v['macro_f1']:.4f}" for k, v in group.items())


def table(rows: list[dict]) -> str:
    """Markdown table of the rows."""
    lines = ["| cell | samples | store | classes changed (bf16 vs float32) | max probability change | "
             "macro-F1 float32 / bf16 | thread CPU-s float32 / bf16 |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['cell']} | {r['samples']:,} | {r['store']} | {r['changed']} ({r['changed_share']:.2%}) | "
                     f"{r['max_prob_change']:.3f} | {r['macro_f1_32-true']} / {r['macro_f1_bf16-mixed']} | "
                     f"{r['cpu_s_32-true']} / {r['cpu_s_bf16-mixed']} |")
    return "\n".join(lines)


def main() -> None:
    """Command line: ``CELL STORE [STORE ...] [--cell CELL ...] [--repeat N] [--json OUT]``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cell", type=Path)
    ap.add_argument("stores", type=Path, nargs="+")
    ap.add_argument("--cell", dest="more", type=Path, action="append", default=[], help="another cell")
    ap.add_argument("--repeat", type=int, default=2, help="timed passes per precision (best kept)")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)  # thread CPU time measures the whole inference on one thread
    from cropglobe.bench import cpu_info

    rows = []
    for cell in [a.cell, *a.more]:
        for store in a.stores:
            rows.append({**compare(cell, store, a.repeat), "cpu": cpu_info(), "load": os.getloadavg()[0]})
            print(json.dumps(rows[-1]), flush=True)
    print(table(rows))
    if a.json is not None:
        a.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
