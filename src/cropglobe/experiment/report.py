"""Transfer reports: results.parquet, report.md (tables by scenario, paper style) and figures.

``build(run_dir)`` recreates ``report.md`` and ``figures/`` from ``results.parquet``,
``config.yaml`` and ``signatures.npz`` alone, so ``cropglobe study report RUN_DIR`` can rebuild them.
Confusion matrices and per-class tables are over the study's legend (its ``classes``, default the
paper's seven); a hierarchical legend (``cereal/wheat``) adds the scores at the parent level.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from cropglobe import legend, taxonomy, yamlfile
from cropglobe.atomic import atomic_path, write_text
from cropglobe.cells.run_folder import RunFolder
from cropglobe.errors import CropGlobeError
from cropglobe.experiment import degenerate, figures
from cropglobe.experiment.degenerate import MARK
from cropglobe.geography import Scenario

SCENARIOS = [s.value for s in Scenario]
KEYS = ["source", "target", "scenario", "feature", "model", "augmentation"]
SIM_NOTE = "SIMULATED DATA (cropglobe phenology simulator): these figures are not real-world accuracies."


def write_results(results: pd.DataFrame, run_dir: str | os.PathLike) -> Path:
    """Write the per-seed results table as ``results.parquet`` (atomically)."""
    path = Path(run_dir) / "results.parquet"
    with atomic_path(path) as tmp:
        results.to_parquet(tmp, index=False)
    return path


def keys(results: pd.DataFrame) -> list[str]:
    """Grouping keys of a results table: :data:`KEYS`, plus ``adaptation`` where recorded."""
    return KEYS + (["adaptation"] if "adaptation" in results else [])


def aggregate(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of OA, macro-F1, weighted-F1 and kappa per source x target x cell."""
    metrics = ["oa", "macro_f1", "weighted_f1", "kappa"]
    by = keys(results)
    grouped = results.groupby(by, sort=False)[metrics]
    out = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=0).add_suffix("_std"))
    out["seeds"] = results.groupby(by, sort=False)["seed"].nunique()
    out["rows"] = results.groupby(by, sort=False)["seed"].size()
    out["n"] = results.groupby(by, sort=False)["n"].first()
    return out.reset_index()


def _cell_name(row: pd.Series) -> str:
    aug = "" if row["augmentation"] == "none" else f" +aug:{row['augmentation']}"
    adapt = "" if row.get("adaptation", "none") == "none" else f" +adapt:{row['adaptation']}"
    return f"{row['feature']} / {row['model']}{aug}{adapt}"


def averaged_over(results: pd.DataFrame) -> str:
    """What the mean and std run over: seeds, or seeds and cross-validation folds."""
    has_folds = "fold" in results and (results["fold"].fillna("") != "").any()
    return "seeds and folds" if has_folds else "seeds"


def value(r: pd.Series, flagged: bool = False) -> str:
    """One table value: macro-F1 (± std over several seeds or folds only) with OA in brackets; ⚠ when degenerate."""
    spread = f" ± {r['macro_f1_std']:.3f}" if r["seeds"] > 1 or r.get("rows", 1) > 1 else ""
    return f"{r['macro_f1_mean']:.3f}{spread} ({r['oa_mean']:.3f})" + (f" {MARK}" if flagged else "")


def _tables(agg: pd.DataFrame, over: str = "seeds", flagged: set[tuple] | None = None) -> list[str]:
    lines: list[str] = []
    flagged = flagged or set()
    by = [k for k in agg.columns if k in (*KEYS, "adaptation")]
    agg = agg.assign(cell=agg.apply(_cell_name, axis=1))
    for scenario in SCENARIOS:
        part = agg[agg["scenario"] == scenario]
        if part.empty:
            continue
        spread = bool(((part["seeds"] > 1) | (part["rows"] > 1)).any())
        lines += [f"## {scenario.replace('-', ' ').capitalize()}", "",
                  f"Macro-F1 (mean ± std over {over}), OA in brackets." if spread else
                  "Macro-F1 (one seed), OA in brackets.", ""]
        for source, block in part.groupby("source", sort=False):
            targets = list(dict.fromkeys(block["target"]))
            header = f"| {source} → | " + " | ".join(targets) + " |"
            lines += [header, "|" + "---|" * (len(targets) + 1)]
            for cell, rows in block.groupby("cell", sort=False):
                by_t = rows.set_index("target")
                cells = []
                for t in targets:
                    if t in by_t.index:
                        r = by_t.loc[t]
                        cells.append(value(r, tuple(r[k] if k != "target" else t for k in by) in flagged))
                    else:
                        cells.append("–")
                lines.append(f"| {cell} | " + " | ".join(cells) + " |")
            lines.append("")
    return lines


def classes_of(results: pd.DataFrame, config: dict) -> list[str]:
    """The study's legend: ``classes`` of its config, else the class names of its per-class scores, else the seven."""
    if config.get("classes"):
        return [str(c) for c in config["classes"]]
    if "per_class" in results and len(results):
        try:
            return list(json.loads(results["per_class"].iloc[0]))
        except (TypeError, ValueError):
            pass
    return list(taxonomy.CLASSES)


def parent_table(results: pd.DataFrame, classes: list[str]) -> list[str]:
    """Markdown lines: mean macro-F1 / OA at the first level of a hierarchical legend (none for a flat one)."""
    from cropglobe.training.metrics import score_at_depth  # defers scikit-learn

    if legend.depth(classes) < 2:
        return []
    rows = results if "adaptation" not in results else results[results["adaptation"] == "none"]
    lines = ["## Scores at the parent level", "",
             f"Classes rolled up to their first level ({', '.join(legend.parents(classes))}); mean over seeds.", "",
             "| source | target | cell | OA | macro-F1 |", "|---|---|---|---|---|"]
    for key, group in rows[rows["seed"] >= 0].groupby(KEYS, sort=False):
        scores = [score_at_depth(json.loads(c), classes) for c in group["confusion"] if np.sum(json.loads(c))]
        if scores:
            r = pd.Series(dict(zip(KEYS, key, strict=True)))
            lines.append(f"| {r['source']} | {r['target']} | {_cell_name(r)} | {np.mean([s.oa for s in scores]):.3f} "
                         f"| {np.mean([s.macro_f1 for s in scores]):.3f} |")
    return [*lines, ""]


def build(run_dir: str | os.PathLike) -> Path:
    """(Re)build ``report.md`` and ``figures/`` of a run folder from its results.

    Raises:
        CropGlobeError: If the folder has no ``results.parquet``.
    """
    run_dir = Path(run_dir)
    path = run_dir / "results.parquet"
    if not path.exists():
        raise CropGlobeError(f"{run_dir}: no results.parquet (is it a finished `cropglobe transfer` run?)")
    results = read_results(path)
    config = read_config(RunFolder(run_dir).config_path)
    simulated = bool(results["simulated"].any())
    note = " — SIMULATED DATA" if simulated else ""
    agg = aggregate(results)
    figs = run_dir / "figures"
    figs.mkdir(exist_ok=True)
    by = keys(results)
    marked = degenerate.flagged(results, by)
    classes = classes_of(results, config)
    figures.transfer_matrix(agg, marked, by, figs / "transfer_matrix.png", note, SCENARIOS)
    figures.features_by_scenario(agg, marked, by, figs / "features_by_scenario.png", note, SCENARIOS)
    best, per_cell = figures.confusions(results, agg, figs, note, classes)
    lines = [f"# Transfer report: {config.get('name', run_dir.name)}", ""]
    if simulated:
        lines += [f"> **{SIM_NOTE}**", ""]
    seeds = sorted(int(s) for s in results["seed"].unique() if s >= 0)
    ensembles = bool((results["seed"] < 0).any())
    lines += [f"Data: {results['data'].iloc[0]}", "",
              f"Classes ({len(classes)}" + (", the paper's" if legend.is_default(classes) else ", the study's own")
              + f"): {', '.join(classes)}", "",
              f"Seeds: {seeds}" + (" (and their ensembles)" if ensembles else "") + "; cells: "
              f"{results[['feature', 'model', 'augmentation']].drop_duplicates().shape[0]}; "
              f"rows in results.parquet: {len(results)}. Macro-F1 is over the classes present in each target "
              "(after its remap)." + (" One seed: no spread is shown." if len(seeds) == 1 else ""), ""]
    if "adaptation" in results and (results["adaptation"] != "none").any():
        lines += ["Rows with +adapt: use the target's unlabelled inputs (no target labels; methods fixed in "
                  "the config): adabn re-estimates BatchNorm statistics on the target"
                  + ("; ...ensemble rows score the mean probability of all seeds, one model per table cell "
                     "(so no spread)." if ensembles else "."), ""]
    warned = degenerate.warnings(results)
    if warned:
        lines += [f"## {MARK} Degenerate cells", "",
                  f"These cells did not learn (best epoch 0, validation macro-F1 at chance or below, or one "
                  f"predicted class on a target); their figures are marked {MARK} below and are not evidence "
                  "about transfer. Train longer, raise the learning rate or check the source data.", "",
                  *(f"- {w}" for w in warned), ""]
    lines += _tables(agg, averaged_over(results), marked)
    lines += parent_table(results, classes)
    lines += training_table(results)
    lines += ["## Figures", "", "![transfer matrix](figures/transfer_matrix.png)", "",
              "![feature families](figures/features_by_scenario.png)", "",
              f"![confusion matrices of the best cell ({best})](figures/confusion.png)", "",
              "Confusion matrices of every cell (pixel counts summed over seeds): "
              + ", ".join(f"[{label}](figures/{name})" for label, name in per_cell), ""]
    if (run_dir / "signatures.npz").exists():
        figures.signatures(run_dir / "signatures.npz", figs / "signatures.png", note)
        lines += ["![signatures](figures/signatures.png)", ""]
    return write_text(run_dir / "report.md", "\n".join(lines))


def training_table(results: pd.DataFrame) -> list[str]:
    """The "Training" section: best epoch, validation macro-F1 and time of each trained cell (markdown lines)."""
    if "train_seconds" not in results:
        return []
    rows = results[results["seed"] >= 0]
    if "adaptation" in rows:
        rows = rows[rows["adaptation"] == "none"]
    cols = ["source", "feature", "model", "augmentation", "seed", *(["fold"] if "fold" in rows else [])]
    rows = rows.drop_duplicates(cols)
    if rows.empty:
        return []
    lines = ["## Training", "", "Best epoch (0 = the first; the weights of that epoch are kept), best validation "
             "macro-F1 and training time of each trained cell (time includes its features' layout, not "
             "the targets' scoring).", "",
             "| source | cell | seed | best epoch | val macro-F1 | train time (s) |", "|---|---|---|---|---|---|"]
    for _, r in rows.iterrows():
        best = degenerate.number(r, "best_epoch")
        epochs = degenerate.number(r, "epochs")
        f1 = degenerate.number(r, "best_val_macro_f1")
        seconds = degenerate.number(r, "train_seconds")
        fold = r.get("fold") if isinstance(r.get("fold"), str) and r.get("fold") else ""
        mark = f" {MARK}" if degenerate.training_reasons(r) else ""
        best_text = "–" if best is None else str(int(best)) + ("" if epochs is None else f" of {int(epochs)}")
        cells = [str(r["source"]), _cell_name(r.drop(labels="adaptation", errors="ignore")),
                 f"{int(r['seed'])}" + (f" {fold}" if fold else ""), best_text + mark,
                 "–" if f1 is None else f"{f1:.3f}", "–" if seconds is None else f"{seconds:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


#: Columns ``build`` reads from ``results.parquet``.
RESULT_COLUMNS = (*KEYS, "seed", "oa", "macro_f1", "weighted_f1", "kappa", "n", "confusion", "data", "simulated")


def read_results(path: Path) -> pd.DataFrame:
    """Read a run's ``results.parquet``, with one clear error when it is corrupt or not a results table.

    Raises:
        CropGlobeError: Naming the file, the problem and how to get a good one back.
    """
    remedy = f"re-run `cropglobe transfer --resume {path.parent}` after moving it aside, or restore it"
    try:
        results = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several types for a damaged file
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise CropGlobeError(f"{path}: cannot be read as a Parquet results table ({first}); {remedy}") from None
    missing = [c for c in RESULT_COLUMNS if c not in results.columns]
    if missing:
        raise CropGlobeError(f"{path}: not a cropglobe results table (missing columns {', '.join(missing)}); {remedy}")
    if results.empty:
        raise CropGlobeError(f"{path}: the results table is empty")
    return results


def read_config(path: Path) -> dict:
    """Read a run's ``config.yaml`` (``{}`` when absent), with one clear error when it is corrupt.

    Raises:
        CropGlobeError: For unreadable YAML or a top level that is not a mapping.
    """
    if not path.exists():
        return {}
    try:
        config = yamlfile.load(path)
    except CropGlobeError as err:
        raise CropGlobeError(
            f"{err}; expected the resolved spec written by `cropglobe transfer`: restore it or delete it to "
            "rebuild the report without a name"
        ) from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise CropGlobeError(f"{path}: expected a mapping (the resolved experiment spec), got {type(config).__name__}")
    return config


def summary_rows(summary: pd.DataFrame, cells: list[str]) -> list[tuple[str, str, list[str]]]:
    """``(source → target, scenario, one "macro-F1 (OA)" text per cell)`` of a :func:`summary_table`, in
    source, scenario, target order; a cell without the pair gives ``–``, one that did not learn is marked."""
    order = {s: i for i, s in enumerate(SCENARIOS)}
    pairs = summary[["source", "target", "scenario"]].drop_duplicates()
    pairs = pairs.assign(o=pairs["scenario"].map(order)).sort_values(["source", "o", "target"])
    out = []
    for _, p in pairs.iterrows():
        rows = summary[(summary["source"] == p["source"]) & (summary["target"] == p["target"])].set_index("cell")
        values = [f"{rows.loc[c, 'macro_f1_mean']:.3f} ({rows.loc[c, 'oa_mean']:.3f})"
                  + (f" {MARK}" if rows.loc[c, "degenerate"] else "") if c in rows.index else "–"
                  for c in cells]
        out.append((f"{p['source']} → {p['target']}", str(p["scenario"]), values))
    return out


def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    """Compact table for the terminal: one row per source x target x cell, mean over seeds."""
    agg = aggregate(results)
    marked = degenerate.flagged(results, keys(results))
    agg["degenerate"] = [tuple(r[k] for k in keys(results)) in marked for _, r in agg.iterrows()]
    agg["cell"] = agg.apply(_cell_name, axis=1)
    return agg[["source", "target", "scenario", "cell", "oa_mean", "macro_f1_mean", "kappa_mean", "seeds", "n",
                "degenerate"]]
