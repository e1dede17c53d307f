"""Adapt the finished cells of a transfer run to their targets afterwards, without retraining.

``adapt_run(RUN_DIR)`` (CLI: ``cropglobe study adapt RUN_DIR``) reloads every finished cell's saved
model, rebuilds the inputs of its targets exactly as the runner did (same config, same split
manifests), and scores the methods of :mod:`cropglobe.experiment.adapt` — the unadapted model,
AdaBN (Li et al. 2016, arXiv:1603.04779), the class-prior shift (calibrated on each cell's
source validation split, as in the runner) and the seed ensemble — side by side. Adaptation reads
only the target's inputs; target labels are used for scoring only. The unadapted rows are
checked against the run's own ``result.json`` rows (``matches_run``), so a table made here is
comparable with the run's report.

Outputs (``OUT``, default ``RUN_DIR/adaptation``): ``adaptation.parquet`` (one row per cell,
seed, target and method; ensembles with ``seed`` = -1) and ``adaptation.md``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cropglobe.atomic import atomic_path, check_replaceable, write_text
from cropglobe.cells.cell import Cell
from cropglobe.cells.run_folder import RunFolder
from cropglobe.errors import CropGlobeError
from cropglobe.experiment import adapt, scoring
from cropglobe.experiment.data import prepare_study
from cropglobe.experiment.job import CellJob, FeatureCache
from cropglobe.study.spec import CellSpec, ExperimentSpec


def split_parts(run_dir: Path, group: list[str], seed: int, fold: str,
                index: dict[str, int]) -> dict[str, np.ndarray]:
    """The train / val (/ test) sample indices of one source, seed and fold, from the run's split manifest."""
    path = RunFolder(run_dir).split_path(group, seed, fold)
    if not path.exists():
        raise CropGlobeError(f"{path}: split manifest missing (is {run_dir} a cropglobe transfer run?)")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {k: np.array([index[i] for i in v], dtype=np.int64) for k, v in raw.items() if k != "info"}


#: What ``cropglobe study adapt`` writes into its folder.
ADAPTATION_FILES = ("adaptation.parquet", "adaptation.md")


def is_adaptation_folder(path: Path) -> bool:
    """True for a previous ``cropglobe study adapt`` folder: nothing but its tables."""
    return path.is_dir() and {p.name for p in path.iterdir()} <= set(ADAPTATION_FILES)


def adapt_run(run_dir: str | os.PathLike, methods: list[str] | None = None, ensemble: bool = True,
              batch_size: int = 512, out: str | os.PathLike | None = None,
              seeds: list[int] | None = None, cells: list[str] | None = None,
              report_cell: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Score the finished cells of a run with and without unlabelled-target adaptation.

    Args:
        run_dir: A ``cropglobe transfer`` run folder (finished or still running: cells without a
            ``result.json`` are skipped). Relative data paths in its config resolve against the
            current directory, as in the run.
        methods: Single-model methods (default ``["none", "adabn"]``; ``none`` is always added;
            ``phenoshift`` as well, see :mod:`cropglobe.experiment.adapt`).
        ensemble: Also score the mean probability of each cell's seeds on the targets that do not
            depend on the seed (other countries), for every method, when all seeds are finished.
        batch_size: AdaBN statistics batch size.
        out: Output folder (default ``RUN_DIR/adaptation``): new, empty or a previous one of
            ``cropglobe study adapt`` (checked before anything is read).
        seeds: Score (and ensemble) only these seeds of the run (default: all of the config's), e.g.
            the seeds that finished in a run still going.
        cells: Score only these cells, named ``FEATURE__MODEL__AUGMENTATION`` as in the cell folders
            (``median2d__cropnet__paper-nowarp``), e.g. to self-train a few cells of a large run.
        report_cell: Called with one line per finished cell as the scoring proceeds (progress).

    Returns:
        The rows (columns as the run's results plus ``adaptation``, ``matches_run``).

    Raises:
        CropGlobeError: If the folder is not a run or has no finished cell.
    """
    run_dir = Path(run_dir)
    run = RunFolder(run_dir)
    if out is not None:  # before anything is read: a user's folder is refused first
        check_replaceable(out, "cropglobe adaptation folder", is_adaptation_folder, follow_links=True,
                          remedy="choose a new or empty folder, or a previous one of `cropglobe study adapt`")
    if not run.has_config():
        raise CropGlobeError(f"{run_dir}: no config.yaml (is it a cropglobe transfer run?)")
    spec, cell_list = _selection(run.load_spec(), seeds, cells)
    chosen = list(dict.fromkeys(["none", *(methods or ["adabn"])]))
    for m in chosen:
        if m not in adapt.METHODS:
            raise CropGlobeError(f"adaptation method {m!r} is unknown; expected one of {', '.join(adapt.METHODS)}")
    out_dir = Path(out) if out is not None else run_dir / "adaptation"
    # the run's adaptation settings (phenoshift limit, selftrain), with this call's AdaBN batch size
    spec = spec.model_copy(update={"adaptation": (spec.adaptation or adapt.AdaptationSpec()).model_copy(
        update={"batch_size": batch_size})})
    prepared = prepare_study(spec)
    cache = FeatureCache(prepared, spec.feature_options)
    index = {s: i for i, s in enumerate(prepared.full["sample_id"].values.astype(str))}
    found = _Found()
    with tempfile.TemporaryDirectory(prefix="cropglobe-selftrain-") as scratch:  # fine-tuning checkpoints
        for seed in spec.seeds:
            for group in prepared.sources:
                for fold in run.folds(group, seed):
                    parts = None
                    for cell in cell_list:
                        cell_dir = run.cell_dir(group, cell, seed, fold)
                        if not run.result_path(cell_dir).exists():
                            continue
                        if report_cell is not None:
                            report_cell(f"adapting {cell_dir.name} ({', '.join(chosen)})")
                        parts = parts or split_parts(run_dir, group, seed, fold, index)
                        job = CellJob(prepared, spec, cache, group, cell, seed, parts, fold)
                        _score_saved(job, cell_dir, chosen, Path(scratch) / cell_dir.name, found)
    if not found.rows:
        raise CropGlobeError(f"{run_dir}: no finished cell (no cells/*/result.json) to adapt")
    rows = found.rows
    if ensemble and len(spec.seeds) > 1:
        for (group, fold, cell_json), by_seed in found.members.items():
            if sorted(by_seed) != sorted(spec.seeds):
                continue
            job = CellJob(prepared, spec, cache, list(group), CellSpec.model_validate(json.loads(cell_json)), -1, {},
                          fold)
            cals = [found.calibrations.get((group, fold, cell_json, s)) for s in spec.seeds]
            rows.extend(scoring.ensemble_rows(job, [by_seed[s] for s in spec.seeds], None if None in cals else cals))
    results = pd.DataFrame(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "adaptation.parquet") as tmp:
        results.to_parquet(tmp, index=False)
    write_text(out_dir / "adaptation.md", "\n".join(markdown(results, title=f"Adaptation of {run_dir}")))
    return results


def _selection(spec: ExperimentSpec, seeds: list[int] | None,
               cells: list[str] | None) -> tuple[ExperimentSpec, list[CellSpec]]:
    """The run's spec restricted to ``seeds`` and its cells restricted to ``cells`` (folder names)."""
    if seeds is not None:
        unknown = sorted(set(seeds) - set(spec.seeds))
        if unknown or not seeds:
            raise CropGlobeError(f"--seed {unknown or seeds}: expected seeds of the run {spec.seeds}")
        spec = spec.model_copy(update={"seeds": [s for s in spec.seeds if s in set(seeds)]})
    cell_list = spec.cell_list()
    if cells is not None:
        names = {RunFolder.cell_name(c): c for c in cell_list}
        unknown = sorted(set(cells) - set(names))
        if unknown or not cells:
            raise CropGlobeError(f"--cell {unknown or cells}: expected cells of the run ({', '.join(names)})")
        cell_list = [c for c in cell_list if RunFolder.cell_name(c) in set(cells)]
    return spec, cell_list


@dataclass
class _Found:
    """What the scoring of saved cells collects: rows, each cell's probabilities per seed, calibrations."""

    rows: list[dict] = field(default_factory=list)
    members: dict[tuple, dict[int, dict[str, np.ndarray]]] = field(default_factory=dict)
    calibrations: dict[tuple, Any] = field(default_factory=dict)


def _score_saved(job: CellJob, cell_dir: Path, chosen: list[str], scratch: Path, found: _Found) -> None:
    """Score one saved cell with the methods ``chosen`` (:func:`cropglobe.experiment.scoring.score_targets`)."""
    cell = Cell.load(cell_dir)
    ran = {r["target"]: r for r in json.loads(RunFolder.result_path(cell_dir).read_text(encoding="utf-8"))
           if r.get("adaptation", "none") == "none"}
    key = (tuple(job.group), job.fold, json.dumps(job.cell.model_dump(mode="json")))
    calibration = None
    if "prior" in chosen:  # as the runner: the source validation split only
        val = job.parts["val"]
        calibration = adapt.source_calibration(cell, cell.training_inputs(job.training_data()[val]), job.labels[val],
                                               len(job.classes))
        found.calibrations[(*key, job.seed)] = calibration
    probas = found.members.setdefault(key, {}).setdefault(job.seed, {})
    for target, method, proba, row, record in scoring.score_targets(job, cell, chosen, calibration, scratch):
        base = ran.get(target, {})
        row.update(record)
        row.update({k: base.get(k) for k in ("best_epoch", "best_val_macro_f1", "precision")},
                   fold=job.fold, matches_run=(None if method != "none" or not base else
                                               bool(np.isclose(row["macro_f1"], base["macro_f1"]))))
        found.rows.append(row)
        probas[f"{target}|{method}"] = proba.astype(np.float32)  # as the runner stores them


def _fmt(values: pd.Series) -> str:
    v = values.dropna().astype(float)
    if v.empty:
        return "–"
    return f"{v.mean():.3f}" if len(v) == 1 else f"{v.mean():.3f} ± {v.std(ddof=0):.3f}"


def markdown(results: pd.DataFrame, title: str = "Results") -> list[str]:
    """Tables of macro-F1 (mean ± std over seeds; ensembles one value) and best epochs per pair.

    One table per source → target pair; rows: cells (feature / model / augmentation); columns:
    each adaptation method present, then the best validation epochs of the seeds.
    """
    df = results.copy()
    if "adaptation" not in df:
        df["adaptation"] = "none"
    df["cell"] = df["feature"] + " / " + df["model"] + np.where(df["augmentation"] == "none", "",
                                                                " +aug:" + df["augmentation"])
    known = ("none", "adabn", "phenoshift", "prior", "selftrain", "ensemble", "adabn+ensemble",
             "phenoshift+ensemble", "prior+ensemble", "selftrain+ensemble")
    order = [m for m in known if m in set(df["adaptation"])]
    order += sorted(set(df["adaptation"]) - set(order))
    lines = [f"# {title}", "", "Macro-F1, mean ± std over seeds (ensemble columns: one model, the mean "
             "probability of all seeds). Best epochs: the epoch (0-based) of the best source-validation "
             "macro-F1 per seed. Target labels are used for scoring only.", ""]
    if "simulated" in df and df["simulated"].any():
        lines += ["> SIMULATED DATA: these figures are not real-world accuracies.", ""]
    for (source, target), block in df.groupby(["source", "target"], sort=False):
        lines += [f"## {source} → {target}", "", "| cell | " + " | ".join(order) + " | best epochs |",
                  "|---|" + "---|" * (len(order) + 1)]
        for cell, rows in block.groupby("cell", sort=False):
            vals = [_fmt(rows[rows["adaptation"] == m]["macro_f1"]) for m in order]
            plain = rows[(rows["adaptation"] == "none") & (rows["seed"] >= 0)]
            epochs = plain.sort_values("seed")["best_epoch"].dropna() if "best_epoch" in plain else pd.Series([])
            ep = ", ".join(str(int(e)) for e in epochs) if len(epochs) else "–"
            lines.append(f"| {cell} | " + " | ".join(vals) + f" | {ep} |")
        lines.append("")
    return lines
