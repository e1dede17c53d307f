"""Markdown tables of a (possibly unfinished) region study: macro-F1 mean ± std over seeds, per source -> target.

Reads every finished cell's ``result.json`` of RUN_DIR (plus ``adaptation.parquet`` files given with
--extra, e.g. from ``cropglobe study adapt RUN -m align --out DIR``), so it works while the study runs.

    python scripts/region_tables.py runs/regions [runs/more ...]
        [--extra runs/regions/adaptation-align/adaptation.parquet]
        [--loro canada,arkansas,france]

``--loro R1,R2,...`` adds the leave-one-region-out selection: for each configuration (cell x
adaptation), the mean macro-F1 over every cross-region pair among the listed regions (each pair
scores a region held out of its source's training). The configuration with the highest mean is
the one to recommend; the other targets are not used for the choice.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from cropglobe.cells.run_folder import RESULT, RunFolder


def load(runs: list[Path], extra: list[Path]) -> pd.DataFrame:
    rows = [r for run in runs for f in sorted(RunFolder(run).cells_dir.glob(f"*/{RESULT}"))
            for r in json.loads(f.read_text())]
    df = pd.DataFrame(rows)
    for e in extra:
        more = pd.read_parquet(e)
        more = more[more["adaptation"] != "none"]
        df = pd.concat([df, more], ignore_index=True)
    df["config"] = (df["feature"] + " / " + df["model"] + df["augmentation"].map(lambda a: "" if a == "none" else
                                                                                 f" +aug:{a}")
                    + df["adaptation"].map(lambda a: "" if a == "none" else f" [{a}]"))
    return df.drop_duplicates(["source", "target", "config", "seed"], keep="last")


def cell_text(g: pd.DataFrame) -> str:
    single = g[g["seed"] >= 0]["macro_f1"]
    if single.empty:
        return "–"
    text = f"{single.mean():.3f}" + (f" ± {single.std(ddof=0):.3f}" if len(single) > 1 else "") + f" (n={len(single)})"
    return text


def table(df: pd.DataFrame, pairs: list[tuple[str, str]]) -> str:
    lines = ["| configuration | " + " | ".join(f"{s} → {t}" for s, t in pairs) + " |",
             "|---|" + "---|" * len(pairs)]
    for config, g in df[df["seed"] >= 0].groupby("config", sort=True):
        cells = [cell_text(g[(g["source"] == s) & (g["target"] == t)]) for s, t in pairs]
        lines.append(f"| {config} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pair_table(df: pd.DataFrame) -> str:
    """One row per source -> target pair (with its scenario), one column per configuration."""
    d = df[df["seed"] >= 0]
    configs = sorted(d["config"].unique())
    lines = ["| source → target | scenario | " + " | ".join(configs) + " |", "|---|---|" + "---|" * len(configs)]
    order = list(dict.fromkeys(zip(d["source"], d["target"], strict=True)))
    for s, t in order:
        g = d[(d["source"] == s) & (d["target"] == t)]
        cells = [cell_text(g[g["config"] == c]) for c in configs]
        lines.append(f"| {s} → {t} | {g['scenario'].iloc[0]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def loro(df: pd.DataFrame, regions: list[str]) -> str:
    d = df[(df["seed"] >= 0) & df["source"].isin(regions) & df["target"].isin(regions) & (df["source"] != df["target"])]
    per_seed = d.groupby(["config", "seed"])["macro_f1"].agg(["mean", "count"]).reset_index()
    full = per_seed["count"].max()
    per_seed = per_seed[per_seed["count"] == full]
    agg = per_seed.groupby("config")["mean"].agg(["mean", "std", "count"]).sort_values("mean", ascending=False)
    lines = [f"| configuration | mean macro-F1 over the {full} cross-region pairs of {', '.join(regions)} | seeds |",
             "|---|---|---|"]
    for config, r in agg.iterrows():
        lines.append(f"| {config} | {r['mean']:.3f} ± {0 if pd.isna(r['std']) else r['std']:.3f} | {int(r['count'])} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, nargs="+", help="run folders (studies of the same data and splits)")
    ap.add_argument("--extra", type=Path, action="append", default=[])
    ap.add_argument("--loro", default="")
    ap.add_argument("--pairs", action="store_true", help="one table: a row per pair, a column per configuration")
    a = ap.parse_args()
    df = load(a.run, a.extra)
    if a.pairs:
        print(pair_table(df))
        if a.loro:
            print("\n" + loro(df, a.loro.split(",")))
        return
    sources = list(dict.fromkeys(df["source"]))
    for src in sources:
        targets = list(dict.fromkeys(df.loc[df["source"] == src, "target"]))
        print(f"\n#### source {src}\n")
        print(table(df[df["source"] == src], [(src, t) for t in targets]))
    if a.loro:
        print("\n#### leave-one-region-out selection\n")
        print(loro(df, a.loro.split(",")))


if __name__ == "__main__":
    main()
