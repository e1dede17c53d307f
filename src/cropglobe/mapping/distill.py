"""A fast mapping model distilled from a CropNet cell: a small LightGBM on median1d features.

Knowledge distillation (Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network",
arXiv:1503.02531): a small student is trained on the teacher's predictions over the teacher's own
training data, so it needs no labels. Here the teacher is a trained CropNet cell (Tong & Wang,
arXiv:2509.03497; ``median2d`` inputs) and the student a LightGBM (Ke et al., NeurIPS 2017) with
few, shallow trees on the same composites flattened band-major (``median1d``). LightGBM has no
soft-label multiclass objective, so the student learns the teacher's arg-max classes, each sample
weighted by the teacher's confidence. It maps wall to wall several times faster than the CNN; its
accuracy is reported next to the teacher's by ``benchmarks/bench_map.py``.

The result is a cell folder (``model`` + ``recipe.json``) that :func:`cropglobe.mapping.make_map`
reads like any transfer cell, with ``"distilled_from"`` naming the teacher in its recipe.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from cropglobe import legend, models
from cropglobe.cells.cell import Cell, load_recipe
from cropglobe.errors import CropGlobeError
from cropglobe.features import families as features
from cropglobe.recipe import RECIPE_VERSION, RecipeSpec
from cropglobe.temporal import composite, season


def distill(teacher: str | os.PathLike, source: xr.Dataset, out: str | os.PathLike, n_estimators: int = 40,
            num_leaves: int = 15) -> Path:
    """Train a LightGBM student on a CropNet cell's predictions over ``source``; write it as a cell.

    Args:
        teacher: The teacher's cell folder or recipe (a torch model on ``median2d``).
        source: Observation-level SampleSet of the teacher's source region (labels are not read).
        out: The student's cell folder.
        n_estimators: Boosting rounds of the student.
        num_leaves: Leaves per tree of the student.

    Returns:
        The student's cell folder.

    Raises:
        CropGlobeError: When the teacher is not a torch model on ``median2d`` features.
    """
    t = load_recipe(teacher)
    if t.family != "torch" or features.get_feature(t.feature).layout != "window" or t.flatten:
        raise CropGlobeError(f"{t.path}: distillation needs a torch model on median2d features; got {t.model} "
                             f"on {t.feature}")
    full = composite.composite(source.sel(band=t.bands), t.composite)
    win = season.season(full)
    cell = Cell(t)
    soft = cell.predict_proba(cell.features(win))
    x = features.median1d(win)
    if np.unique(soft.argmax(1)).size < 2:
        raise CropGlobeError(f"{t.path}: the teacher predicts a single class on all {len(x)} source samples; "
                             "expected a trained teacher (distillation needs at least two classes)")
    student = models.get_model("lightgbm", x.shape[1], 1, len(t.classes), n_estimators=n_estimators,
                               num_leaves=num_leaves)
    student.fit(x, soft.argmax(1), sample_weight=soft.max(1))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    student.save(out / "model", None, list(t.classes))  # atomic
    recipe = RecipeSpec.model_validate({
        **t.model_dump(), "format_version": RECIPE_VERSION, "model_file": "model", "model": "lightgbm",
        "model_options": dict(student.spec.options),
        "feature": "median1d", "feature_options": {}, "flatten": False, "distilled_from": str(t.path.parent),
        "distillation": f"LightGBM {n_estimators} trees x {num_leaves} leaves on the teacher's arg-max "
                        f"classes (confidence-weighted) over {full.sizes['sample']} source samples"})
    recipe.write(out / "recipe.json")
    return out


def accuracy(cell: str | os.PathLike, target: xr.Dataset) -> dict[str, float]:
    """Overall accuracy and macro-F1 of a cell on a labelled observation-level SampleSet (its own recipe)."""
    from sklearn.metrics import accuracy_score, f1_score

    r = load_recipe(cell)
    full = composite.composite(target.sel(band=r.bands), r.composite)
    the_cell = Cell(r)
    pred = the_cell.predict_proba(the_cell.features(season.season(full))).argmax(1)
    truth = np.asarray([r.classes.index(legend.normalize(str(v), r.classes)) for v in full["label"].values])
    return {"oa": float(accuracy_score(truth, pred)), "macro_f1": float(f1_score(truth, pred, average="macro"))}
