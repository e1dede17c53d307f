"""Measure what each augmentation preset does to a study's data (no training); prints Markdown.

Usage: .venv/bin/python scripts/augment_diagnostics.py configs/realdata/canada_france.yaml [PRESET ...]
"""

from __future__ import annotations

import sys

import numpy as np

from cropglobe.augment import diagnostics
from cropglobe.experiment.data import prepare_study
from cropglobe.experiment.study import load_spec

PRESETS = ["paper", "paper-nowarp", "shift-10d", "shift-30d", "scale-sym10d", "scale-paper", "scale-sym30d",
           "warp-0.05", "warp-0.1", "warp-0.2", "reference-code"]


def _md(df) -> str:  # pandas frame; no tabulate dependency
    cols = list(df.columns)
    fmt = [lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)] * len(cols)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += [
        "| " + " | ".join(f(v) for f, v in zip(fmt, row, strict=True)) + " |" for row in df.itertuples(index=False)
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    prepared = prepare_study(load_spec(argv[0]))
    full = np.nan_to_num(prepared.full["reflectance"].values).astype(np.float32)
    labels = prepared.full["label"].values.astype(str)
    table = diagnostics.measure(full, labels, prepared.countries, prepared.window, prepared.bin_days,
                                argv[1:] or PRESETS, seed=0)
    flat = diagnostics.curvature_by_cadence(full, prepared.countries, prepared.window)
    print(f"window bins {prepared.window}, bin {prepared.bin_days:g} days; {prepared.description}\n")
    print(_md(flat), "\n")
    print(_md(table))


if __name__ == "__main__":
    main(sys.argv[1:])
