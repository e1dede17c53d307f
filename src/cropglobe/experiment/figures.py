"""The figures of a transfer report (``RUN_DIR/figures``), drawn with :class:`matplotlib.figure.Figure`.

- ``transfer_matrix.png``: one panel per cell, sources as rows and targets as columns (macro-F1,
  mean over seeds; ⚠ marks a degenerate cell).
- ``features_by_scenario.png``: one bar per cell (feature family / model) and scenario, the mean
  over the scenario's pairs with its spread; cells that did not learn are left out, not averaged in.
- ``confusion_<cell>.png`` for every cell (and ``confusion.png``, the best cell's): one panel per
  source -> target pair, counts summed over seeds, colour = fraction of the reference class.
- ``signatures.png``: mean bands x time matrices per class and country, with band names and time ticks.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # the object-oriented API: importing leaves pyplot's backend alone

from cropglobe import taxonomy
from cropglobe.errors import CropGlobeError
from cropglobe.experiment.degenerate import MARK

CELL = ["feature", "model", "augmentation"]


def cell_label(feature: str, model: str, augmentation: str) -> str:
    """``median2d / cropnet +aug:paper`` (as the report's tables name a cell)."""
    return f"{feature} / {model}" + ("" if augmentation == "none" else f" +aug:{augmentation}")


def cell_file(feature: str, model: str, augmentation: str) -> str:
    """File name of a cell's confusion figure: ``confusion_median2d__cropnet__paper.png``."""
    return "confusion_" + re.sub(r"[^A-Za-z0-9_.-]", "-", f"{feature}__{model}__{augmentation}") + ".png"


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows without adaptation (the cells as trained)."""
    return frame if "adaptation" not in frame else frame[frame["adaptation"] == "none"]


def _scenario_order(scenarios: list[str]) -> dict[str, int]:
    return {s: i for i, s in enumerate(scenarios)}


def transfer_matrix(agg: pd.DataFrame, flagged: set[tuple], by: list[str], out: Path, note: str,
                    scenarios: list[str]) -> None:
    """Macro-F1 per cell as a source x target matrix (one panel per cell; in-region pairs first)."""
    agg = _plain(agg)
    cells = list(dict.fromkeys(zip(agg["feature"], agg["model"], agg["augmentation"], strict=True)))
    sources = list(dict.fromkeys(agg["source"]))
    order = _scenario_order(scenarios)
    first = agg.assign(o=agg["scenario"].map(order)).groupby("target")["o"].min()
    targets = sorted(dict.fromkeys(agg["target"]), key=lambda t: (t not in sources, sources.index(t) if t in sources
                                                                 else 0, first.get(t, 0), t))
    ncols = max(1, min(3, len(cells), 12 // len(targets)))  # wide matrices stack
    nrows = -(-len(cells) // ncols)
    width = 0.62 * len(targets) + 1.6
    fig = Figure(figsize=(width * ncols + 1.2, (0.45 * len(sources) + 1.3) * nrows + 0.8), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    im = None
    for k, ax in enumerate(axes.ravel()):
        if k >= len(cells):
            ax.set_visible(False)
            continue
        feature, model, aug = cells[k]
        rows = agg[(agg["feature"] == feature) & (agg["model"] == model) & (agg["augmentation"] == aug)]
        mat = np.full((len(sources), len(targets)), np.nan)
        marks = np.zeros_like(mat, dtype=bool)
        for _, r in rows.iterrows():
            i, j = sources.index(r["source"]), targets.index(r["target"])
            mat[i, j] = r["macro_f1_mean"]
            marks[i, j] = tuple(r[c] for c in by) in flagged
        im = ax.imshow(mat, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for (i, j), v in np.ndenumerate(mat):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}" + (MARK if marks[i, j] else ""), ha="center", va="center",
                        color="w" if v < 0.6 else "k", fontsize=7)
        ax.set_xticks(range(len(targets)), targets, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(sources)), sources, fontsize=8)
        ax.set_title(cell_label(feature, model, aug), fontsize=9)
        ax.set_xlabel("target", fontsize=8)
        ax.set_ylabel("source", fontsize=8)
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="macro-F1")
    fig.suptitle(f"Transfer matrix: macro-F1, source × target, mean over seeds ({MARK} did not learn){note}",
                 fontsize=10)
    fig.savefig(out, dpi=110)


def features_by_scenario(agg: pd.DataFrame, flagged: set[tuple], by: list[str], out: Path, note: str,
                         scenarios: list[str]) -> None:
    """One bar per cell and scenario: mean macro-F1 over the scenario's pairs, degenerate cells left out."""
    agg = _plain(agg)
    keep = np.array([tuple(r[c] for c in by) not in flagged for _, r in agg.iterrows()], dtype=bool)
    left_out = agg[~keep]
    agg = agg[keep].assign(cell=[cell_label(*c) for c in zip(*(agg[keep][k] for k in CELL), strict=True)])
    stats = agg.groupby(["scenario", "cell"], sort=False)["macro_f1_mean"].agg(["mean", "std", "count"]).reset_index()
    present = [s for s in scenarios if s in set(stats["scenario"])]
    cells = sorted(dict.fromkeys(stats["cell"]))
    fig = Figure(figsize=(max(7.0, 1.1 * len(present) * max(1, len(cells)) ** 0.5 + 4), 4.2))
    ax = fig.subplots()
    width = 0.8 / max(1, len(cells))
    import matplotlib

    tab = matplotlib.colormaps["tab10" if len(cells) <= 10 else "tab20"]
    for k, cell in enumerate(cells):
        rows = stats[stats["cell"] == cell].set_index("scenario").reindex(present)
        xs = np.arange(len(present)) - 0.4 + width * (k + 0.5)
        ax.bar(xs, rows["mean"], width, yerr=rows["std"].fillna(0), capsize=2, color=tab(k % tab.N), label=cell)
    ax.set_xticks(range(len(present)), present)
    ax.set_xlabel("scenario (bar: mean over the scenario's source → target pairs; line: their spread)")
    ax.set_ylabel("macro-F1 (mean over seeds)")
    ax.set_ylim(0, 1)
    ax.legend(title="feature family / model", bbox_to_anchor=(1.01, 1), loc="upper left", borderaxespad=0,
              fontsize=8)
    dropped = sorted({cell_label(*(r[k] for k in CELL)) for _, r in left_out.iterrows()})
    ax.set_title(f"Feature families by scenario, per model{note}"
                 + (f"\nleft out, did not learn ({MARK}): {', '.join(dropped)}" if dropped else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110, bbox_inches="tight")


def confusion(results: pd.DataFrame, cell: tuple[str, str, str], out: Path, note: str,
              classes: list[str]) -> str:
    """Confusion matrices of one cell, one panel per source -> target pair: counts summed over seeds.

    Args:
        results: The run's results (one row per cell, seed and pair, with its ``confusion``).
        cell: ``(feature, model, augmentation)``.
        out: The PNG file.
        note: Appended to the title (e.g. the SIMULATED DATA mark).
        classes: The run's legend (:func:`cropglobe.experiment.report.classes_of`): the matrices' rows
            and columns.

    Returns:
        The cell's label.

    Raises:
        CropGlobeError: When a matrix is not over the legend (its size differs).
    """
    feature, model, aug = cell
    plain = _plain(results)
    rows = plain[(plain["feature"] == feature) & (plain["model"] == model) & (plain["augmentation"] == aug)]
    rows = rows[rows["seed"] >= 0]
    pairs = list(dict.fromkeys(zip(rows["source"], rows["target"], strict=True)))
    ncols = min(4, len(pairs))
    nrows = -(-len(pairs) // ncols)
    fig = Figure(figsize=(3.3 * ncols + 1.4, 3.3 * nrows + 0.9), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    im = None
    seeds = sorted(int(s) for s in rows["seed"].unique())
    for k, ax in enumerate(axes.ravel()):
        if k >= len(pairs):
            ax.set_visible(False)
            continue
        source, target = pairs[k]
        sel = rows[(rows["source"] == source) & (rows["target"] == target)]
        cm = np.sum([np.array(json.loads(c)) for c in sel["confusion"]], axis=0)
        if cm.shape != (len(classes), len(classes)):
            raise CropGlobeError(f"results.parquet: the confusion matrices of {cell_label(*cell)} on {source} -> "
                                 f"{target} are {cm.shape[0]} x {cm.shape[1]}; the run's legend has {len(classes)} "
                                 f"classes ({', '.join(classes)})")
        names = list(classes)
        norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        im = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        for (i, j), count in np.ndenumerate(cm):
            if count:
                ax.text(j, i, str(int(count)), ha="center", va="center", fontsize=6,
                        color="w" if norm[i, j] > 0.6 else "k")
        ax.set_title(f"{source} → {target}" if len(set(rows["source"])) > 1 else target, fontsize=9)
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", rotation_mode="anchor", fontsize=7)
        ax.set_yticks(range(len(names)), names if k % ncols == 0 else [], fontsize=7)
        if k // ncols == nrows - 1 or k + ncols >= len(pairs):
            ax.set_xlabel("predicted", fontsize=8)
        if k % ncols == 0:
            ax.set_ylabel("reference", fontsize=8)
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="fraction of the reference class")
    label = cell_label(feature, model, aug)
    fig.suptitle(f"Confusion, {label}: pixel counts summed over seeds {seeds}, colour row-normalised{note}",
                 fontsize=10)
    fig.savefig(out, dpi=110)
    return label


def confusions(results: pd.DataFrame, agg: pd.DataFrame, figs: Path, note: str,
               classes: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """``confusion_<cell>.png`` for every cell and ``confusion.png`` for the best one (mean macro-F1).

    ``classes`` is the run's legend (see :func:`confusion`).

    Returns:
        The best cell's label, and (label, file name) of every cell's figure.
    """
    agg = _plain(agg)
    overall = agg.groupby(CELL, sort=False)["macro_f1_mean"].mean()
    best = overall.idxmax()
    label = confusion(results, best, figs / "confusion.png", note, classes)
    written = []
    for cell in overall.index:
        name = cell_file(*cell)
        written.append((confusion(results, cell, figs / name, note, classes), name))
    return label, written


def signatures(npz: Path, out: Path, note: str) -> None:
    """Mean bands x time matrices per class (rows) and country (columns), with band names and time ticks."""
    try:
        data = dict(np.load(npz, allow_pickle=False))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise CropGlobeError(f"{npz}: cannot be read ({type(err).__name__}: {err}); delete it to build the report "
                             "without the signature figure") from None
    keys = [str(k) for k in data["keys"]]
    countries = sorted({k.split("/")[0] for k in keys})
    known = {k.split("/", 1)[1] for k in keys}
    classes = [c for c in taxonomy.CLASSES if c in known] + sorted(known - set(taxonomy.CLASSES))
    fig = Figure(figsize=(max(6.5, 2.0 * len(countries) + 2.6), 1.45 * len(classes) + 2.0), layout="constrained")
    axes = fig.subplots(len(classes), len(countries), squeeze=False)
    lookup = dict(zip(keys, data["mats"], strict=True))
    bands = [str(b) for b in data["bands"]] if "bands" in data else []
    doy = np.asarray(data["doy"]) if "doy" in data else np.array([])
    n_times = int(np.asarray(data["mats"]).shape[-1]) if len(keys) else 0
    ticks = np.unique(np.linspace(0, max(0, n_times - 1), num=min(4, max(1, n_times))).round().astype(int))
    im = None
    for i, cls in enumerate(classes):
        for j, iso in enumerate(countries):
            ax = axes[i][j]
            mat = lookup.get(f"{iso}/{cls}")
            if mat is not None:
                im = ax.imshow(mat, vmin=0, vmax=0.5, cmap="magma", aspect="auto")
            else:  # the same axes as an image (first band on top), marked empty
                ax.set_xlim(-0.5, n_times - 0.5)
                ax.set_ylim(len(bands) - 0.5 if bands else 0.5, -0.5)
                ax.text(0.5, 0.5, "no pixels", transform=ax.transAxes, ha="center", va="center", fontsize=7,
                        color="0.5")
            if j == 0 and bands:
                ax.set_yticks(range(len(bands)), bands, fontsize=5)
            else:
                ax.set_yticks([])
            if i == len(classes) - 1 and doy.size == n_times and n_times:
                ax.set_xticks(ticks, [str(int(doy[t])) for t in ticks], fontsize=6)
            else:
                ax.set_xticks([])
            if i == 0:
                ax.set_title(iso, fontsize=9)
            if j == 0:
                ax.set_ylabel(cls, fontsize=8)
    span = f"day {int(doy[0])}–{int(doy[-1])} of the aligned year" if doy.size else "season window"
    fig.supxlabel(f"time →: season-window bins, ticks = first day of the bin in the aligned year\n({span})",
                  fontsize=8)
    order = f"{bands[0]} top … {bands[-1]} bottom" if bands else "top to bottom"
    fig.supylabel(f"class\n(bands: {order})", fontsize=8)
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.6, label="mean reflectance")
    fig.suptitle(f"Mean bands × time signatures (season window)\nper class and country{note}", fontsize=9)
    fig.savefig(out, dpi=100)
