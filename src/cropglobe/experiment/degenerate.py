"""Degenerate cells: results that look like numbers but come from a model that did not learn (issue 27).

A row of ``results.parquet`` is *degenerate* when

- its best epoch is 0 although it trained for more than one epoch (validation never improved),
- its best validation macro-F1 is at chance or below (``1 / k`` for ``k`` classes in the validation
  set: what a classifier guessing uniformly scores), or
- it predicted one class only on a target whose reference has several (a collapsed model: with 7
  balanced classes this scores macro-F1 ``2 / (7 * 8) = 0.036``).

The first two are properties of the trained cell (torch models record them, see
``training.lightning.fit_torch``), the third of one target. Reports and the console table mark
such cells and say why (:func:`warnings`), so a collapsed model is not read like any other figure.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np
import pandas as pd

#: The mark put next to a degenerate table value.
MARK = "⚠"


def number(row: pd.Series, name: str) -> float | None:
    value = row.get(name)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def training_reasons(row: pd.Series) -> list[str]:
    """Why the trained cell of ``row`` is degenerate (best epoch 0, validation macro-F1 at chance); [] if not."""
    reasons = []
    best, epochs = number(row, "best_epoch"), number(row, "epochs")
    if best is not None and best == 0 and (epochs is None or epochs > 1):
        reasons.append("best epoch 0" + (f" of {int(epochs)}" if epochs else ""))
    f1, k = number(row, "best_val_macro_f1"), number(row, "val_classes")
    if f1 is not None and k:
        chance = 1.0 / k
        if f1 <= chance + 1e-9:
            reasons.append(f"validation macro-F1 {f1:.3f} at or below chance ({chance:.3f} for {int(k)} classes)")
    return reasons


def predicted_classes(row: pd.Series) -> tuple[int, int]:
    """(classes predicted, classes in the reference) of a row's confusion matrix (rows: reference)."""
    cm = np.asarray(json.loads(row["confusion"]), dtype=float)
    if cm.ndim != 2 or cm.size == 0:
        return 0, 0
    return int((cm.sum(axis=0) > 0).sum()), int((cm.sum(axis=1) > 0).sum())


def target_reasons(row: pd.Series) -> list[str]:
    """Why ``row``'s predictions on its target are degenerate (one predicted class only); [] if not."""
    predicted, reference = predicted_classes(row)
    if predicted == 1 and reference > 1:
        return [f"one predicted class on {row['target']} ({reference} in the reference)"]
    return []


def reasons(row: pd.Series) -> list[str]:
    """Every reason ``row`` is degenerate ([] for a healthy row)."""
    return training_reasons(row) + target_reasons(row)


def flagged(results: pd.DataFrame, by: list[str]) -> set[tuple]:
    """The groups (values of ``by``, as in the report's aggregate) with at least one degenerate row."""
    out = set()
    for _, row in results.iterrows():
        if reasons(row):
            out.add(tuple(row[k] for k in by))
    return out


def _trained_cell(row: pd.Series) -> str:
    aug = "" if row.get("augmentation", "none") == "none" else f" +aug:{row['augmentation']}"
    fold = row.get("fold") or ""
    fold = fold if isinstance(fold, str) else ""
    seed = "seed ensemble" if int(row["seed"]) < 0 else f"seed {int(row['seed'])}"
    return f"{row['source']}, {row['feature']} / {row['model']}{aug}, {seed}" + (f", fold {fold}" if fold else "")


def _target(row: pd.Series) -> str:
    adapt = row.get("adaptation", "none")
    adapt = "none" if not isinstance(adapt, str) else adapt.removesuffix("+ensemble").replace("ensemble", "none")
    return str(row["target"]) + ("" if adapt == "none" else f" (+adapt:{adapt})")


def warnings(results: pd.DataFrame) -> list[str]:
    """One line per degenerate trained cell: where, and why (training reasons first, then the targets)."""
    why: dict[str, list[str]] = defaultdict(list)
    collapsed: dict[str, list[str]] = defaultdict(list)
    for _, row in results.iterrows():
        name = _trained_cell(row)
        for reason in training_reasons(row):
            if reason not in why[name]:
                why[name].append(reason)
        if target_reasons(row):
            collapsed[name].append(_target(row))
    lines = []
    for name in dict.fromkeys([*why, *collapsed]):
        parts = list(why.get(name, []))
        if collapsed.get(name):
            targets = list(dict.fromkeys(collapsed[name]))
            parts.append(f"one predicted class on {', '.join(targets)}")
        if parts:
            lines.append(f"{name}: {'; '.join(parts)}")
    return lines
