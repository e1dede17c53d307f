"""``cropglobe map --fast``: distil the teacher on the region's own pixels, then map with the student.

A first pass reads a spread sample of tiles (every ``k``-th tile, as ``--adapt prior`` does) and
keeps the gap-filled full-year series of their valid pixels; the teacher (a cell, or a seed
ensemble of cells given with ``--member``) labels them and their phenology-augmented views with
its probabilities; a student (:mod:`cropglobe.mapping.student`) learns them; the map is then made
by the student alone. No label is read anywhere. The map's tags name the teacher (``TEACHER``:
its cells, their seeds, how the student was distilled and on how many pixels), next to the
student's recipe (``RECIPE``, with ``distilled_from``).

With ``MapOptions.defer_margin`` (``map --fast --defer MARGIN``) the map is a cascade: the pixels
on which the student's top class leads the next by less than the margin are classified by the
teacher itself (:func:`cropglobe.mapping.predict.defer`); the ``TEACHER`` tag records the margin
and the result counts those pixels. With ``MapOptions.defer_agreement`` (``--agree A``) the margin
is chosen on a share of the sampled pixels held out of the distillation, as the smallest at which
the cascade agrees with the teacher on ``A`` of them (:mod:`cropglobe.mapping.cascade`); the tag's
``cascade`` entry records the choice and what it gave there.

With ``source_series`` (``map --fast --source-pixels``) the student also learns the teacher on its
own source samples (unlabelled series the caller reads from the teacher's transfer run): on the real
Canada -> France pair, whose 499 target pixels are too few to distil on alone, that raised the
student's agreement from 0.92-0.96 to 0.96-0.98, and with ``--defer 0.02`` to 0.97-0.98
(docs/results.md, "Fast path on real data", eleventh pass).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cropglobe.cells.cell import Cell
from cropglobe.errors import CropGlobeError
from cropglobe.mapping import cascade
from cropglobe.mapping import student as students
from cropglobe.mapping.cube import Cube
from cropglobe.mapping.predict import recipe_bin_days
from cropglobe.mapping.run import MapOptions, MapResult, make_map, prepare, sample_series
from cropglobe.mapping.write import check_outputs


@dataclasses.dataclass(frozen=True)
class FastMapResult:
    """The student's map and how the student was made.

    Attributes:
        map: The map's result (its ``seconds`` and ``pixels_per_second`` are the student's map alone).
        teacher: The ``TEACHER`` tag's content.
        distil_seconds: The first pass, the teacher's probabilities and the student's fit.
    """

    map: MapResult
    teacher: dict
    distil_seconds: float

    @property
    def seconds(self) -> float:
        """Distillation plus the map."""
        return self.distil_seconds + self.map.seconds


def make_fast_map(model: str | os.PathLike, cube: str | os.PathLike | Cube, out: str | os.PathLike,
                  options: MapOptions | None = None, student: students.StudentSettings | None = None,
                  keep_student: str | os.PathLike | None = None, teacher_cells: Sequence[str] | None = None,
                  source_series: np.ndarray | None = None) -> FastMapResult:
    """Distil ``model`` (with ``members``: the seed ensemble) on the cube's pixels, then map the cube with the student.

    Args:
        model: The teacher's cell folder or recipe.
        cube: A cube file / folder (:func:`cropglobe.mapping.cube.open_cube`) or an opened cube.
        out: Path of the class COG.
        options: The map's settings (:class:`MapOptions`); ``members`` are the teacher's other cells,
            ``prior_pixels`` bounds the pixels of the first pass; ``adapt`` must be ``"none"``;
            ``defer_margin`` > 0 sends the student's unsure pixels to the teacher (``defer_to`` is
            set to the teacher's cells here); ``defer_agreement`` > 0 chooses that margin on held-out
            pixels of the region instead.
        student: How the student is distilled (default :class:`~cropglobe.mapping.student.StudentSettings`).
        keep_student: Write the student's cell folder here too (an internal path the caller checked),
            or None to keep it only for the map.
        teacher_cells: The cell folders the ``TEACHER`` tag names (default: ``model``'s and its
            members'); a teacher adapted into a scratch folder (``map --adapt selftrain --fast``)
            names the cells it was adapted from.
        source_series: Unlabelled full-year series (N, B, T) of the teacher's source samples, in the layout
            of the map's sampled pixels (``map --fast --source-pixels``:
            :func:`cropglobe.experiment.adapt_cell.source_series`), or None. They join the region's
            distillation pixels (not the held-out ones) and the union's seeded subset of at most
            ``max_pixels`` is distilled on: the inputs the teacher was trained on teach the student the
            teacher's function where the region's pixels alone are few (docs/results.md, "Fast path on
            real data", eleventh pass).

    Raises:
        CropGlobeError: For bad inputs (before anything is written), a teacher that is not on median
            features, or a region without a pixel to distil on.
    """
    t0 = time.perf_counter()
    opts = options or MapOptions()
    agree = cascade.check_agreement(opts.defer_agreement) if opts.defer_agreement else 0.0
    if agree and opts.defer_margin:
        raise CropGlobeError(f"--defer {opts.defer_margin} with --agree {agree}: expected one of them (a fixed "
                             "margin, or the margin chosen for an agreement)")
    teacher_of = (str(model), *opts.members)  # the cascade's teacher: the cells distilled
    opts = dataclasses.replace(opts, defer_agreement=0.0, defer_to=teacher_of if opts.defer_margin or agree else ())
    s = (student or students.StudentSettings()).check()
    if opts.adapt != "none":
        raise CropGlobeError(f"--fast with --adapt {opts.adapt}: the student maps without adaptation; "
                             "expected --adapt none")
    out = Path(out)
    check_outputs(out, opts.overwrite)
    recipe, opened, ctx = prepare(model, cube, opts)
    students.check_teacher(recipe)
    series = sample_series(opened, ctx, opts, "cannot distil a student (--fast)")
    wanted = math.ceil(s.max_pixels / (1 - cascade.HOLDOUT_SHARE)) if agree else s.max_pixels
    idx = students.subset(len(series), wanted, s.seed)
    held = None
    if agree:  # pixels the student never sees, to choose the cascade's margin on
        idx, held = cascade.split_holdout(idx, s.seed)
    pool, n_region = series[idx], len(idx)
    if source_series is not None:
        pool, n_region = _with_source(pool, source_series, s)
    model_of_teacher = recipe.load_model()
    inputs = students.views(pool, tuple(recipe.window_bins), recipe_bin_days(recipe), s, s.seed)
    soft = students.teacher_proba(recipe, model_of_teacher, inputs, ctx.precision)
    fitted = students.fit(inputs, soft, s, recipe)
    cells = list(teacher_cells) if teacher_cells is not None else students.teacher_cells(recipe)
    teacher = {"cells": cells, "seeds": _seeds(recipe), "student": s.kind,
               "distillation": s.describe(), "pixels": int(n_region), "inputs": int(len(inputs))}
    if source_series is not None:
        teacher["source_pixels"] = int(len(pool) - n_region)
    with tempfile.TemporaryDirectory(prefix="cropglobe-student-") as tmp:
        cell = students.write(recipe, fitted, Path(keep_student or Path(tmp) / "student"), s, len(pool))
        if held is not None:
            start, count = recipe.window_bins
            windows = np.ascontiguousarray(series[held][..., start:start + count], dtype=np.float32)
            fast = Cell.load(cell, precision=ctx.precision)
            chosen = cascade.calibrate(fast.predict_proba(fast.window_inputs(windows)),
                                       students.teacher_proba(recipe, model_of_teacher, windows, ctx.precision),
                                       agree)
            teacher["cascade"] = chosen.record()
            opts = dataclasses.replace(opts, defer_margin=chosen.margin,
                                       defer_to=opts.defer_to if chosen.margin else ())
        if opts.defer_margin:
            teacher["defer_margin"] = opts.defer_margin
        distil_seconds = time.perf_counter() - t0
        result = make_map(cell, opened, out, dataclasses.replace(
            opts, members=(), adapt="none", tags=(*opts.tags, ("TEACHER", json.dumps(teacher)))))
    return FastMapResult(result, teacher, distil_seconds)


def _with_source(region: np.ndarray, source: np.ndarray, s: students.StudentSettings) -> tuple[np.ndarray, int]:
    """The region's distillation pixels and the source's series: a seeded subset of at most ``s.max_pixels`` of both.

    Returns:
        The subset (the source's pixels first, as ``scripts/fast_path.py`` joins them) and how many of it
        are the region's.

    Raises:
        CropGlobeError: When the source's series are not laid out as the region's (N, bands, full-year bins).
    """
    if source.ndim != 3 or source.shape[1:] != region.shape[1:]:
        raise CropGlobeError(f"source series of shape {source.shape}: expected (N, {region.shape[1]}, "
                             f"{region.shape[2]}), the layout of the map's pixels (bands x full-year bins)")
    union = np.concatenate([np.nan_to_num(source).astype(np.float32), region])
    keep = students.subset(len(union), s.max_pixels, s.seed)
    return union[keep], int((keep >= len(source)).sum())


def _seeds(recipe: object) -> list[int | None]:
    """The seed each teacher cell records in its model options (None where it records none)."""
    from cropglobe.cells.cell import load_recipe

    out: list[int | None] = []
    for cell in students.teacher_cells(recipe):  # type: ignore[arg-type]
        seed = load_recipe(cell).model_options.get("seed")
        out.append(None if seed is None else int(seed))
    if not out:
        raise CropGlobeError("no teacher cell")
    return out
