"""A SampleSet turned into a cell's model inputs exactly as training did (``cropglobe predict``, ``adapt-cell``).

:func:`load_samples` reads a SampleSet that may lack labels; :func:`composite_like_training`
composites it with the recipe's settings (:class:`cropglobe.temporal.settings.CompositeSettings`; a
set already composited on the recipe's aligned calendar is used as it is); :func:`model_inputs`
reads the recipe's season-window bins and feature family (:meth:`cropglobe.cells.cell.Cell.inputs`,
the map's own code). :mod:`cropglobe.mapping.predict_table` re-exports them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from cropglobe import samples, taxonomy
from cropglobe.cells.cell import Cell, Recipe
from cropglobe.checks import whole_number
from cropglobe.errors import CropGlobeError
from cropglobe.features import families as features
from cropglobe.temporal import composite, season
from cropglobe.temporal.settings import CompositeSettings
from cropglobe.zarrcheck import read_error


def load_samples(path: str | os.PathLike) -> tuple[xr.Dataset, np.ndarray]:
    """Read a SampleSet Zarr that may lack labels: ``(dataset, labelled (N,) bool)``.

    A missing ``label`` coordinate or empty label values mark unlabelled samples; they get the
    placeholder ``other`` so that :func:`cropglobe.samples.validate` checks everything else.

    Raises:
        CropGlobeError: For a missing or unreadable store, or one failing validation.
    """
    p = Path(path)
    if not p.exists():
        raise CropGlobeError(f"{p}: no such SampleSet (expected a Zarr folder written by cropglobe)")
    try:
        ds = xr.open_dataset(p, engine="zarr", chunks=None, consolidated=None).load()
    except Exception as err:  # any reader failure is a bad input here (a chunk failing its checksum: named)
        raise read_error(p, err, "a Zarr SampleSet") from None
    n = int(ds.sizes.get("sample", 0))
    labels = ds["label"].values.astype(str) if "label" in ds.coords else np.full(n, "")
    labelled = np.char.strip(labels) != ""
    ds = ds.assign_coords(label=("sample", np.where(labelled, labels, taxonomy.OTHER)))
    ds.attrs["history"] = list(ds.attrs.get("history") or [])
    return samples.validate(ds, where=str(p)), labelled


def composite_like_training(ds: xr.Dataset, recipe: Recipe, min_clear: int | None = None,
                            offsets: Mapping[str, int] | None = None, where: str = "samples") -> xr.Dataset:
    """The full-year composite of a SampleSet with the recipe's settings (only the recipe's bands).

    ``min_clear`` (default: the recipe's) replaces the recorded value; ``offsets`` are used only
    for a format-1 recipe, which did not record them (the run's config held them).

    Raises:
        CropGlobeError: For a band the feature family reads that the set lacks (naming it), a set
            composited on another calendar, or any compositing error (window outside the dates,
            no sample with ``min_clear`` clear observations ...).
    """
    c = recipe.composite
    if min_clear is not None or (offsets and recipe.format_version == 1):
        c = c.model_copy(
            update={
                "min_clear": c.min_clear if min_clear is None else whole_number(min_clear, "min_clear"),
                "offsets": offsets if recipe.format_version == 1 else c.offsets,
            }
        )
    needed = features.get_feature(recipe.feature).bands(recipe.bands, **recipe.feature_options)
    present = [str(b) for b in ds["band"].values]
    missing = [b for b in needed if b not in present]
    if missing:
        raise CropGlobeError(f"{where}: band{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing "
                             f"(the SampleSet has {', '.join(present)}); the model ({recipe.path}) needs "
                             f"{', '.join(needed)}")
    ds = ds.sel(band=[b for b in recipe.bands if b in present])  # all of them: exactly the training composite
    if np.issubdtype(ds["time"].dtype, np.datetime64):
        return composite.composite(ds, c)
    bin_start, _ = season.axis(c.interval)
    t = ds["time"].values
    if not (t.size == bin_start.size and np.array_equal(t, bin_start)):
        raise CropGlobeError(f"{where}: composited on {t.size} day-of-year bins; the model ({recipe.path}) needs "
                             f"the aligned {c.interval}-day calendar ({bin_start.size} bins): pass the "
                             "observation-level or dated coarse set instead, or composite it with "
                             f"interval={c.interval}, window={c.window}, align={c.align}")
    made = CompositeSettings.from_attrs(ds.attrs, where)
    if not made.same_calendar(c):
        raise CropGlobeError(f"{where}: composited with alignment {ds.attrs.get('alignment')!r}; the model "
                             f"({recipe.path}) was trained on align={c.align!r}"
                             + (f" with per-country offsets {c.offsets}" if c.offsets else ""))
    return ds


def model_inputs(full: xr.Dataset, recipe: Recipe) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs of the composited samples that have every band filled: ``(x, keep)`` (:meth:`.Cell.inputs`).

    ``keep`` indexes ``full``'s samples; the others hold a band without any clear observation.
    """
    return Cell(recipe).inputs(full)
