"""``cropglobe predict`` block by block: memory bounded by a block of samples, not by the SampleSet (issue 29).

:func:`open_samples` opens a SampleSet store lazily (its chunks checked, :func:`cropglobe.features.stream.open_lazy`;
only the per-sample coordinates are read whole). :func:`block_probabilities` runs the per-set code of
:func:`cropglobe.mapping.predict_table.predict_samples` (composite like training, model inputs,
probabilities) on ``block`` samples at a time and joins the rows and probabilities. Every step is
per sample, so the result equals the whole-set run; ``adapt="prior"`` re-weights the joined
probabilities afterwards. A block in which compositing keeps no sample (all cloudy, no window
coverage) is listed as dropped; a set in which no block keeps one raises the first block's error,
as the whole set would.

``adapt="align"`` streams too, always in two passes: :func:`alignment_series` reads the set block by
block and returns the full-year series on which the cell searches the offset / stretch; the second
pass predicts every block read there. A set that spans several blocks and holds more than
``search_samples`` samples (:class:`cropglobe.augment.align.AlignSettings`) is searched on a seeded
sample of that many, drawn from the whole set before compositing; a smaller set, or one that fits one
block, is searched on all of its samples with inputs (the search draws its own subsample from those).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from cropglobe import samples, taxonomy
from cropglobe.cells.cell import Recipe
from cropglobe.cells.inputs import composite_like_training, model_inputs
from cropglobe.errors import CropGlobeError

#: Samples per block of ``cropglobe predict`` (``--block``): ~60 MB of float32 observations at 10 bands x 146 dates.
DEFAULT_BLOCK = 10_000


def open_samples(path: str | os.PathLike) -> tuple[xr.Dataset, np.ndarray]:
    """A SampleSet store opened lazily, with the placeholder label ``other`` where unlabelled: ``(ds, labelled)``.

    The arrays are read (and validated, :func:`cropglobe.samples.validate`) block by block by
    :func:`sample_blocks`; sample ids are checked for duplicates across the whole set here.

    Raises:
        CropGlobeError: For a missing, damaged or unreadable store, or duplicate sample ids.
    """
    from cropglobe.features.stream import open_lazy

    ds = open_lazy(path)
    n = int(ds.sizes["sample"])
    labels = ds["label"].values.astype(str) if "label" in ds.coords else np.full(n, "")
    labelled = np.char.strip(labels) != ""
    ds = ds.assign_coords(label=("sample", np.where(labelled, labels, taxonomy.OTHER)))
    ids = pd.Index(ds["sample_id"].values.astype(str))
    if ids.has_duplicates:
        dup = ", ".join(repr(str(u)) for u in ids[ids.duplicated()].unique()[:5])
        raise CropGlobeError(f"{path}: duplicate sample_id values: {dup}; expected unique ids")
    return ds, labelled


def sample_blocks(ds: xr.Dataset, block: int, where: str) -> Iterator[tuple[int, xr.Dataset]]:
    """``(first sample, block)`` for consecutive blocks of ``block`` samples, each read and validated."""
    if isinstance(block, bool) or not isinstance(block, int) or block < 1:
        raise CropGlobeError(f"block={block!r}: expected a positive whole number of samples")
    n = int(ds.sizes["sample"])
    from cropglobe.features.stream import load_block

    for lo in range(0, n, block):
        part = load_block(ds, lo, min(lo + block, n), where)
        part.attrs["history"] = list(part.attrs.get("history") or [])
        yield lo, samples.validate(part, where=f"{where} samples {lo}:{lo + part.sizes['sample']}")


def block_probabilities(ds: xr.Dataset, recipe: Recipe, predict: Callable[[xr.Dataset, np.ndarray, np.ndarray],
                                                                          np.ndarray],
                        min_clear: int | None, offsets: Mapping[str, int] | None, where: str,
                        block: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities of every sample with inputs, ``block`` samples at a time: ``(rows, proba, composited)``.

    Args:
        ds: The SampleSet (validated in memory when ``block`` is None, else lazy from :func:`open_samples`).
        recipe: The cell.
        predict: ``(full composite, model inputs, kept indices) -> probabilities`` of one block.
        min_clear: Replaces the recipe's ``min_clear``.
        offsets: Per-country offsets of a format-1 recipe.
        where: The samples' name in messages.
        block: Samples per block; None: the whole set in one piece.

    Returns:
        ``rows`` (indices of the predicted samples in ``ds``), ``proba`` (rows x classes, float64)
        and ``composited`` (indices of the samples that compositing kept, predicted or not).

    Raises:
        CropGlobeError: As compositing does; in blocks, a block whose samples are all dropped is
            skipped unless every block is (then the first such error).
    """
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    first_error: CropGlobeError | None = None
    pieces = [(0, ds)] if block is None else sample_blocks(ds, block, where)
    for lo, part in pieces:
        try:
            full = composite_like_training(part, recipe, min_clear, offsets, where)
        except CropGlobeError as err:  # "composite: ..." = no sample of this block kept; anything else is the set's
            if block is None or not str(err).startswith("composite: ") or recipe.composite.coverage == "error":
                raise
            first_error = first_error or err
            continue
        x, keep = model_inputs(full, recipe)
        proba = np.zeros((0, len(recipe.classes)), dtype=np.float64)
        if keep.size:
            proba = np.asarray(predict(full, x, keep), dtype=np.float64)
        if proba.shape != (keep.size, len(recipe.classes)):
            raise CropGlobeError(f"{recipe.model_path}: the model gives {proba.shape[-1]} probabilities per sample; "
                                 f"its recipe names {len(recipe.classes)} classes")
        composited = lo + pd.Index(part["sample_id"].values.astype(str)).get_indexer(
            full["sample_id"].values.astype(str))
        parts.append((composited[keep], proba, composited))
    if not parts and first_error is not None:
        raise first_error
    rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    proba = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, len(recipe.classes)))
    composited = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    return rows, proba, composited


def series_of(full: xr.Dataset, keep: np.ndarray) -> np.ndarray:
    """The full-year series ``(N, B, T)`` float32 of a composite's kept samples (gaps as 0), as align reads them."""
    return np.nan_to_num(full["reflectance"].values[keep]).astype(np.float32)


def alignment_series(ds: xr.Dataset, recipe: Recipe, min_clear: int | None, offsets: Mapping[str, int] | None,
                     where: str, block: int | None, size: int, seed: int) -> np.ndarray:
    """Full-year series of a seeded sample of the set's samples for the align search, read ``block`` at a time.

    Args:
        ds: The lazy SampleSet (:func:`open_samples`).
        recipe: The cell.
        min_clear: Replaces the recipe's ``min_clear``.
        offsets: Per-country offsets of a format-1 recipe.
        where: The samples' name in messages.
        block: Samples read and composited at a time (None: the in-memory set at once).
        size: Samples drawn when the set spans several blocks (all of them when the set has no more
            than ``size`` samples or fits one block: then the search draws from the samples with inputs).
        seed: Seed of the draw.

    Returns:
        The series of the drawn samples that have model inputs, in set order: at most ``max(size,
        block)`` x bands x bins, whatever the set's size.

    Raises:
        CropGlobeError: As :func:`block_probabilities` (no drawn sample kept by compositing).
    """
    n = int(ds.sizes["sample"])
    whole = block is None or n <= max(size, block)
    drawn = ds if whole else ds.isel(sample=np.sort(np.random.default_rng(seed).choice(n, size, replace=False)))
    found: list[np.ndarray] = []

    def collect(full: xr.Dataset, x: np.ndarray, keep: np.ndarray) -> np.ndarray:
        found.append(series_of(full, keep))
        return np.zeros((keep.size, len(recipe.classes)))

    block_probabilities(drawn, recipe, collect, min_clear, offsets, where, block)
    return np.concatenate(found) if found else np.zeros((0, len(recipe.bands), 0), dtype=np.float32)


def predict_measured(cell: str, src: str, out: str, block: int = DEFAULT_BLOCK) -> dict[str, float | int | bool]:
    """``cropglobe predict`` (:func:`cropglobe.mapping.predict_table.predict_file`) plus its wall and CPU time and
    this process's peak memory (run it in a fresh process: ``benchmarks/bench_predict.py``)."""
    import time

    from cropglobe.features.stream import peak_rss_gb
    from cropglobe.mapping.predict_table import PredictOptions, predict_file

    t0, cpu = time.perf_counter(), time.process_time()
    res = predict_file(cell, src, out, PredictOptions(remaps="none", block=block), overwrite=True)
    return {"samples": len(res.table), "predicted": len(res.table) - res.n_dropped,
            "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - cpu,
            "peak_rss_gb": peak_rss_gb(), "simulated": res.simulated}
