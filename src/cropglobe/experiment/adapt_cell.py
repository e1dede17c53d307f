"""Write an adapted copy of a transfer cell (AdaBN or self-training), for ``cropglobe map`` / ``predict``.

``adapt_cell(CELL, SAMPLES, OUT)`` composites an unlabelled SampleSet of the target region exactly
as the cell's recipe prescribes (:mod:`cropglobe.cells.inputs`, the same inputs ``cropglobe
predict`` builds), re-estimates the model's BatchNorm running statistics on those inputs (Li et
al. 2016, AdaBN, arXiv:1603.04779; :func:`cropglobe.experiment.adapt.adabn`) and writes a new
cell folder: the adapted ``model``, the unchanged ``recipe.json`` and ``adaptation.json`` (what
was done, on how many samples). ``cropglobe map OUT CUBE`` then maps with the adapted model and
needs no change. Labels in SAMPLES, if any, are ignored.

``method="selftrain"`` instead fine-tunes the cell's model on its source training split plus
class-balanced pseudo-labels of SAMPLES (CBST, Zou et al. 2018, arXiv:1810.07911;
:mod:`cropglobe.experiment.selftrain`), with the settings of the run's ``adaptation.selftrain``
block (or the defaults). It needs the cell's transfer run beside it (``RUN_DIR/config.yaml``, the
split manifests and the run's data), as the source samples are part of the training.

``cropglobe predict`` / ``cropglobe map --adapt selftrain`` (:mod:`cropglobe.cli._selftrain`) do the
same in one step with :func:`source_run` (checked first), :func:`target_inputs` /
:func:`training_rows` (the samples) or the map's sampled pixels, and :func:`selftrain_cells` (each
ensemble member separately, into a scratch folder).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from cropglobe import choices
from cropglobe.atomic import check_replaceable, write_text
from cropglobe.cells.cell import Cell
from cropglobe.cells.inputs import composite_like_training, load_samples
from cropglobe.cells.run_folder import CellRun, RunFolder
from cropglobe.choices import CellAdaptationMethod
from cropglobe.errors import CropGlobeError
from cropglobe.experiment import fitting
from cropglobe.experiment.adapt import adabn, bn_layers
from cropglobe.experiment.data import prepare_study
from cropglobe.experiment.job import CellJob, FeatureCache
from cropglobe.experiment.posthoc import split_parts


def adapt_cell(cell: str | os.PathLike, samples_path: str | os.PathLike, out: str | os.PathLike,
               batch_size: int = 512, min_clear: int | None = None, method: str = "adabn") -> dict[str, Any]:
    """Adapt a cell to the region of an unlabelled SampleSet (AdaBN or self-training) and write it to ``out``.

    Args:
        cell: Transfer cell folder (``RUN_DIR/cells/<cell>``) or its ``recipe.json``.
        samples_path: SampleSet Zarr of the target region (observations or composites; labels
            are not read).
        out: New cell folder (must not exist or be empty).
        batch_size: AdaBN statistics batch size.
        min_clear: Minimum clear observations per sample (default: the recipe's).
        method: ``adabn`` (torch models with BatchNorm) or ``selftrain`` (any model of a transfer run).

    Returns:
        The ``adaptation.json`` content.

    Raises:
        CropGlobeError: For an unknown method; for AdaBN, a tabular cell or a model without
            BatchNorm; for selftrain, a cell outside its transfer run; an existing non-empty ``out``,
            or fewer than 2 usable samples (and any recipe / SampleSet error).
    """
    out = Path(out)
    check_replaceable(out, "adapted cell (a new or empty folder)", lambda _: False, follow_links=True,
                      remedy="pick a new or empty folder for the adapted cell")
    if method not in choices.values(CellAdaptationMethod):
        raise CropGlobeError(f"--method {method!r}: expected {' or '.join(choices.values(CellAdaptationMethod))}")
    the_cell = Cell.load(cell)
    recipe = the_cell.recipe
    if method == "selftrain":
        run = source_run(recipe.path.parent)  # checked before the samples are composited
        full, x, keep = target_inputs(the_cell, samples_path, min_clear, method)
        return _selftrain_cell(the_cell, run, (full, x, keep), samples_path, out)
    if the_cell.family != "torch":
        raise CropGlobeError(f"{recipe.path}: {recipe.model!r} is a {the_cell.family} model; AdaBN needs a torch "
                             "model with BatchNorm layers")
    if not bn_layers(the_cell.net):
        raise CropGlobeError(f"{recipe.model_path}: {recipe.model!r} has no BatchNorm layer to adapt")
    _, x, keep = target_inputs(the_cell, samples_path, min_clear, "AdaBN")
    adapted = the_cell.with_model(adabn(the_cell.net, x, batch_size))
    adapted.save(out, recipe.path.read_text(encoding="utf-8"))
    info = {"method": "adabn", "source": "Li et al. 2016, arXiv:1603.04779", "cell": str(recipe.path.parent),
            "samples": str(samples_path), "n_samples": int(keep.size), "n_bn_layers": len(bn_layers(adapted.net)),
            "batch_size": int(batch_size), "labels_used": False}
    write_text(out / "adaptation.json", json.dumps(info, indent=1))
    return info


def target_inputs(cell: Cell, samples_path: str | os.PathLike, min_clear: int | None,
                  method: str) -> tuple[xr.Dataset, np.ndarray, np.ndarray]:
    """The target's composite and the cell's inputs of its usable samples ``(full, x, keep)``: at least 2.

    The SampleSet's labels are not read (:func:`cropglobe.cells.inputs.load_samples` keeps them
    aside; compositing uses the observations only).

    Raises:
        CropGlobeError: For a bad SampleSet, or fewer than 2 samples with inputs (naming ``method``).
    """
    ds, _ = load_samples(samples_path)
    full = composite_like_training(ds, cell.recipe, min_clear, where=str(samples_path))  # type: ignore[arg-type]
    x, keep = cell.inputs(full)
    if keep.size < 2:
        raise CropGlobeError(f"{samples_path}: {keep.size} usable sample(s) after compositing; {method} needs at "
                             "least 2")
    return full, x, keep


def training_rows(cell: Cell, full: xr.Dataset, x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The target's kept samples in the layout the cell trains on (:func:`target_inputs`' output).

    Full-year series for torch models on season-window families (cut to the window and augmented
    as in training), the model inputs ``x`` otherwise.
    """
    return np.nan_to_num(full["reflectance"].values[keep]).astype(np.float32) if cell.trains_on_series else x


def source_run(cell_dir: str | os.PathLike, purpose: str = "selftrain") -> CellRun:
    """The cell's run (its spec, source, cell, seed and fold) from ``RUN_DIR/cells/<cell>``: what selftrain needs.

    Cheap (reads ``config.yaml`` only): callers check every cell with it before any heavy work.
    ``purpose`` names what needs the run, in the error.

    Raises:
        CropGlobeError: When the folder is not a cell of a transfer run.
    """
    cell_dir = Path(cell_dir)
    run = RunFolder(cell_dir.parent.parent)
    if not run.config_path.is_file():
        raise CropGlobeError(f"{cell_dir}: {purpose} needs the cell's transfer run (RUN_DIR/cells/<cell> with "
                             f"RUN_DIR/config.yaml) for its source training samples; {run.config_path} "
                             "not found")
    found = run.find_cell(cell_dir)
    if found is None:
        raise CropGlobeError(f"{cell_dir}: not a cell of the run in {run.path} (no source, cell and seed of its "
                             "config.yaml gives this folder name)")
    return found


def source_series(cell_dir: str | os.PathLike, bands: Sequence[str]) -> np.ndarray:
    """The unlabelled full-year series (N, B, T) of every source sample of the cell's transfer run, float32.

    The run's data are prepared as its study prepared them (:func:`cropglobe.experiment.data.prepare_study`:
    the full-year composite a cell's season window is cut from, gaps filled, NaN left by the fill set
    to 0 as in training), restricted to the samples of the cell's source group and to ``bands`` in
    that order. No label is read. ``map --fast --source-pixels`` distils its student on them next to
    the region's pixels (:func:`cropglobe.mapping.fastmap.make_fast_map`).

    Raises:
        CropGlobeError: When the folder is not a cell of a transfer run (:func:`source_run`), the run's
            data cannot be read, or they lack one of ``bands``.
    """
    run = source_run(cell_dir, "--source-pixels")
    given = run.spec.data.path
    paths = [given] if isinstance(given, str) else list(given or [])
    absent = [p for p in paths if not Path(p).exists()]
    if absent:
        raise CropGlobeError(f"{cell_dir}: --source-pixels reads the data of the cell's transfer run; {absent[0]} "
                             f"not found from {Path.cwd()} (the run's config gives it; a relative path starts in "
                             "the folder the transfer was run from)")
    data = prepare_study(run.spec)
    refl = data.full["reflectance"]
    missing = [b for b in bands if b not in refl["band"].values.astype(str)]
    if missing:
        raise CropGlobeError(f"{cell_dir}: the run's data ({', '.join(paths) or 'simulated'}) lack the "
                             f"bands {missing}; expected the bands the cell was trained on ({list(bands)})")
    values = refl.sel(band=list(bands)).transpose("sample", "band", "time").values[data.group_indices(run.group)]
    return np.nan_to_num(values).astype(np.float32)


def selftrain_cells(cells: Sequence[Cell], runs: Sequence[CellRun], x_target: np.ndarray,
                    outs: Sequence[Path]) -> list[dict[str, Any]]:
    """Self-train each cell on the same unlabelled target rows and write each adapted cell to its folder.

    Every cell is fine-tuned separately (CBST, :func:`cropglobe.experiment.fitting.selftrain_cell`)
    with its own run's source training split, seed and ``adaptation.selftrain`` settings (or the
    defaults); a run's data is prepared once for all its cells. Each ``outs`` folder gets the
    adapted ``model`` and the cell's ``recipe.json`` verbatim (the caller checked the folders; a recipe
    before format 5 gains the ``source_classes`` its run's data show).

    Args:
        cells: The cells (each a single cell, not an ensemble).
        runs: Their runs (:func:`source_run`), in the same order.
        x_target: The target's unlabelled rows in the layout the cells train on (:func:`training_rows`;
            the cells of one ensemble share it).
        outs: One new folder per cell.

    Returns:
        Per cell what was done: ``method``, ``source``, ``cell``, ``seed``, ``settings`` (the run's
        ``adaptation.selftrain`` or ``"defaults"``), ``labels_used`` (False), ``selftrain_pseudo``
        (pseudo-labels in the last round) and, for torch models, ``selftrain_best_epochs``.
    """
    prepared: dict[Path, tuple[Any, FeatureCache, dict[str, int]]] = {}
    infos = []
    for cell, run, out in zip(cells, runs, outs, strict=True):
        spec, recipe = run.spec, cell.recipe
        if run.run.path not in prepared:
            data = prepare_study(spec)
            index = {s: i for i, s in enumerate(data.full["sample_id"].values.astype(str))}
            prepared[run.run.path] = (data, FeatureCache(data, spec.feature_options), index)
        data, cache, index = prepared[run.run.path]
        parts = split_parts(run.run.path, run.group, run.seed, run.fold, index)
        job = CellJob(data, spec, cache, run.group, run.cell, run.seed, parts, run.fold)
        with tempfile.TemporaryDirectory(prefix="cropglobe-selftrain-") as scratch:
            adapted, _, record = fitting.selftrain_cell(job, cell, x_target, Path(scratch) / "work")
        text = recipe.path.read_text(encoding="utf-8")  # type: ignore[attr-defined]
        if recipe.source_classes is None:  # a recipe before format 5: the run's data say what its source held
            text = recipe.spec.model_copy(update={"source_classes": job.training_classes()}).to_json()  # type: ignore[attr-defined]
        adapted.save(out, text)
        settings = spec.adaptation.selftrain if spec.adaptation is not None else None
        infos.append({"method": "selftrain", "source": "Zou et al. 2018 (CBST), arXiv:1810.07911",
                      "cell": str(recipe.path.parent), "seed": int(run.seed),  # type: ignore[attr-defined]
                      "settings": settings.model_dump(mode="json") if settings is not None else "defaults",
                      "labels_used": False, **record})
    return infos


def _selftrain_cell(cell: Cell, run: CellRun, target: tuple[xr.Dataset, np.ndarray, np.ndarray],
                    samples_path: str | os.PathLike, out: Path) -> dict[str, Any]:
    """Self-train the cell of ``run`` on the composited target samples (:func:`target_inputs`); write the new cell."""
    full, x, keep = target
    info = selftrain_cells([cell], [run], training_rows(cell, full, x, keep), [out])[0]
    info = {**info, "samples": str(samples_path), "n_samples": int(keep.size)}
    write_text(out / "adaptation.json", json.dumps(info, indent=1))
    return info
