"""Scoring a study cell on its targets: one loop and one ensemble for the runner and ``cropglobe study adapt``.

:func:`score_targets` is the one scoring loop: for each target of a :class:`~cropglobe.experiment.job.CellJob`
and each adaptation method, the cell's probabilities (:func:`method_probas`, inputs built by the
:class:`~cropglobe.cells.cell.Cell`) and the result row (:func:`row`, scores after the target's remap,
:func:`evaluate`). :func:`ensemble_rows` scores the mean of the seeds' probabilities (``seed`` = -1).
The runner (:mod:`cropglobe.experiment.runner`) and :mod:`cropglobe.experiment.posthoc` both call them;
adaptation reads the targets' inputs, never their labels (labels are read by :func:`evaluate` only).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from cropglobe import geography
from cropglobe.cells.cell import Cell
from cropglobe.experiment import adapt, fitting
from cropglobe.experiment.data import Prepared, remap_key
from cropglobe.experiment.job import CellJob
from cropglobe.models.ensemble import Calibration
from cropglobe.training import metrics
from cropglobe.training.metrics import remap_target, score_names


def evaluate(prepared: Prepared, target: str, idx: np.ndarray, proba: np.ndarray,
             source_classes: list[str] | None = None) -> metrics.Scores:
    """Score predictions on a target after its remap (absent classes -> other, truth and prediction)."""
    truth = prepared.full["label"].values[idx].astype(str)
    pred = np.asarray(prepared.classes)[proba.argmax(1)]
    key = remap_key(target, prepared.remaps, prepared.units)
    return score_names(*remap_target(key, truth, pred, prepared.remaps, source_classes, prepared.classes),
                       prepared.classes)


def scenario(prepared: Prepared, group: list[str], target: str) -> str:
    """The transfer scenario of a source group and a target (in-region, cross-year, ..., cross-hemisphere)."""
    lat = prepared.full["lat"].values
    if target == "+".join(group):
        return geography.Scenario.IN_REGION.value
    t_iso, t_lat = prepared.country(target), lat[prepared.indices(target)]
    kinds = [_within_country(prepared, [s], target) if prepared.country(s) == t_iso  # regions or years of one country
             else geography.scenario(prepared.country(s), t_iso, lat[prepared.indices(s)], t_lat) for s in group]
    order = list(geography.Scenario)
    return min(kinds, key=order.index).value


def _within_country(prepared: Prepared, group: list[str], target: str) -> geography.Scenario:
    """cross-year when source and target share their regions and differ in year only, else cross-region."""
    u = prepared.units
    src, tgt = prepared.group_indices(group), prepared.indices(target)
    same_place = set(u.region[src]) == set(u.region[tgt]) and set(u.country[src]) == set(u.country[tgt])
    if same_place and not set(u.year[src]) & set(u.year[tgt]):
        return geography.Scenario.CROSS_YEAR
    return geography.Scenario.CROSS_REGION


def row(job: CellJob, target: str, scores: metrics.Scores, adaptation: str) -> dict:
    """One result row of the job's cell on a target (training details are added by the caller)."""
    from cropglobe import augment

    prepared, cell = job.prepared, job.cell
    return {
        "source": job.source, "target": target, "scenario": scenario(prepared, job.group, target),
        "feature": cell.feature, "model": cell.model, "augmentation": augment.label(cell.augmentation),
        "augmentation_config": json.dumps(augment.resolve(cell.augmentation).model_dump(mode="json")),
        "adaptation": adaptation, "copies": cell.copies, "seed": job.seed, "oa": scores.oa,
        "macro_f1": scores.macro_f1, "weighted_f1": scores.weighted_f1, "kappa": scores.kappa, "n": scores.n,
        "classes": ",".join(scores.classes_present), "per_class": json.dumps(scores.per_class),
        "confusion": json.dumps(scores.confusion), "data": prepared.description, "simulated": prepared.simulated,
    }


def method_probas(job: CellJob, cell: Cell, idx: np.ndarray, methods: Sequence[str],
                  calibration: Calibration | None, work_dir: Path) -> Iterator[tuple[str, np.ndarray, dict]]:
    """Each adaptation method's class probabilities on the samples ``idx`` of one target: ``(method, proba, record)``.

    The cell builds the inputs (:meth:`~cropglobe.cells.cell.Cell.training_inputs` of the rows the
    model trains on); adaptation reads them, never the target's labels. Methods that do not apply
    to the model (AdaBN without BatchNorm, phenoshift or align on non-window features) are skipped;
    ``selftrain`` fine-tunes a copy of the model (scratch checkpoints in ``work_dir``).
    """
    rows = job.training_data()[idx]
    x = cell.training_inputs(rows)
    for method in methods:
        if method == "align":
            if cell.feature.windowed:
                yield method, *cell.aligned_proba(job.cache.full_series()[idx], job.max_shift_days)
            continue
        if method == "selftrain":
            _, proba, record = fitting.selftrain_cell(job, cell, rows, work_dir)
            yield method, proba, record
            continue
        full = job.cache.full_series()
        how = adapt.method_inputs(method, cell, x, full[job.parts["train"]], full[idx], job.bands,
                                  job.max_shift_days)
        if how is None:
            continue
        batch = job.spec.adaptation.batch_size if job.spec.adaptation is not None else 512
        proba, record = adapt.predict_info(cell, how[0], how[1], batch, calibration)
        if proba is not None:
            yield method, proba, {**how[2], **record}


def score_targets(job: CellJob, cell: Cell, methods: Sequence[str], calibration: Calibration | None,
                  work_dir: Path) -> Iterator[tuple[str, str, np.ndarray, dict, dict]]:
    """The one scoring loop: every target and method of a cell, ``(target, method, proba, row, record)``.

    ``row`` is the scored result row (:func:`row`), ``record`` what the method reports (added by the
    caller, after its own columns). ``selftrain`` works in ``work_dir / selftrain-<target>``.
    """
    classes = job.source_classes()
    for target, idx in job.targets():
        for method, proba, record in method_probas(job, cell, idx, methods, calibration,
                                                   work_dir / f"selftrain-{target}"):
            yield target, method, proba, row(job, target, evaluate(job.prepared, target, idx, proba, classes),
                                             method), record


def ensemble_rows(job: CellJob, members: Sequence[dict[str, np.ndarray]],
                  calibrations: Sequence[Any] | None) -> list[dict]:
    """Rows scoring the mean of the seeds' probabilities of one cell (``seed`` = -1), per target and method.

    ``members`` holds one mapping per seed, ``"<target>|<method>"`` -> probabilities (as each cell's
    ``target_proba.npz``); ``calibrations`` one source-validation calibration per seed (or None).
    Only targets whose samples do not depend on the seed (units of the study that do not overlap the
    source; the in-region hold-out is drawn per seed) that every seed scored.
    """
    if not members:
        return []
    prepared, out = job.prepared, []
    ens = replace(job, seed=-1)
    for key in members[0]:
        target, method = key.split("|")
        if target not in prepared.targets or prepared.overlaps(target, job.group) \
                or not all(key in m for m in members):
            continue
        idx = prepared.indices(target)
        proba = adapt.ensemble_method_proba(
            {k.split("|")[1]: [m[k] for m in members] for k in members[0]
             if k.split("|")[0] == target and all(k in m for m in members)}, method, calibrations)
        r = row(ens, target, evaluate(prepared, target, idx, proba, job.source_classes()),
                adapt.ensemble_label(method))
        r.update({"fold": job.fold, "ensemble_seeds": ",".join(str(s) for s in job.spec.seeds)})
        out.append(r)
    return out
