"""Adapt the finished cells of a transfer run to their targets afterwards, without retraining.

``adapt_run(RUN_DIR)`` (CLI: ``cropglobe adapt RUN_DIR``) reloads every finished cell's saved
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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cropglobe import models
from cropglobe.atomic import atomic_path, check_replaceable, write_text
from cropglobe.cells.run_folder import RunFolder
from cropglobe.errors import CropGlobeError
from cropglobe.experiment import adapt, fitting
from cropglobe.experiment.data import prepare_study
from cropglobe.experiment.runner import (
    FeatureCache,
    _evaluate,
    _row,
    method_probas,
    source_classes,
)
from cropglobe.study.spec import CellSpec


class _TorchModel:
    """A loaded torch model behind ``predict_proba`` (and ``net`` for AdaBN)."""

    def __init__(self, net: Any) -> None:
        self.net = net

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        from cropglobe.training.lightning import predict_proba_torch

        return predict_proba_torch(self.net, x)


def load_saved(cell_dir: Path, family: str) -> Any:
    """A cell's saved model behind ``predict_proba`` (torch ones also expose ``net``)."""
    model = models.load_model(cell_dir / "model")
    return _TorchModel(model) if family == "torch" else model


def split_parts(run_dir: Path, group: list[str], seed: int, fold: str,
                index: dict[str, int]) -> dict[str, np.ndarray]:
    """The train / val (/ test) sample indices of one source, seed and fold, from the run's split manifest."""
    path = RunFolder(run_dir).split_path(group, seed, fold)
    if not path.exists():
        raise CropGlobeError(f"{path}: split manifest missing (is {run_dir} a cropglobe transfer run?)")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {k: np.array([index[i] for i in v], dtype=np.int64) for k, v in raw.items() if k != "info"}


#: What ``cropglobe adapt`` writes into its folder.
ADAPTATION_FILES = ("adaptation.parquet", "adaptation.md")


def is_adaptation_folder(path: Path) -> bool:
    """True for a previous ``cropglobe adapt`` folder: nothing but its tables."""
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
            ``cropglobe adapt`` (checked before anything is read).
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
                          remedy="choose a new or empty folder, or a previous one of `cropglobe adapt`")
    if not run.has_config():
        raise CropGlobeError(f"{run_dir}: no config.yaml (is it a cropglobe transfer run?)")
    spec = run.load_spec()
    if seeds is not None:
        unknown = sorted(set(seeds) - set(spec.seeds))
        if unknown or not seeds:
            raise CropGlobeError(f"--seed {unknown or seeds}: expected seeds of the run {spec.seeds}")
        spec = spec.model_copy(update={"seeds": [s for s in spec.seeds if s in set(seeds)]})
    chosen = list(dict.fromkeys(["none", *(methods or ["adabn"])]))
    out_dir = Path(out) if out is not None else run_dir / "adaptation"
    cell_list = spec.cell_list()
    if cells is not None:
        names = {RunFolder.cell_name(c): c for c in cell_list}
        unknown = sorted(set(cells) - set(names))
        if unknown or not cells:
            raise CropGlobeError(f"--cell {unknown or cells}: expected cells of the run ({', '.join(names)})")
        cell_list = [c for c in cell_list if RunFolder.cell_name(c) in set(cells)]
    for m in chosen:
        if m not in adapt.METHODS:
            raise CropGlobeError(f"adaptation method {m!r} is unknown; expected one of {', '.join(adapt.METHODS)}")
    # the run's adaptation settings (phenoshift limit, selftrain), with this call's AdaBN batch size
    spec = spec.model_copy(update={"adaptation": (spec.adaptation or adapt.AdaptationSpec()).model_copy(
        update={"batch_size": batch_size})})
    prepared = prepare_study(spec)
    cache = FeatureCache(prepared, spec.feature_options)
    scratch = tempfile.TemporaryDirectory(prefix="cropglobe-selftrain-")  # fine-tuning checkpoints; removed
    index = {s: i for i, s in enumerate(prepared.full["sample_id"].values.astype(str))}
    rows: list[dict] = []
    members: dict[tuple, dict[int, np.ndarray]] = {}
    calibrations: dict[tuple, Any] = {}
    for seed in spec.seeds:
        for group in prepared.sources:
            for fold in run.folds(group, seed):
                parts = None
                for cell in cell_list:
                    cell_dir = run.cell_dir(group, cell, seed, fold)
                    done = run.result_path(cell_dir)
                    if not done.exists():
                        continue
                    if report_cell is not None:
                        report_cell(f"adapting {cell_dir.name} ({', '.join(chosen)})")
                    parts = parts or split_parts(run_dir, group, seed, fold, index)
                    family = models.model_info(cell.model).family
                    model = load_saved(cell_dir, family)
                    ran = {r["target"]: r for r in json.loads(done.read_text(encoding="utf-8"))
                           if r.get("adaptation", "none") == "none"}
                    targets = ([("+".join(group), parts["test"])] if "test" in parts else []) + [
                        (t, prepared.indices(t)) for t in prepared.targets if not prepared.overlaps(t, group)]

                    def inputs(idx: np.ndarray, cell: CellSpec = cell) -> np.ndarray:
                        return fitting.cell_inputs(cell, cache, idx, prepared.window)

                    cell_json = json.dumps(cell.model_dump(mode="json"))
                    calibration = None
                    if "prior" in chosen:  # as the runner: the source validation split only
                        calibration = adapt.source_calibration(model, inputs(parts["val"]),
                                                               cache.labels[parts["val"]],
                                                               len(prepared.classes))
                        calibrations[(tuple(group), fold, cell_json, seed)] = calibration
                    for target, idx in targets:
                        for method, proba, record in method_probas(
                                model, inputs(idx), idx, prepared, spec, cache, cell, parts, seed, chosen,
                                calibration, Path(scratch.name) / cell_dir.name / target):
                            row = _row(prepared, group, cell, seed, target,
                                       _evaluate(prepared, target, idx, proba, source_classes(prepared, spec, group)),
                                       method)
                            base = ran.get(target, {})
                            row.update(record)
                            row.update({k: base.get(k) for k in ("best_epoch", "best_val_macro_f1", "precision")},
                                       fold=fold, matches_run=(None if method != "none" or not base else
                                                               bool(np.isclose(row["macro_f1"], base["macro_f1"]))))
                            rows.append(row)
                            if target not in group:
                                members.setdefault((tuple(group), fold, cell_json, target, method), {}
                                                   )[seed] = proba.astype(np.float32)  # as the runner stores them
    scratch.cleanup()
    if not rows:
        raise CropGlobeError(f"{run_dir}: no finished cell (no cells/*/result.json) to adapt")
    if ensemble and len(spec.seeds) > 1:
        for (group, fold, cell_json, target, method), by_seed in members.items():
            if sorted(by_seed) != sorted(spec.seeds):
                continue
            cell = CellSpec.model_validate(json.loads(cell_json))
            idx = prepared.indices(target)
            same = {m: [members[(group, fold, cell_json, target, m)][s] for s in spec.seeds]
                    for m in {k[4] for k in members}
                    if sorted(members.get((group, fold, cell_json, target, m), {})) == sorted(spec.seeds)}
            cals = [calibrations.get((group, fold, cell_json, s)) for s in spec.seeds]
            proba = adapt.ensemble_method_proba(same, method, None if None in cals else cals)
            row = _row(prepared, list(group), cell, -1, target,
                       _evaluate(prepared, target, idx, proba, source_classes(prepared, spec, list(group))),
                       adapt.ensemble_label(method))
            row.update(fold=fold, ensemble_seeds=",".join(str(s) for s in spec.seeds))
            rows.append(row)
    results = pd.DataFrame(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "adaptation.parquet") as tmp:
        results.to_parquet(tmp, index=False)
    write_text(out_dir / "adaptation.md", "\n".join(markdown(results, title=f"Adaptation of {run_dir}")))
    return results


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
