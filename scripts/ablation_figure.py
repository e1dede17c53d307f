"""Bar chart of a transfer run's macro-F1 per cell and source -> target pair (mean ± std over seeds).

Usage: .venv/bin/python scripts/ablation_figure.py RUN_DIR/results.parquet OUT.png [ADAPTATION]
(ADAPTATION: the rows to plot, default ``none``; seeds >= 0 only, i.e. no ensemble rows.)
"""

from __future__ import annotations

import sys

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after matplotlib.use: the backend is chosen before pyplot loads


def main(argv: list[str]) -> None:
    df = pd.read_parquet(argv[0])
    adaptation = argv[2] if len(argv) > 2 else "none"
    if "adaptation" in df:
        df = df[df["adaptation"] == adaptation]
    df = df[df["seed"] >= 0].assign(pair=lambda d: d["source"] + "→" + d["target"])
    cells = list(dict.fromkeys(df["augmentation"]))
    pairs = list(dict.fromkeys(df["pair"]))
    stats = df.groupby(["pair", "augmentation"])["macro_f1"].agg(
        mean="mean", std=lambda v: v.std(ddof=0), count="count"
    )
    fig, ax = plt.subplots(figsize=(1.6 * len(pairs) + 3, 4))
    width = 0.8 / len(cells)
    for k, cell in enumerate(cells):
        rows = [stats.loc[(p, cell)] if (p, cell) in stats.index else None for p in pairs]
        mean = [r["mean"] if r is not None else np.nan for r in rows]
        std = [r["std"] if r is not None and r["count"] > 1 else 0 for r in rows]
        ax.bar(np.arange(len(pairs)) + k * width - 0.4 + width / 2, mean, width, yerr=std, capsize=2, label=cell)
    ax.set_xticks(range(len(pairs)), pairs)
    ax.set_ylabel("macro-F1 (mean ± std over seeds)")
    ax.set_ylim(0, 1)
    n = int(df.groupby(["pair", "augmentation"])["seed"].nunique().min())
    model = ", ".join(sorted(df["model"].unique()))
    ax.set_title(f"{model}: augmentation ablation on real data ({n}+ seeds per bar, ± population std)")
    ax.legend(title="augmentation", bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=8)
    fig.savefig(argv[1], dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main(sys.argv[1:])
