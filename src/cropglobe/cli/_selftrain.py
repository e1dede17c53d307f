"""``--adapt selftrain`` of ``cropglobe predict`` and ``cropglobe map``: self-train the cells, then predict / map.

Class-balanced self-training (CBST, Zou et al. 2018, arXiv:1810.07911;
:mod:`cropglobe.experiment.selftrain`) fine-tunes a copy of each cell (each ensemble member
separately) on its run's source training split plus pseudo-labels of the target's *unlabelled*
inputs; the adapted cells then predict the samples or map the cube. It is the one-step form of
``cropglobe study adapt-cell CELL SAMPLES -m selftrain --out CELL_ST`` followed by ``cropglobe
predict CELL_ST SAMPLES`` / ``cropglobe map CELL_ST CUBE``, and gives the same probabilities.

This module joins the two top floors (DEVELOPERS.md, "floors"): ``experiment/`` self-trains
(:mod:`cropglobe.experiment.adapt_cell`: :func:`source_run`, :func:`selftrain_cells`) and
``mapping/`` reads the target and predicts or maps (:func:`cropglobe.mapping.predict_table.predict_samples`,
:func:`cropglobe.mapping.run.sample_series`, :func:`~cropglobe.mapping.run.make_map`,
:func:`~cropglobe.mapping.fastmap.make_fast_map`); the two never import each other, so the
orchestration lives here, above both. Its module level stays light (the CLI imports :class:`Adapt`
for the options' choices); the floors are imported inside the functions.

Order of work: every input is checked (outputs, options, each cell's transfer run, the samples or
the cube) before any self-training; the adapted cells live in a temporary folder only, so a
failure leaves nothing behind, and the outputs are written by the predict / map writers, which
replace only their own earlier outputs. Labels of the samples never reach training: the target's
inputs are composited from the observations only, and the scores (with labels) come after the
prediction.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cropglobe.mapping.fastmap import FastMapResult
    from cropglobe.mapping.predict_table import PredictOptions, SamplePredictions
    from cropglobe.mapping.run import MapOptions, MapResult
    from cropglobe.mapping.student import StudentSettings

SOURCE = "Zou et al. 2018 (CBST), arXiv:1810.07911"
#: At most this many of the region's sampled pixels (a seeded subset) are self-trained on: about the size
#: of the study's target sets (e.g. Arkansas' 10,000 samples); the fine-tuning time grows with it.
MAP_PIXELS = 10_000
#: Seeds the subset of the map's pixels.
MAP_SEED = 0


def _cells(cell: str | os.PathLike, members: list[str] | list[Path] | tuple) -> tuple[list[Path], list[Any]]:
    """The cell folders (the cell, then its members) and their runs; raises before any heavy work.

    Raises:
        CropGlobeError: For a bad cell, members of other inputs (:func:`cropglobe.cells.cell.load_cells`)
            or a cell outside its transfer run (:func:`cropglobe.experiment.adapt_cell.source_run`).
    """
    from cropglobe.cells.cell import load_cells, load_recipe
    from cropglobe.experiment.adapt_cell import source_run

    load_cells([cell, *members])  # one ensemble: the same inputs
    folders = [load_recipe(c).path.parent for c in (cell, *members)]
    return folders, [source_run(f) for f in folders]


def _record(infos: list[dict[str, Any]], where: str, n: int, count: str) -> dict[str, Any]:
    """What was done, for the metrics / the ``ADAPTATION`` tag: method, source, cells, seeds, counts, no labels."""
    settings = infos[0]["settings"]
    record: dict[str, Any] = {
        "method": "selftrain", "source": SOURCE, "cells": [i["cell"] for i in infos],
        "seeds": [i["seed"] for i in infos],
        "target": where, count: int(n), "pseudo_labels": [i["selftrain_pseudo"] for i in infos],
        "settings": settings if all(i["settings"] == settings for i in infos) else [i["settings"] for i in infos],
        "labels_used": False, "seconds": infos[0]["seconds"],
    }
    if all("selftrain_best_epochs" in i for i in infos):
        record["best_epochs"] = [i["selftrain_best_epochs"] for i in infos]
    return record


def describe(record: dict[str, Any]) -> str:
    """One line for the console: what was self-trained, on how much, with how many pseudo-labels, labels unused."""
    n = record.get("pixels", record.get("samples", 0))
    what = "pixels" if "pixels" in record else "samples"
    seeds = ", ".join(str(s) for s in record["seeds"])
    pseudo = ", ".join(f"{p:,}" for p in record["pseudo_labels"])
    return (f"self-trained {len(record['cells'])} cell(s) (seeds {seeds}) on {n:,} unlabelled {what} (CBST, "
            f"arXiv:1810.07911; pseudo-labels in the last round: {pseudo}) in {record['seconds']:.1f} s; "
            "target labels not used")


def _selftrained(folders: list[Path], runs: list[Any], rows: Any, scratch: Path) -> tuple[list[Path], list[dict]]:
    """Self-train every cell on the target rows into ``scratch/<i>-<cell name>``: the adapted folders and records.

    Each record gets ``seconds``: the wall time of all the cells' self-training (data preparation included).
    """
    from cropglobe.cells.cell import Cell
    from cropglobe.experiment.adapt_cell import selftrain_cells

    t0 = time.perf_counter()
    outs = [scratch / f"{i}-{f.name}" for i, f in enumerate(folders)]
    infos = selftrain_cells([Cell.load(f) for f in folders], runs, rows, outs)
    seconds = round(time.perf_counter() - t0, 1)
    return outs, [{**i, "seconds": seconds} for i in infos]


def predict_selftrained(cell: str | os.PathLike, samples: str | os.PathLike, out: str | os.PathLike,
                        options: PredictOptions, overwrite: bool = False) -> tuple[SamplePredictions, dict[str, Any]]:
    """``cropglobe predict CELL SAMPLES --adapt selftrain``: self-train the cell(s) on SAMPLES, then predict them.

    The cell and each member are self-trained separately on the usable samples' inputs (composited as
    the recipe says, with ``min_clear``; :func:`cropglobe.experiment.adapt_cell.target_inputs`), then
    the adapted ensemble predicts every sample, exactly as ``cropglobe predict`` predicts with the
    cells ``cropglobe study adapt-cell -m selftrain`` writes. The metrics (with labels, scored after
    the prediction) hold the ``adaptation`` record; the scores use the original cell's run (remaps).

    Args:
        cell: A transfer cell folder (``RUN_DIR/cells/<cell>``) or its ``recipe.json``.
        samples: The target's SampleSet Zarr (labels optional; never read for training).
        out: Predictions Parquet (``<stem>.metrics.json`` next to it with labels).
        options: ``cropglobe predict``'s options (:class:`~cropglobe.mapping.predict_table.PredictOptions`):
            ``members`` (other cells of the same inputs, e.g. the other seeds, each self-trained too),
            ``min_clear`` (fewer clear observations in the season window -> not used, not predicted),
            the scores' ``remaps``, the inference ``precision`` and ``block`` (samples predicted at a
            time; the self-training reads the whole set). Its ``adapt`` is ignored (``selftrain``).
        overwrite: Replace ``out`` and its metrics file even when they are not earlier predictions.

    Returns:
        The predictions (written) and the adaptation record.

    Raises:
        CropGlobeError: For any bad input (before any training): outputs, precision, cells, a cell
            outside its transfer run, the samples (fewer than 2 usable).
    """
    from cropglobe.cells.cell import Cell, load_cells
    from cropglobe.checks import whole_number
    from cropglobe.experiment.adapt_cell import target_inputs, training_rows
    from cropglobe.mapping.predict import inference_precision
    from cropglobe.mapping.predict_stream import DEFAULT_BLOCK
    from cropglobe.mapping.predict_table import check_out, open_samples, predict_samples, run_settings, write

    check_out(out, overwrite)
    inference_precision(options.precision)
    block = options.block if options.block is not None else DEFAULT_BLOCK
    whole_number(block, "block", 1)
    folders, runs = _cells(cell, list(options.members))
    first = Cell.load(folders[0])
    run_settings(first.recipe, options.remaps)  # a bad remaps file fails before the training
    full, x, keep = target_inputs(first, samples, options.min_clear, "selftrain")
    ds, labelled = open_samples(samples)  # for the prediction; a bad set failed in target_inputs already
    with tempfile.TemporaryDirectory(prefix="cropglobe-selftrain-") as scratch:
        outs, infos = _selftrained(folders, runs, training_rows(first, full, x, keep), Path(scratch))
        saved = load_cells(list(outs))  # read back; a recipe before format 5 gained its source's classes
        recipe = load_cells(list(folders)).model_copy(update={"source_classes": saved.source_classes})
        adapted = Cell(recipe, saved.load_model())
        plain = dataclasses.replace(options, members=(), adapt="none", block=block)  # the cells hold the ensemble
        result = predict_samples(adapted, ds, labelled, plain, where=str(samples))
    record = _record(infos, str(samples), int(keep.size), "samples")
    if result.metrics is not None:
        result.metrics["adaptation"] = record
    write(result, out, overwrite)
    return result, record


def map_selftrained(model: str | os.PathLike, cube: str | os.PathLike | None, out: str | os.PathLike,
                    options: MapOptions,
                    student: StudentSettings | None = None,
                    source_pixels: bool = False) -> tuple[MapResult | FastMapResult, dict[str, Any]]:
    """``cropglobe map CELL CUBE --adapt selftrain``: self-train the cell(s) on the cube's pixels, then map.

    A first pass reads a spread sample of the cube's tiles (at least ``options.prior_pixels`` pixels,
    :func:`cropglobe.mapping.run.sample_series`, as ``--fast`` and ``--adapt prior`` do) and keeps the
    full-year series of their valid pixels; at most :data:`MAP_PIXELS` of them (a seeded subset) are
    the target each cell (each ``options.members`` cell separately) is self-trained on. The adapted
    cells then map the cube (with ``student``: they are the teacher of the ``--fast`` student). The
    ``ADAPTATION`` tag records the method, its source, the cells and seeds, the pixel counts, the
    pseudo-labels per cell and ``labels_used: false``; ``ENSEMBLE`` / ``TEACHER`` name the original cells.

    Args:
        model: A transfer cell folder or its ``recipe.json``, on a season-window family (median2d, median1d).
        cube: The cube (a STAC fetch is not supported here).
        out: The class COG.
        options: The map's settings (:class:`~cropglobe.mapping.run.MapOptions`); ``adapt`` is ignored.
        student: ``None``: map with the adapted cells; otherwise distil them into this ``--fast`` student
            (:class:`~cropglobe.mapping.student.StudentSettings`) and map with it.
        source_pixels: With a ``student``: distil it on the source samples of the cell's run too
            (``--source-pixels``, :func:`cropglobe.experiment.adapt_cell.source_series`).

    Returns:
        The map's result (:class:`~cropglobe.mapping.fastmap.FastMapResult` with a ``student``) and the
        ``ADAPTATION`` record.

    Raises:
        CropGlobeError: For any bad input (before any training and writing): outputs, no cube, cells,
            a cell outside its transfer run, a cell not on season windows, the cube, no valid pixel.
    """
    from cropglobe.cells.cell import Cell, load_recipe
    from cropglobe.errors import CropGlobeError
    from cropglobe.experiment.adapt_cell import source_series
    from cropglobe.mapping import student as students
    from cropglobe.mapping.fastmap import make_fast_map
    from cropglobe.mapping.predict import check_alignable
    from cropglobe.mapping.run import make_map, prepare, sample_series
    from cropglobe.mapping.write import check_outputs

    out = Path(out)
    fast = student is not None
    check_outputs(out, options.overwrite, options.probabilities and not fast)
    if cube is None:
        raise CropGlobeError("map --adapt selftrain: give an input cube (a STAC fetch with --bbox is not supported "
                             "with --adapt selftrain)")
    opts = dataclasses.replace(options, adapt="none")
    folders, runs = _cells(model, list(opts.members))
    # the cube and the region, before the first pass; a --fast cascade (--defer / --agree) is the student's
    recipe, opened, ctx = prepare(model, cube, dataclasses.replace(opts, defer_margin=0.0, defer_agreement=0.0))
    check_alignable(recipe, "--adapt selftrain")  # the map's pixels give season windows only
    if fast:
        students.check_teacher(recipe)
    series = sample_series(opened, ctx, opts, "cannot self-train (--adapt selftrain)")
    idx = students.subset(len(series), MAP_PIXELS, MAP_SEED)
    first = Cell(recipe)
    rows = series[idx] if first.trains_on_series else first.series_inputs(series[idx])
    with tempfile.TemporaryDirectory(prefix="cropglobe-selftrain-") as scratch:
        outs, infos = _selftrained(folders, runs, rows, Path(scratch))
        record = _record(infos, str(cube), len(idx), "pixels")
        record["pixels_sampled"] = int(len(series))
        tags = (*opts.tags, ("ADAPT", "selftrain"), ("ADAPTATION", json.dumps(record)))
        adapted = dataclasses.replace(opts, members=tuple(str(o) for o in outs[1:]), tags=tags)
        if fast:
            source = source_series(folders[0], recipe.bands) if source_pixels else None
            return make_fast_map(outs[0], opened, out, adapted, student, teacher_cells=[str(f) for f in folders],
                                 source_series=source), record
        if opts.members:  # the original cells' models, not the scratch copies
            models = [str(load_recipe(f).model_path) for f in folders]
            adapted = dataclasses.replace(adapted, tags=(*adapted.tags, ("ENSEMBLE", json.dumps(models))))
        return make_map(outs[0], opened, out, adapted), record
