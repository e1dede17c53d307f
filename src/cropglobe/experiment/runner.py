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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cropglobe import geography, samples, taxonomy
from cropglobe.atomic import atomic_path, write_text
from cropglobe.augment import align
from cropglobe.cells.run_folder import RunFolder
from cropglobe.errors import CropGlobeError
from cropglobe.experiment import adapt, fitting
from cropglobe.experiment.data import Prepared, prepare_study, remap_key
from cropglobe.features import families as features
from cropglobe.models.ensemble import Calibration
from cropglobe.study.spec import CellSpec, ExperimentSpec
from cropglobe.training import metrics, splits
from cropglobe.training.metrics import remap_target, score_names
from cropglobe.verbosity import quiet_training

log = logging.getLogger(__name__)
N_CLASSES = len(taxonomy.CLASSES)  # the default legend's; a study's cells have len(prepared.classes)


#: Folder name of one cell (:meth:`.RunFolder.cell_key`).
cell_key = RunFolder.cell_key


class FeatureCache:
    """Feature arrays of the study, computed once per family."""

    def __init__(self, prepared: Prepared, options: dict[str, dict[str, Any]]) -> None:
        self.prepared, self.options = prepared, options
        self.labels = samples.label_codes(prepared.full, prepared.classes)
        self._features: dict[str, np.ndarray] = {}
        self._full: np.ndarray | None = None

    def full_series(self) -> np.ndarray:
        """Gap-filled full-year composite values (N, B, T_full)."""
        if self._full is None:
            self._full = np.nan_to_num(self.prepared.full["reflectance"].values).astype(np.float32)
        return self._full

    def features(self, family: str) -> np.ndarray:
        """Model-ready features of ``family`` on the season window (N, ...)."""
        if family not in self._features:
            spec = features.get_feature(family)
            self._features[family] = np.asarray(spec.fn(self.prepared.windowed(), **self.options.get(family, {})),
                                                dtype=np.float32)
        return self._features[family]


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


def _targets(prepared: Prepared, group: list[str], parts: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
    out = []
    if "test" in parts:
        out.append(("+".join(group), parts["test"]))
    for unit in prepared.targets:
        if not prepared.overlaps(unit, group):
            out.append((unit, prepared.indices(unit)))
    return out


def _scenario(prepared: Prepared, group: list[str], target: str) -> str:
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


def _evaluate(prepared: Prepared, target: str, idx: np.ndarray, proba: np.ndarray,
              source_classes: list[str] | None = None) -> metrics.Scores:
    """Score predictions on a target after its remap (absent classes -> other, truth and prediction)."""
    truth = prepared.full["label"].values[idx].astype(str)
    pred = np.asarray(prepared.classes)[proba.argmax(1)]
    key = remap_key(target, prepared.remaps, prepared.units)
    return score_names(*remap_target(key, truth, pred, prepared.remaps, source_classes, prepared.classes),
                       prepared.classes)


def source_classes(prepared: Prepared, spec: ExperimentSpec, group: list[str]) -> list[str] | None:
    """The classes of a source group's samples when ``absent_classes: other`` (else None: scores keep all)."""
    if spec.absent_classes != "other":
        return None
    return sorted(set(prepared.full["label"].values[prepared.group_indices(group)].astype(str)))


def _run_cell(prepared: Prepared, spec: ExperimentSpec, cache: FeatureCache, group: list[str], cell: CellSpec,
              seed: int, parts: dict[str, np.ndarray], cell_dir: Path, resume: bool,
              callbacks: list[Any], progress: bool) -> list[dict]:
    t0 = time.perf_counter()
    with quiet_training():  # no "GPU available" lines or deprecation warnings per cell
        model, inputs, info = fitting.train_cell(prepared, spec, cache, cell, seed, parts, cache.labels, cell_dir,
                                                 resume, callbacks, progress, group)
    train_seconds = time.perf_counter() - t0
    adaptation = spec.adaptation
    methods = adaptation.single_methods() if adaptation is not None else ["none"]
    rows, probas = [], {}
    calibration = None
    if "prior" in methods:  # fitted on the source validation split only (never a target label)
        calibration = adapt.source_calibration(model, inputs(parts["val"]), cache.labels[parts["val"]],
                                               len(prepared.classes))
        calibration.write(cell_dir)
    for target, idx in _targets(prepared, group, parts):
        for method, proba, record in method_probas(model, inputs(idx), idx, prepared, spec, cache, cell, parts, seed,
                                                   methods, calibration, cell_dir / f"selftrain-{target}"):
            probas[f"{target}|{method}"] = proba.astype(np.float32)
            row = _row(prepared, group, cell, seed, target,
                       _evaluate(prepared, target, idx, proba, source_classes(prepared, spec, group)), method)
            row.update({"train_seconds": round(train_seconds, 2), **record,
                        **{k: v for k, v in info.items() if k in ("best_epoch", "best_val_macro_f1", "precision",
                                                                       "epochs", "val_classes")}})
            rows.append(row)
    if adaptation is not None and adaptation.ensemble:
        _save_probas(RunFolder.target_proba_path(cell_dir), probas)
    return rows


def method_probas(model: Any, x: np.ndarray, idx: np.ndarray, prepared: Prepared, spec: ExperimentSpec,
                  cache: FeatureCache, cell: CellSpec, parts: dict[str, np.ndarray], seed: int, methods: list[str],
                  calibration: Calibration | None, work_dir: Path) -> Iterator[tuple[str, np.ndarray, dict]]:
    """Each adaptation method's class probabilities on one target: ``(method, proba, record)``.

    The one scoring loop of the runner and of ``cropglobe adapt``. ``x`` holds the target's model
    inputs (sample indices ``idx``); adaptation reads them, never the target's labels. Methods that
    do not apply to the model (AdaBN without BatchNorm, phenoshift on non-median features) are
    skipped; ``selftrain`` fine-tunes a copy of the model (scratch checkpoints in ``work_dir``).
    """
    adaptation = spec.adaptation
    for method in methods:
        if method == "align":
            if cell.feature in align.WINDOW_FAMILIES:
                yield method, *align_proba(model, cell.feature, cache.full_series()[idx], prepared.window,
                                           prepared.bin_days, adaptation.max_shift_days if adaptation else 60.0)
            continue
        if method == "selftrain":
            _, proba, record = fitting.selftrain_cell(model, cell, spec, cache, prepared.window, prepared.bin_days,
                                                      parts, fitting.training_inputs(cell, cache, idx), seed, work_dir)
            yield method, proba, record
            continue
        how = adapt.method_inputs(method, cell.feature, x, cache.full_series(), parts["train"], idx,
                                  prepared.window, prepared.bin_days, _band_names(prepared),
                                  adaptation.max_shift_days if adaptation else 60.0)
        if how is None:
            continue
        proba, record = adapt.predict_info(model, how[0], how[1], adaptation.batch_size if adaptation else 512,
                                           calibration)
        if proba is not None:
            yield method, proba, {**how[2], **record}


def align_proba(model: Any, feature: str, full: np.ndarray, window: tuple[int, int], bin_days: float,
                max_days: float = 60.0) -> tuple[np.ndarray, dict]:
    """Probabilities of ``model`` on target windows read at the offsets :func:`.align.search` finds; the record."""

    def predict(w: np.ndarray) -> np.ndarray:
        return model.predict_proba(align.window_inputs(w, feature))

    a, b, record = align.search(predict, full, window, bin_days, align.AlignSettings(max_days=max_days))
    return predict(align.read(full, window, bin_days, a, b)), record


def _row(prepared: Prepared, group: list[str], cell: CellSpec, seed: int, target: str, scores: metrics.Scores,
         adaptation: str) -> dict:
    """One result row (training details are added by the caller)."""
    from cropglobe import augment

    return {
        "source": "+".join(group), "target": target, "scenario": _scenario(prepared, group, target),
        "feature": cell.feature, "model": cell.model, "augmentation": augment.label(cell.augmentation),
        "augmentation_config": json.dumps(augment.resolve(cell.augmentation).model_dump(mode="json")),
        "adaptation": adaptation, "copies": cell.copies, "seed": seed, "oa": scores.oa,
        "macro_f1": scores.macro_f1, "weighted_f1": scores.weighted_f1, "kappa": scores.kappa, "n": scores.n,
        "classes": ",".join(scores.classes_present), "per_class": json.dumps(scores.per_class),
        "confusion": json.dumps(scores.confusion), "data": prepared.description, "simulated": prepared.simulated,
    }


def _band_names(prepared: Prepared) -> list[str]:
    return [str(b) for b in prepared.full["band"].values]


def _save_probas(path: Path, probas: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **probas)


def load_calibrations(cell_dirs: list[Path]) -> list[Any] | None:
    """The cells' source-validation calibrations (``calibration.json``), or None unless every cell has one."""
    cals = [Calibration.read(d) for d in cell_dirs]
    return None if any(c is None for c in cals) else cals


def _ensemble_rows(prepared: Prepared, spec: ExperimentSpec, run_dir: Path) -> list[dict]:
    """Rows scoring the mean of the seeds' target probabilities of each cell (``seed`` = -1).

    Only targets whose samples do not depend on the seed (countries other than the source; the
    in-region hold-out is drawn per seed) and cells whose every seed gave probabilities. A one-seed
    study has no ensembles (its "ensemble" would repeat the seed's rows).
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
                members = [dict(np.load(f)) for f in files]
                calibrations = load_calibrations([f.parent for f in files])
                for key in members[0]:
                    target, method = key.split("|")
                    if target not in prepared.targets or prepared.overlaps(target, group) \
                            or not all(key in m for m in members):
                        continue
                    idx = prepared.indices(target)
                    proba = adapt.ensemble_method_proba(
                        {k.split("|")[1]: [m[k] for m in members] for k in members[0]
                         if k.split("|")[0] == target and all(k in m for m in members)}, method, calibrations)
                    row = _row(prepared, group, cell, -1, target,
                               _evaluate(prepared, target, idx, proba, source_classes(prepared, spec, group)),
                               adapt.ensemble_label(method))
                    row.update({"fold": fold, "ensemble_seeds": ",".join(str(s) for s in spec.seeds)})
                    rows.append(row)
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
                    cell_rows = _run_cell(prepared, spec, cache, group, cell, seed, parts, cell_dir,
                                          resume, callbacks or [], progress)
                    for row in cell_rows:
                        row["fold"] = fold
                    write_text(done, json.dumps(cell_rows, indent=1))
                    rows.extend(cell_rows)
    rows.extend(_ensemble_rows(prepared, spec, run_dir))
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
