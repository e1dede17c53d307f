"""``make_map``: the whole mapping job, from a trained cell and a cube to the map outputs.

All checks on the user's input (recipe, model, cube, CRS, bands, season dates, country) run
before any output is opened, so a bad input raises one :class:`~cropglobe.errors.CropGlobeError`
and writes nothing.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cropglobe import geography, season
from cropglobe.errors import CropGlobeError
from cropglobe.mapping import locate
from cropglobe.mapping.cube import Cube, open_cube
from cropglobe.mapping.predict import BlockContext
from cropglobe.mapping.recipe import Recipe, load_recipe
from cropglobe.mapping.tiles import dask_client, map_tiles, tile_grid
from cropglobe.mapping.write import MapWriter, check_outputs


@dataclass(frozen=True)
class MapResult:
    """What a mapping run wrote and how fast it ran."""

    paths: dict[str, Path]
    pixels: int
    nodata_pixels: int
    seconds: float
    country: str
    year: int

    @property
    def pixels_per_second(self) -> float:
        """End-to-end throughput (reading, compositing, features, model, writing)."""
        return self.pixels / self.seconds if self.seconds > 0 else float("inf")


def prepare(model: str | os.PathLike, cube: str | os.PathLike | Cube, country: str | None = None,
            year: int | None = None, min_clear: int = 3, scale: float | None = None,
            nodata: float | None = None) -> tuple[Recipe, Cube, BlockContext]:
    """Load and cross-check the recipe and the cube; return the context every tile shares.

    Raises:
        CropGlobeError: For any problem with the inputs (nothing has been written yet).
    """
    from cropglobe.features import get_feature

    recipe = load_recipe(model)
    cube = cube if isinstance(cube, Cube) else open_cube(cube, scale=scale, nodata=nodata)
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
    if isinstance(min_clear, bool) or not isinstance(min_clear, (int, np.integer)) or min_clear < 1:
        raise CropGlobeError(f"--min-clear {min_clear!r}: expected a whole number >= 1")
    year = locate.season_year(cube.times, recipe, country, float(lat[0]), year, cube.bin_days)
    c = recipe.composite
    bins = season.bins_of_window(*season.axis(int(c["interval"])), str(c["window"]))
    if bins != tuple(recipe.window_bins):
        raise CropGlobeError(f"{recipe.path}: window {c['window']} at {c['interval']} days has bins {list(bins)} but "
                             f"the model was trained on {list(recipe.window_bins)}; expected the same interval and window")
    ctx = BlockContext(recipe, cube.times.astype("datetime64[ns]"), country, year, int(min_clear), cube.simulated,
                       cube.bin_days, cube.source.decoding, tuple(used))
    return recipe, cube, ctx


def check_feature_options(recipe: Recipe) -> None:
    """Fail with one line when the recipe's feature options do not fit its feature function.

    Raises:
        CropGlobeError: Naming the recipe, the options and the feature (a recipe/model mismatch).
    """
    import inspect

    from cropglobe.features import get_feature

    try:
        inspect.signature(get_feature(recipe.feature).fn).bind(None, **recipe.feature_options)
    except TypeError as err:
        raise CropGlobeError(f"{recipe.path}: feature_options {recipe.feature_options} do not fit feature "
                             f"{recipe.feature!r} ({err}); expected the options the cell was trained with "
                             "(the recipe.json a transfer run wrote)") from None


def make_map(model: str | os.PathLike, cube: str | os.PathLike | Cube | None, out: str | os.PathLike, tile: int = 256,
             scheduler: str | None = None, workers: int | None = None, country: str | None = None,
             year: int | None = None, min_clear: int = 3, block_pixels: int = 16384, scale: float | None = None,
             nodata: float | None = None, bbox: str | tuple[float, float, float, float] | None = None,
             start: str | None = None, end: str | None = None, stac: str = "earth-search",
             collection: str = "sentinel-2-l2a", resolution: float = 10.0, overwrite: bool = False) -> MapResult:
    """Map a cube with a trained transfer cell: class COG, confidence COG, PNG quick-look, area CSV.

    Args:
        model: The cell folder (``RUN_DIR/cells/<cell>``) or its ``recipe.json``.
        cube: A Zarr/NetCDF cube or a folder of per-date GeoTIFFs (see :func:`open_cube`), an opened
            cube, or None with ``bbox``/``start``/``end``: the cube is then fetched from STAC
            (:func:`cropglobe.mapping.stacinput.fetch_cube`) into a temporary Zarr store first.
        out: Path of the class COG (``map.tif``); the other outputs are its siblings.
        tile: Tile size in pixels (one Dask task per tile).
        scheduler: ``None``/``"threads"`` (in-process LocalCluster), ``"processes"``, ``"synchronous"`` or an address.
        workers: Workers of the local cluster (default: CPU count, at most 4).
        country: ISO3 code of the region (default: the country of the nearest GeoNames city).
        year: Season year (default: the year whose aligned season window the dates cover).
        min_clear: Fewer clear observations in the season window -> nodata.
        block_pixels: Pixels per read/predict block inside a tile (bounds worker memory).
        scale: Factor for raw integer cube values (e.g. ``1e-4``).
        nodata: Raw value meaning missing.
        bbox: ``W,S,E,N`` (degrees) of the region to fetch from STAC (instead of ``cube``).
        start: First date to fetch (YYYY-MM-DD).
        end: Last date to fetch.
        stac: STAC API URL, named endpoint or static catalog path/URL.
        collection: STAC collection (Sentinel-2 L2A with an SCL asset).
        resolution: Pixel size in metres of the fetched cube.
        overwrite: Replace files or folders at the output paths that are not a previous map.

    Raises:
        CropGlobeError: For bad inputs (before anything is written).
    """
    t0 = time.perf_counter()
    out = Path(out)
    if out.suffix.lower() not in (".tif", ".tiff"):
        raise CropGlobeError(f"--out {out}: expected a GeoTIFF path ending in .tif")
    check_outputs(out, overwrite)
    tile_grid((1, 1), tile)  # check the tile size before reading anything
    if (cube is None) == (bbox is None) or (bbox is not None and (start is None or end is None)):
        raise CropGlobeError("map: give either an input cube or --bbox W,S,E,N with --start and --end (STAC); "
                             f"got input={cube!r}, bbox={bbox!r}, start={start!r}, end={end!r}")
    if bbox is not None:
        import tempfile

        from cropglobe.mapping.stacinput import fetch_cube

        load_recipe(model)  # a bad model fails before any download
        with tempfile.TemporaryDirectory(prefix="cropglobe-map-") as tmp:
            store = fetch_cube(bbox, str(start), str(end), stac, Path(tmp) / "cube.zarr", collection,
                               load_recipe(model).bands, resolution)
            return make_map(model, store, out, tile, scheduler, workers, country, year, min_clear, block_pixels,
                            scale, nodata, overwrite=overwrite)
    recipe, cube, ctx = prepare(model, cube, country, year, min_clear, scale, nodata)
    windows = tile_grid(cube.shape, tile)
    tags = {"MODEL": recipe.model, "FEATURE": recipe.feature, "RECIPE": json.dumps(recipe.raw),
            "INPUT": str(cube.source.path), "COUNTRY": ctx.country, "SEASON_YEAR": str(ctx.year),
            "MIN_CLEAR": str(ctx.min_clear), "SOFTWARE": "cropglobe map"}
    with dask_client(scheduler, workers) as client, \
            MapWriter(out, cube.shape, cube.transform, cube.crs, recipe.classes, tags, cube.simulated) as writer:
        for res in map_tiles(client, cube.source, ctx, cube.transform, cube.crs, windows, block_pixels):
            writer.write(res.rows, res.cols, res.classes, res.confidence)
    rows, cols = cube.shape
    return MapResult(dict(writer.paths), rows * cols, int(writer.counts[255]), time.perf_counter() - t0,
                     ctx.country, ctx.year)
