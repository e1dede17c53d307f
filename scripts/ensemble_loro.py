"""Leave-one-region-out scores of seed ensembles, and of ensembles of several study cells, from saved probabilities.

Each configuration is a ``+``-joined list of study cells (``FEATURE__MODEL__AUGMENTATION``); its
ensemble averages the saved target probabilities (``target_proba.npz``, no retraining) of every
finished seed of every listed cell found in the run folders, per source. For each source -> target
pair among the ``--loro`` regions (each target is held out of its source's training), the mean
probability is scored as the study scores it (the run's remaps; under ``absent_classes: other``,
target classes the source never held count as ``other``). Labels are read only to score; the
configuration with the best mean over the pairs is the one the leave-one-region-out rule picks.

    python scripts/ensemble_loro.py runs/season-shift runs/season-shift-anchor runs/season-shift-anchor-s12 \\
        --config median2d__tempcnn__season-wide \\
        --config median2d__tempcnn-anchored__season-wide \\
        --config median2d__tempcnn__season-wide+median2d__tempcnn-anchored__season-wide \\
        --loro canada,arkansas,france --data-root /work/main

The runs must be studies of the same data, splits and window (the first run's config prepares the data).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def members(runs: list[Path], source: str, cells: list[str]) -> list[Path]:
    """The finished cell folders of ``source`` for each listed cell, every seed, across the runs."""
    found = []
    for run in runs:
        for cell in cells:
            found += [p for p in sorted((run / "cells").glob(f"{source}__{cell}__s*"))
                      if (p / "result.json").exists() and (p / "target_proba.npz").exists()]
    return found


def main() -> None:
    """Print a Markdown table (pair x configuration) and the leave-one-region-out means; optionally JSON."""
    from cropglobe.cells.run_folder import RunFolder
    from cropglobe.experiment.data import prepare_study
    from cropglobe.experiment.scoring import evaluate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, nargs="+")
    ap.add_argument("--config", action="append", required=True, help="cells joined by '+' (repeat the option)")
    ap.add_argument("--loro", required=True, help="regions, comma-separated")
    ap.add_argument("--data-root", type=Path, default=None, help="folder the run's relative data paths start in")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    spec = RunFolder(args.run[0]).load_spec()
    if args.data_root is not None:
        paths = [p if Path(p).is_absolute() else str(args.data_root / p) for p in spec.data.path]
        spec = spec.model_copy(update={"data": spec.data.model_copy(update={"path": paths})})
    prepared = prepare_study(spec)
    regions = args.loro.split(",")
    rows = []
    for config in args.config:
        for source in regions:
            cells = members(args.run, source, config.split("+"))
            if not cells:
                raise SystemExit(f"no finished cell of {config} from {source} in {', '.join(map(str, args.run))}")
            source_classes = prepared.classes_held([source]) if spec.absent_classes == "other" else None
            for target in regions:
                if target == source:
                    continue
                proba = np.mean([np.load(c / "target_proba.npz")[f"{target}|none"] for c in cells], axis=0)
                s = evaluate(prepared, target, prepared.indices(target), proba, source_classes)
                rows.append({"config": config, "source": source, "target": target, "members": len(cells),
                             "cells": [c.name for c in cells], "macro_f1": round(float(s.macro_f1), 4)})
    pairs = sorted({(r["source"], r["target"]) for r in rows})
    print("| source → target | " + " | ".join(args.config) + " |")
    print("|---|" + "---|" * len(args.config))
    for src, tgt in pairs:
        vals = [next(r for r in rows if r["config"] == c and (r["source"], r["target"]) == (src, tgt))
                for c in args.config]
        print(f"| {src} → {tgt} | " + " | ".join(f"{v['macro_f1']:.3f} ({v['members']})" for v in vals) + " |")
    means = {c: float(np.mean([r["macro_f1"] for r in rows if r["config"] == c])) for c in args.config}
    print("| **LORO mean** | " + " | ".join(f"**{means[c]:.3f}**" for c in args.config) + " |")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "loro": means}, indent=1))


if __name__ == "__main__":
    main()
