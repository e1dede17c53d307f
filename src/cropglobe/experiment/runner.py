"""Run a transfer matrix: train each cell on its source, evaluate on every target, resume after a crash.

Layout of a run folder (owned by :class:`cropglobe.cells.run_folder.RunFolder`)::

    RUN_DIR/config.yaml                 the resolved spec
    RUN_DIR/splits/<source>_seed<k>.json split manifest (sample ids of train / val / in-region test)
    RUN_DIR/cells/<cell>/result.json    rows of one finished cell (written last, atomically)
    RUN_DIR/cells/<cell>/checkpoints/   Lightning last/best checkpoints (torch models)
    RUN_DIR/cells/<cell>/model*         the trained model (safe formats, see cropglobe.models)
    RUN_DIR/cells/<cell>/calibration.json source-validation calibration for ``prior`` (if configured)
    RUN_DIR/signatures.npz              mean bands x time matrices per class and country
    RUN_DIR/results.parquet, report.md, figures/

A resumed run skips cells whose ``result.json`` exists and restarts an unfinished torch cell from
its ``last.ckpt``; seeding by (seed, epoch, batch) makes its results identical to an uninterrupted run.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cropglobe.atomic import atomic_path, write_text
from cropglobe.cells.run_folder import RunFolder
from cropglobe.errors import CropGlobeError
from cropglobe.experiment import adapt, fitting, scoring
from cropglobe.experiment.data import Prepared, prepare_study
from cropglobe.experiment.job import N_CLASSES as N_CLASSES  # re-exported
from cropglobe.experiment.job import CellJob
from cropglobe.experiment.job import FeatureCache as FeatureCache  # re-exported: the cache lives with the job
from cropglobe.models.ensemble import Calibration
from cropglobe.study.spec import ExperimentSpec
from cropglobe.training import splits
from cropglobe.verbosity import quiet_training

log = logging.getLogger(__name__)


#: Folder name of one cell (:meth:`.RunFolder.cell_key`).
cell_key = RunFolder.cell_key


def _splits(prepared: Prepared, group: list[str], spec: ExperimentSpec, seed: int,
            run_dir: Path) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Split the source into train / val / in-region test: a hold-out, k folds, or a given test set."""
    full = prepared.full
    idx = prepared.group_indices(group)
    v = spec.validation
    if "is_test" in full.coords:
        given = full["is_test"].values[idx]
        tests = [("", np.flatnonzero(given))]
        pool = np.flatnonzero(~given)
    else:
        labels, lon, lat = full["label"].values[idx], full["lon"].values[idx], full["lat"].values[idx]
        if spec.folds:
            folds = splits.kfold(labels, spec.folds, seed + 101, v.method, lon, lat, v.block_deg)
            tests = [(f"f{k}", test) for k, (_, test) in enumerate(folds)]
        elif spec.in_region_fraction > 0:
            tests = [
                ("", splits.holdout(labels, spec.in_region_fraction, seed + 101, v.method, lon, lat, v.block_deg)[1])
            ]
        else:
            tests = [("", np.array([], dtype=np.int64))]
        pool = None
    out = []
    for name, test in tests:
        rest = pool if pool is not None else np.setdiff1d(np.arange(idx.size), test)
        sub = idx[rest]
        train, val = splits.holdout(full["label"].values[sub], v.fraction, seed, v.method,
                                    full["lon"].values[sub], full["lat"].values[sub], v.block_deg)
        parts = {"train": sub[train], "val": sub[val]}
        if test.size:
            parts["test"] = idx[test]
        splits.write_manifest(RunFolder(run_dir).split_path(group, seed, name), full["sample_id"].values, parts,
                              {"method": v.method, "val_fraction": v.fraction, "seed": seed, "fold": name,
                               "in_region_fraction": spec.in_region_fraction, "block_deg": v.block_deg})
        out.append((name, parts))
    return out


def _run_cell(job: CellJob, cell_dir: Path, resume: bool, callbacks: list[Any], progress: bool) -> list[dict]:
    """Train one cell and score it on its targets (:func:`cropglobe.experiment.scoring.score_targets`)."""
    t0 = time.perf_counter()
    with quiet_training():  # no "GPU available" lines or deprecation warnings per cell
        cell, info = fitting.train_cell(job, cell_dir, resume, callbacks, progress)
    train_seconds = time.perf_counter() - t0
    methods = job.methods
    rows, probas = [], {}
    calibration = None
    if "prior" in methods:  # fitted on the source validation split only (never a target label)
        val = job.parts["val"]
        calibration = adapt.source_calibration(cell, cell.training_inputs(job.training_data()[val]), job.labels[val],
                                               len(job.classes))
        calibration.write(cell_dir)
    for target, method, proba, row, record in scoring.score_targets(job, cell, methods, calibration, cell_dir):
        probas[f"{target}|{method}"] = proba.astype(np.float32)
        row.update({"train_seconds": round(train_seconds, 2), **record,
                    **{k: v for k, v in info.items() if k in ("best_epoch", "best_val_macro_f1", "precision",
                                                                   "epochs", "val_classes")}})
        rows.append(row)
    if job.spec.adaptation is not None and job.spec.adaptation.ensemble:
        _save_probas(RunFolder.target_proba_path(cell_dir), probas)
    return rows


def _save_probas(path: Path, probas: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **probas)


def load_calibrations(cell_dirs: list[Path]) -> list[Any] | None:
    """The cells' source-validation calibrations (``calibration.json``), or None unless every cell has one."""
    cals = [Calibration.read(d) for d in cell_dirs]
    return None if any(c is None for c in cals) else cals


def _ensemble_rows(prepared: Prepared, spec: ExperimentSpec, cache: FeatureCache, run_dir: Path) -> list[dict]:
    """Rows scoring the mean of the seeds' target probabilities of each cell (``seed`` = -1).

    From each cell's ``target_proba.npz`` (:func:`cropglobe.experiment.scoring.ensemble_rows`), for
    cells whose every seed gave probabilities. A one-seed study has no ensembles (its "ensemble"
    would repeat the seed's rows).
    """
    if spec.adaptation is None or not spec.adaptation.ensemble or len(spec.seeds) < 2:
        return []
    rows = []
    run = RunFolder(run_dir)
    for group in prepared.sources:
        folds = [""] if not spec.folds else [f"f{k}" for k in range(spec.folds)]
        for fold in folds:
            for cell in spec.cell_list():
                files = [run.target_proba_path(run.cell_dir(group, cell, s, fold)) for s in spec.seeds]
                if not all(f.exists() for f in files):
                    continue
                job = CellJob(prepared, spec, cache, group, cell, -1, {}, fold)
                rows.extend(scoring.ensemble_rows(job, [dict(np.load(f)) for f in files],
                                                  load_calibrations([f.parent for f in files])))
    return rows


def run(spec: ExperimentSpec, run_dir: str | os.PathLike, resume: bool = False,
        callbacks: list[Any] | None = None, progress: bool = True,
        report_cell: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Run (or resume) a transfer study and write its results and report.

    Args:
        spec: The validated experiment spec.
        run_dir: Output folder.
        resume: Continue a previous run in ``run_dir`` (finished cells are skipped).
        callbacks: Extra Lightning callbacks for torch cells (progress hooks, fault injection in tests).
        progress: Show progress bars.
        report_cell: Called with one line per cell ("cell 3/12: <cell> ...") as the study proceeds.

    Returns:
        The results table (one row per source x target x feature x model x augmentation x seed).

    Raises:
        CropGlobeError: For any input problem, before training starts; or when ``run_dir`` holds a
            different study (on resume) or an earlier run (without resume).
    """
    run_dir = Path(run_dir)
    folder = RunFolder(run_dir)
    dumped = dump_spec(spec)
    resolved = yaml.safe_dump(dumped, sort_keys=False)
    config_path = folder.config_path
    if config_path.exists():
        if not resume:
            raise CropGlobeError(
                f"{run_dir}: already holds a run; pass resume=True (CLI: --resume {run_dir}) to continue it "
                "or pick a new folder"
            )
        if config_path.read_text(encoding="utf-8") != resolved:
            raise CropGlobeError(f"{run_dir}: its config.yaml differs from this spec; cannot resume a different study")
    elif resume:
        raise CropGlobeError(f"{run_dir}: nothing to resume (no config.yaml)")
    prepared = prepare_study(spec)
    write_text(config_path, resolved)
    _write_signatures(prepared, run_dir / "signatures.npz")
    cache = FeatureCache(prepared, spec.feature_options)
    rows: list[dict] = []
    cells = spec.cell_list()
    folds = 1 if "is_test" in prepared.full.coords or not spec.folds else spec.folds
    total, done_cells = len(spec.seeds) * len(prepared.sources) * folds * len(cells), 0
    for seed in spec.seeds:
        for group in prepared.sources:
            for fold, parts in _splits(prepared, group, spec, seed, run_dir):
                for cell in cells:
                    cell_dir = folder.cell_dir(group, cell, seed, fold)
                    done = folder.result_path(cell_dir)
                    done_cells += 1
                    if report_cell is not None:
                        report_cell(f"cell {done_cells}/{total}: {cell_dir.name}"
                                    + (" (finished earlier, kept)" if done.exists() else ""))
                    if done.exists():
                        log.info("skipping finished cell %s", cell_dir.name)
                        rows.extend(json.loads(done.read_text(encoding="utf-8")))
                        continue
                    job = CellJob(prepared, spec, cache, group, cell, seed, parts, fold)
                    cell_rows = _run_cell(job, cell_dir, resume, callbacks or [], progress)
                    for row in cell_rows:
                        row["fold"] = fold
                    write_text(done, json.dumps(cell_rows, indent=1))
                    rows.extend(cell_rows)
    rows.extend(_ensemble_rows(prepared, spec, cache, run_dir))
    results = pd.DataFrame(rows)
    from cropglobe.experiment import report

    report.write_results(results, run_dir)
    report.build(run_dir)
    return results


def dump_spec(spec: ExperimentSpec) -> dict[str, Any]:
    """The spec as written to ``config.yaml``; fields at their defaults that older runs did not have are left out,
    so those runs still resume."""
    dumped = spec.model_dump(mode="json")
    for name, default in (("adaptation", None), ("group_by", ["country"]), ("bands", None),
                          ("absent_classes", "keep"), ("classes", None), ("class_map", None)):
        if dumped.get(name) == default:
            dumped.pop(name, None)
    return dumped


def _write_signatures(prepared: Prepared, path: Path) -> None:
    """Mean season-window bands x time matrix per (country, class), for the signature figure."""
    win = prepared.windowed()
    values = win["reflectance"].values
    countries, labels = prepared.countries, win["label"].values.astype(str)
    keys, mats = [], []
    for iso in np.unique(countries):
        for cls in prepared.classes:
            m = (countries == iso) & (labels == cls)
            if m.any():
                keys.append(f"{iso}/{cls}")
                mats.append(np.nanmean(values[m], axis=0))

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=np.array(keys), mats=np.array(mats, dtype=np.float32),
                     bands=win["band"].values.astype(str), doy=win["time"].values,
                     simulated=np.array(prepared.simulated))
