"""``make_map``: the whole mapping job, from a trained cell and a cube to the map outputs.

All checks on the user's input (recipe, model, cube, CRS, bands, season dates, country) run
before any output is opened, so a bad input raises one :class:`~cropglobe.errors.CropGlobeError`
and writes nothing. The job's settings are two small typed objects: :class:`MapOptions` (tiling,
scheduler, region, nodata rule, decoding, overwrite, adaptation, precision) and, for a cube fetched from
STAC instead of a file, :class:`~cropglobe.mapping.stacinput.StacQuery` (re-exported here):
``make_map(cell, cube_or_query, out, MapOptions(...))``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cropglobe import geography
from cropglobe.checks import positive_finite, whole_number
from cropglobe.errors import CropGlobeError
from cropglobe.features.families import get_feature
from cropglobe.mapping import locate
from cropglobe.mapping.cell import Recipe, load_cells, load_recipe
from cropglobe.mapping.cube import Cube, open_cube
from cropglobe.mapping.predict import BlockContext, Deferral, check_alignable, inference_precision, search_alignment
from cropglobe.mapping.stacinput import StacQuery, fetch_cube
from cropglobe.mapping.tiles import TileJob, dask_client, map_tiles, tile_grid
from cropglobe.mapping.write import MapWriter, check_outputs
from cropglobe.models.ensemble import check_adapt, prior_shift
from cropglobe.temporal import season
from cropglobe.training.settings import Precision


@dataclass(frozen=True)
class MapResult:
    """What a mapping run wrote and how fast it ran."""

    paths: dict[str, Path]
    pixels: int
    nodata_pixels: int
    seconds: float
    country: str
    year: int
    target_prior: dict[str, float] | None = None
    missing_chunks: dict[str, dict[str, Any]] | None = None
    deferred_pixels: int | None = None

    @property
    def pixels_per_second(self) -> float:
        """End-to-end throughput (reading, compositing, features, model, writing)."""
        return self.pixels / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class MapOptions:
    """How a map is made (every field has the CLI's default).

    Attributes:
        tile: Tile size in pixels (one Dask task per tile).
        scheduler: ``None``/``"threads"`` (in-process LocalCluster), ``"processes"``, ``"synchronous"`` or an address.
        workers: Workers of the local cluster (default: CPU count, at most 4).
        country: ISO3 code of the region (default: the country of the nearest GeoNames city).
        year: Season year (default: the year whose aligned season window the dates cover).
        min_clear: Fewer clear observations in the season window -> nodata (default: the recipe's,
            the ``min_clear`` of training; 3 for format-1 recipes).
        block_pixels: Pixels per read/predict block inside a tile (bounds worker memory).
        scale: Factor for raw integer cube values (e.g. ``1e-4``).
        nodata: Raw value meaning missing.
        overwrite: Replace files or folders at the output paths that are not a previous map.
        progress: Show a progress bar over the tiles (on stderr).
        members: Other cells of the same inputs (e.g. the other seeds of the cell): each pixel gets
            the mean probability of all the cells (a seed ensemble).
        adapt: ``"none"``, ``"align"`` (before mapping, find the season window offset / stretch on
            a spread sample of tiles, :func:`estimate_alignment`, and read every pixel's window
            there; recorded in the ``ALIGNMENT`` tag) or ``"prior"``: before mapping, estimate the
            region's class prior by EM
            from the model's probabilities on a spread sample of its pixels (no labels;
            :func:`cropglobe.models.ensemble.prior_shift`; calibrated first when the single cell
            holds a ``calibration.json``, see :func:`estimate_prior`) and re-weight every pixel's
            probabilities by it (a first pass over ``prior_pixels`` pixels).
        prior_pixels: Pixels the prior is estimated on (whole tiles spread over the region; every
            tile when the region is smaller).
        precision: Torch inference, one of :data:`cropglobe.training.settings.INFERENCE_CHOICES`:
            ``"32-true"`` (float32, the default), ``"bf16-mixed"`` (bfloat16 autocast) or ``"auto"``
            (bf16 where the CPU has it); tabular models ignore it
            (:func:`cropglobe.mapping.predict.inference_precision`).
        probabilities: Also write ``<stem>_probabilities.tif``: one float32 band per class of the
            cell (band descriptions = class names; :class:`cropglobe.mapping.write.MapWriter`).
        tags: Extra ``(name, value)`` GeoTIFF tags of the map (e.g. ``TEACHER`` of ``map --fast``).
        defer_to: A cascade's teacher (``map --fast --defer``): its cell and the other cells of its
            seed ensemble, of the model's bands, classes and season window; () for none.
        defer_margin: With ``defer_to``: the pixels whose top class leads the next by less than
            this (in probability, 0-1) are classified by the teacher
            (:func:`cropglobe.mapping.predict.defer`); counted in :attr:`MapResult.deferred_pixels`.
        defer_agreement: ``map --fast --agree``: instead of a fixed ``defer_margin``, the margin is
            chosen on held-out pixels of the region so that the cascade agrees with the teacher on at
            least this share of them (:mod:`cropglobe.mapping.cascade`; 0: not asked). Read by
            :func:`cropglobe.mapping.fastmap.make_fast_map` only.
    """

    tile: int = 256
    scheduler: str | None = None
    workers: int | None = None
    country: str | None = None
    year: int | None = None
    min_clear: int | None = None
    block_pixels: int = 16384
    scale: float | None = None
    nodata: float | None = None
    overwrite: bool = False
    progress: bool = False
    members: tuple[str, ...] = ()
    adapt: str = "none"
    prior_pixels: int = 262_144
    precision: str = Precision.FP32
    probabilities: bool = False
    tags: tuple[tuple[str, str], ...] = ()
    defer_to: tuple[str, ...] = ()
    defer_margin: float = 0.0
    defer_agreement: float = 0.0


def prepare(model: str | os.PathLike, cube: str | os.PathLike | Cube, options: MapOptions | None = None
            ) -> tuple[Recipe, Cube, BlockContext]:
    """Load and cross-check the recipe and the cube; return the context every tile shares.

    Of ``options`` (default :class:`MapOptions` ()) it reads the region (``country``, ``year``), the
    nodata rule (``min_clear``), the decoding (``scale``, ``nodata``), ``members`` (further cells of
    the same inputs whose probabilities are averaged with the model's,
    :func:`cropglobe.mapping.cell.load_cells`) and ``precision`` (torch inference).

    Raises:
        CropGlobeError: For any problem with the inputs (nothing has been written yet).
    """
    opts = options or MapOptions()
    country, year, min_clear, precision = opts.country, opts.year, opts.min_clear, opts.precision
    inference_precision(precision)  # a bad value fails before anything is read
    recipe = load_cells([model, *opts.members])
    cube = cube if isinstance(cube, Cube) else open_cube(cube, scale=opts.scale, nodata=opts.nodata)
    check_feature_options(recipe)
    used = get_feature(recipe.feature).bands(recipe.bands, **recipe.feature_options)  # e.g. 6 bands for harmonic
    missing = [b for b in used if b not in cube.bands]
    if missing:
        raise CropGlobeError(f"{cube.source.path}: bands {cube.bands} do not match the model: "
                             f"{', '.join(missing)} missing; the model ({recipe.path}) needs {used}")
    recipe.load_model()  # fail early on a bad model file
    rows, cols = cube.shape
    lon, lat = locate.lonlat(cube.transform, cube.crs, slice(rows // 2, rows // 2 + 1), slice(cols // 2, cols // 2 + 1))
    if country is None:
        country = locate.country_at(float(lon[0]), float(lat[0]))
    country = geography.country(country).iso3
    min_clear = recipe.composite.min_clear if min_clear is None else whole_number(min_clear, "min_clear", 0)
    year = locate.season_year(cube.times, recipe, country, float(lat[0]), year, cube.bin_days)
    c = recipe.composite
    bins = season.bins_of_window(*season.axis(c.interval), c.window)
    if bins != tuple(recipe.window_bins):
        raise CropGlobeError(
            f"{recipe.path}: window {c.window} at {c.interval} days has bins {list(bins)} but "
            f"the model was trained on {list(recipe.window_bins)}; expected the same interval and window"
        )
    ctx = BlockContext(recipe, cube.times.astype("datetime64[ns]"), country, year, min_clear, cube.simulated,
                       cube.bin_days, cube.source.decoding, tuple(used),
                       precision=inference_precision(precision, recipe.family), defer=deferral(recipe, opts))
    return recipe, cube, ctx


def deferral(recipe: Recipe, opts: MapOptions) -> Deferral | None:
    """The cascade's teacher of ``opts.defer_to`` (:class:`~cropglobe.mapping.predict.Deferral`), or None.

    None without a teacher or at margin 0 (the teacher is then checked but not loaded).

    Raises:
        CropGlobeError: For a margin outside [0, 1], a margin without a teacher, or a teacher whose
            inputs or classes are not the model's (naming the field).
    """
    if opts.defer_agreement:
        raise CropGlobeError(f"defer agreement {opts.defer_agreement}: the margin for an agreement is chosen "
                             "when a student is distilled; expected map --fast with --agree")
    margin = opts.defer_margin
    if not 0.0 <= margin <= 1.0 or (margin > 0 and not opts.defer_to):
        raise CropGlobeError(f"defer margin {margin}: expected a probability margin in [0, 1], with a teacher "
                             "to defer to (map --fast --defer)")
    if not opts.defer_to:
        return None
    teacher = load_cells(list(opts.defer_to))
    for name in ("bands", "classes", "window_bins", "composite"):
        if getattr(teacher, name) != getattr(recipe, name):
            raise CropGlobeError(f"{teacher.path}: cannot back {recipe.path} in a cascade: {name} differ "
                                 f"({getattr(teacher, name)!r} vs {getattr(recipe, name)!r}); expected the "
                                 "teacher the model was distilled from")
    check_alignable(teacher, "defer")
    if teacher.flatten:
        raise CropGlobeError(f"{teacher.path}: cannot back {recipe.path} in a cascade: it flattens its season "
                             "window; expected a teacher on the unflattened median features")
    if margin == 0:  # no pixel has a margin below 0: the student alone, without loading the teacher
        return None
    teacher.load_model()  # fail early on a bad model file
    return Deferral(teacher, float(margin))


def check_feature_options(recipe: Recipe) -> None:
    """Fail with one line when the recipe's feature options do not fit its feature function.

    Raises:
        CropGlobeError: Naming the recipe, the options and the feature (a recipe/model mismatch).
    """
    import inspect

    try:
        inspect.signature(get_feature(recipe.feature).fn).bind(None, **recipe.feature_options)
    except TypeError as err:
        raise CropGlobeError(f"{recipe.path}: feature_options {recipe.feature_options} do not fit feature "
                             f"{recipe.feature!r} ({err}); expected the options the cell was trained with "
                             "(the recipe.json a transfer run wrote)") from None


def input_error(cube: object, bbox: object = None, start: object = None, end: object = None) -> CropGlobeError:
    """The error for a map without one input: neither a cube nor a whole STAC query, or a cube and a bbox."""
    return CropGlobeError(
        "map: give either an input cube or a bbox (W, S, E, N) with start and end dates "
        "(STAC; CLI: --bbox --start --end); "
        f"got input={cube!r}, bbox={bbox!r}, start={start!r}, end={end!r}"
    )


def make_map(model: str | os.PathLike, cube: str | os.PathLike | Cube | StacQuery, out: str | os.PathLike,
             options: MapOptions | None = None) -> MapResult:
    """Map a cube with a trained transfer cell: class COG, confidence COG, PNG quick-look, area CSV.

    Args:
        model: The cell folder (``RUN_DIR/cells/<cell>``) or its ``recipe.json``.
        cube: A Zarr/NetCDF cube or a folder of per-date GeoTIFFs (see :func:`open_cube`), an opened
            cube, or a :class:`StacQuery`: the cube is then fetched from STAC into a temporary Zarr
            store first.
        out: Path of the class COG (``map.tif``); the other outputs are its siblings.
        options: The map's settings (default: :class:`MapOptions` ()).

    Raises:
        CropGlobeError: For bad inputs (before anything is written).
    """
    t0 = time.perf_counter()
    opts = options or MapOptions()
    out = Path(out)
    check_outputs(out, opts.overwrite, opts.probabilities)
    check_adapt(opts.adapt, f"--adapt {opts.adapt}")
    whole_number(opts.prior_pixels, "prior_pixels", 1)
    if opts.scale is not None:
        positive_finite(opts.scale, "scale")
    inference_precision(opts.precision)
    tile_grid((1, 1), opts.tile)  # check the tile size before reading anything
    if cube is None:
        raise input_error(cube)
    if isinstance(cube, StacQuery):
        import tempfile

        bands = load_recipe(model).bands  # a bad model fails before any download
        with tempfile.TemporaryDirectory(prefix="cropglobe-map-") as tmp:
            store = fetch_cube(cube, Path(tmp) / "cube.zarr", bands)
            return _map_cube(model, store, out, opts, t0)
    return _map_cube(model, cube, out, opts, t0)


def _map_cube(model: str | os.PathLike, cube: str | os.PathLike | Cube, out: Path, opts: MapOptions,
              t0: float) -> MapResult:
    """Check the inputs, then map every tile of the cube into the outputs at ``out``."""
    recipe, cube, ctx = prepare(model, cube, opts)
    windows = tile_grid(cube.shape, opts.tile)
    prior = None
    if opts.adapt == "prior":
        calibration = recipe.calibration()
        with dask_client(opts.scheduler, opts.workers) as client:
            prior = estimate_prior(client, cube, ctx, windows, opts, calibration)
        recipe = recipe.with_weights(prior if calibration is None else calibration.prior_weights(prior))
        ctx = dataclasses.replace(ctx, recipe=recipe)
    alignment = None
    if opts.adapt == "align":
        with dask_client(opts.scheduler, opts.workers) as client:
            alignment = estimate_alignment(client, cube, ctx, windows, opts)
        ctx = dataclasses.replace(ctx, window_offsets=(alignment["align_start_days"], alignment["align_end_days"]))
    tags = {"MODEL": recipe.model, "FEATURE": recipe.feature,
            "RECIPE": json.dumps(recipe.model_dump(mode="json", exclude_none=True)),
            "INPUT": str(cube.source.path), "COUNTRY": ctx.country, "SEASON_YEAR": str(ctx.year),
            "MIN_CLEAR": str(ctx.min_clear), "PRECISION": ctx.precision, "SOFTWARE": "cropglobe map"}
    if recipe.trained_on:
        tags["TRAINED_ON"] = json.dumps(list(recipe.trained_on))
    if opts.probabilities:
        ctx = dataclasses.replace(ctx, collect_proba=True)  # tiles return their pixels' probabilities
    if opts.members:
        tags["ENSEMBLE"] = json.dumps([str(recipe.model_path), *map(str, recipe.members)])
    if alignment is not None:
        tags["ADAPT"] = "align"
        tags["ALIGNMENT"] = json.dumps(alignment)
    holes = _missing_chunks(cube)
    if holes:
        tags["MISSING_CHUNKS"] = json.dumps(holes)
    tags.update(dict(opts.tags))
    if prior is not None:
        tags["ADAPT"] = "prior"
        tags["TARGET_PRIOR"] = json.dumps({c: round(float(v), 4) for c, v in zip(recipe.classes, prior, strict=True)})
    deferred = 0
    with dask_client(opts.scheduler, opts.workers) as client, \
            MapWriter(out, cube.shape, cube.transform, cube.crs, recipe.classes, tags, cube.simulated,
                      opts.probabilities) as writer:
        with _tile_progress(len(windows), opts.progress) as advance:
            for res in map_tiles(client, TileJob.of(cube, ctx, opts.block_pixels), windows):
                writer.write(res.rows, res.cols, res.classes, res.confidence,
                             res.proba if opts.probabilities else None)
                deferred += res.deferred
                advance()
    rows, cols = cube.shape
    shares = None if prior is None else {c: round(float(v), 4) for c, v in zip(recipe.classes, prior, strict=True)}
    return MapResult(dict(writer.paths), rows * cols, int(writer.counts[255]), time.perf_counter() - t0,
                     ctx.country, ctx.year, shares, holes or None, deferred if ctx.defer is not None else None)


def _missing_chunks(cube: Cube) -> dict[str, dict[str, Any]]:
    """Chunks missing from a local Zarr cube (they read as the fill value: nodata).

    A missing chunk is not refused: the Zarr format defines it as the fill value and zarr-python 3
    does not write chunks that hold only it (an area outside a swath), so a valid cube may lack
    some. A deleted chunk looks the same, so the count goes into the map's ``MISSING_CHUNKS`` tag and
    :class:`MapResult` (the CLI prints it) instead of passing in silence.
    """
    if cube.source.kind != "dataset" or not Path(cube.source.path).is_dir():
        return {}
    from cropglobe.mapping.zarrwindow import missing_chunks

    return missing_chunks(cube.source.path, [v for v in ("reflectance", "clear", "scl") if v in cube.ds])


def estimate_prior(client: Any, cube: Cube, ctx: BlockContext, windows: list[tuple[slice, slice]],
                   opts: MapOptions, calibration: Any = None) -> np.ndarray:
    """The region's class prior by EM on the model's probabilities over a spread sample of tiles.

    Every ``k``-th tile (``k`` chosen so that the tiles hold at least ``opts.prior_pixels`` pixels)
    is classified with probabilities kept; :func:`cropglobe.models.ensemble.prior_shift` estimates
    the prior the model's (class-balanced) probabilities imply for these pixels, after the cell's
    source-validation ``calibration`` when given (:meth:`cropglobe.mapping.cell.Recipe.calibration`).
    No label is read. The map then multiplies the raw probabilities by
    :meth:`~cropglobe.models.ensemble.Calibration.prior_weights`, which gives every pixel the class
    of the calibrated, re-weighted probabilities (its confidence stays on the model's raw scale).

    Raises:
        CropGlobeError: When no sampled pixel has enough clear observations.
    """
    proba = sampled_tiles(client, cube, dataclasses.replace(ctx, collect_proba=True), windows, opts,
                           "cannot estimate the class prior (--adapt prior)")
    return prior_shift(proba if calibration is None else calibration.apply(proba))[1]


def sample_series(cube: Cube, ctx: BlockContext, opts: MapOptions, purpose: str) -> np.ndarray:
    """The first pass of ``map --fast`` and ``map --adapt selftrain``: series of a spread sample of the region's pixels.

    Every ``k``-th tile (as :func:`estimate_prior`: the tiles hold at least ``opts.prior_pixels``
    pixels) returns the gap-filled full-year series ``(N, B, T)`` of its valid pixels, in the layout
    a study's full-year composite has (:meth:`cropglobe.cells.cell.Cell.series_inputs` reads the
    season window of them). No label is read.

    Args:
        cube: The opened cube (:func:`prepare`).
        ctx: Its block context (:func:`prepare`).
        opts: ``tile``, ``prior_pixels``, ``block_pixels`` and the Dask ``scheduler`` / ``workers``.
        purpose: What fails without a valid pixel, for the error (e.g. ``"cannot distil a student (--fast)"``).

    Raises:
        CropGlobeError: When no sampled pixel has enough clear observations.
    """
    windows = tile_grid(cube.shape, opts.tile)
    with dask_client(opts.scheduler, opts.workers) as client:
        return sampled_tiles(client, cube, dataclasses.replace(ctx, collect_series=True), windows, opts, purpose)


def sampled_tiles(client: Any, cube: Cube, probe: BlockContext, windows: list[tuple[slice, slice]],
                  opts: MapOptions, purpose: str) -> np.ndarray:
    """What every ``k``-th tile returns for ``probe`` (probabilities or series of its valid pixels), joined.

    The first pass of a map that needs a sample of the region before mapping it: ``adapt="prior"``
    (:func:`estimate_prior`), ``adapt="align"`` (:func:`estimate_alignment`) and the ``map --fast``
    student's unlabelled pixels (:func:`cropglobe.mapping.fastmap.make_fast_map`).

    Args:
        client: The Dask client the tiles run on.
        cube: The opened cube.
        probe: The block context, with ``collect_proba`` or ``collect_series`` set (what each tile returns).
        windows: Every tile window of the map, in order; every ``k``-th is read, ``k`` chosen so that the
            sampled tiles hold at least ``opts.prior_pixels`` pixels (all tiles when the region is smaller).
        opts: The map options (``prior_pixels``, ``block_pixels``).
        purpose: What the sample is for, ending the error message.

    Returns:
        The sampled tiles' probabilities (N, C) or full-year series (N, B, T) of their valid pixels, joined.

    Raises:
        CropGlobeError: When no sampled pixel has enough clear observations (``purpose`` says what failed).
    """
    sizes = [(r.stop - r.start) * (c.stop - c.start) for r, c in windows]
    step = max(1, int(sum(sizes) // opts.prior_pixels))
    tiles = map_tiles(client, TileJob.of(cube, probe, opts.block_pixels), windows[::step])
    parts = [got for got in ((res.series if probe.collect_series else res.proba) for res in tiles)
             if got is not None and len(got)]
    if not parts:
        raise CropGlobeError(f"{cube.source.path}: no pixel of the sampled tiles has {probe.min_clear} clear "
                             f"observations in the season window; {purpose}")
    return np.concatenate(parts)


def estimate_alignment(client: Any, cube: Cube, ctx: BlockContext, windows: list[tuple[slice, slice]],
                       opts: MapOptions) -> dict[str, float]:
    """The region's season offset / stretch (:func:`cropglobe.mapping.predict.search_alignment`) on a sample of tiles.

    Every ``k``-th tile (as :func:`estimate_prior`) gives the full-year series of its valid pixels;
    the search reads them and the model's probabilities only (no label).

    Raises:
        CropGlobeError: For a cell whose features are not season windows, or when no sampled pixel
            has enough clear observations.
    """
    recipe = ctx.recipe
    check_alignable(recipe, "--adapt align")  # before the first pass over the tiles
    series = sampled_tiles(client, cube, dataclasses.replace(ctx, collect_series=True), windows, opts,
                            "cannot align the season (--adapt align)")
    return search_alignment(recipe, recipe.load_model(), series, ctx.precision, "--adapt align")


@contextlib.contextmanager
def _tile_progress(total: int, show: bool) -> Iterator[Callable[[], None]]:
    """A rich progress bar over the map's tiles (stderr) when ``show``; yields the advance callback."""
    if not show:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    # in a terminal the bar disappears when done; in logs its final state (n/n tiles) stays
    with Progress(TextColumn("mapping tiles"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=console.is_terminal) as bar:
        task = bar.add_task("tiles", total=total)
        yield lambda: bar.advance(task)
