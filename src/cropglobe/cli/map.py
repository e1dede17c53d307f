"""``cropglobe map MODEL INPUT --out map.tif``: wall-to-wall crop map of a raster cube, on Dask.

Without INPUT, ``--bbox W,S,E,N --start --end --stac URL_or_catalog`` fetches the cube from STAC first.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cropglobe.cli._choices import FastStudent, InferencePrecision, PredictAdaptation, value

if TYPE_CHECKING:
    import numpy as np

    from cropglobe.mapping.fastmap import FastMapResult
    from cropglobe.mapping.run import MapOptions
    from cropglobe.mapping.student import StudentSettings


def register(app: typer.Typer) -> None:
    """Add the ``map`` command."""

    @app.command("map")
    def map_cmd(
        model: Annotated[Path, typer.Argument(help="Transfer cell folder (RUN_DIR/cells/<cell>) or its recipe.json.")],
        input: Annotated[
            Path | None,
            typer.Argument(
                help="Zarr/NetCDF cube (time, band, y, x + CRS; optional "
                "bin_days for a pre-composited cube), an openEO / WorldCereal "
                "NetCDF/Zarr (one variable per band, t, y, x; monthly or "
                "dekadal composites) or a folder of per-date GeoTIFFs; omit "
                "it to fetch --bbox from STAC."
            ),
        ] = None,
        out: Annotated[
            Path,
            typer.Option("--out", "-o", help="Class COG; _confidence.tif, .png, _areas.csv are written next to it."),
        ] = Path("map.tif"),
        tile: Annotated[int, typer.Option(help="Tile size in pixels (one Dask task per tile).")] = 256,
        scheduler: Annotated[
            str | None,
            typer.Option(
                help="Dask scheduler address (tcp://host:8786), 'processes' or "
                "'synchronous'; default: an in-process LocalCluster "
                "(threads)."
            ),
        ] = None,
        workers: Annotated[int | None, typer.Option(help="LocalCluster workers.")] = None,
        country: Annotated[str | None, typer.Option(help="ISO3 of the region (default: from its location).")] = None,
        year: Annotated[int | None, typer.Option(help="Season year (default: from the dates).")] = None,
        min_clear: Annotated[
            int | None,
            typer.Option(
                help="Fewer clear observations in the season -> nodata (default: the cell's training setting)."
            ),
        ] = None,
        scale: Annotated[
            float | None,
            typer.Option(help="Factor for integer values, e.g. 1e-4 (default: the cube's CF scale_factor)."),
        ] = None,
        nodata: Annotated[
            float | None, typer.Option(help="Raw value meaning missing (default: the cube's _FillValue).")
        ] = None,
        bbox: Annotated[str | None, typer.Option(help="W,S,E,N in degrees: fetch the cube from STAC.")] = None,
        start: Annotated[str | None, typer.Option(help="First date to fetch (YYYY-MM-DD).")] = None,
        end: Annotated[str | None, typer.Option(help="Last date to fetch (YYYY-MM-DD).")] = None,
        stac: Annotated[
            str, typer.Option(help="STAC API URL, earth-search / planetary-computer, or a static catalog path/URL.")
        ] = "earth-search",
        collection: Annotated[str, typer.Option(help="STAC collection (L2A with SCL).")] = "sentinel-2-l2a",
        resolution: Annotated[float, typer.Option(help="Pixel size (metres) of the fetched cube.")] = 10.0,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace files or folders at the output paths "
                                                                  "that are not a previous map.")] = False,
        precision: Annotated[InferencePrecision, typer.Option(
            help="Torch models' inference: 32-true (float32, the classes of training's evaluation), bf16-mixed "
                 "(bfloat16 autocast: faster on AMX/AVX512-BF16 CPUs, near-ties may flip) or auto (bf16 where the "
                 "CPU has it); tabular models ignore it.")] = "32-true",
        probabilities: Annotated[bool, typer.Option(
            "--probabilities", help="Also write <stem>_probabilities.tif: one band per class of the cell "
                                    "(band descriptions = class names).")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
        member: Annotated[list[str] | None, typer.Option(
            "--member", help="Another cell of the same inputs (e.g. another seed); repeat it. Each pixel gets the "
                             "mean probability of all the cells (a seed ensemble).")] = None,
        adapt: Annotated[PredictAdaptation, typer.Option(
            help="'prior': estimate the region's class prior by EM from the "
                                                  "model's probabilities on a sample of its pixels (no labels) and "
                                                  "re-weight every pixel by it (an extra pass); 'align': find the "
                                                  "season window's offset / stretch on a sample of its pixels "
                                                  "(median features; recorded in the ALIGNMENT tag); 'selftrain': "
                                                  "self-train the cell and each --member (CBST, minutes per cell) "
                                                  "on a sample of its pixels (no labels; needs the cell's transfer "
                                                  "run and its data), then map with them (recorded in the "
                                                  "ADAPTATION tag); 'none'.")] = PredictAdaptation.NONE,
        fast: Annotated[bool, typer.Option("--fast", help="Distil the cell (with its --member cells: the teacher "
                                                          "ensemble) into a small TempCNN (or --student) on a sample "
                                                          "of this region's pixels (no labels), then map with the "
                                                          "student: several "
                                                          "times faster; the TEACHER tag names the cells and "
                                                          "seeds. With --adapt selftrain the self-trained cells "
                                                          "are the teacher.")] = False,
        student: Annotated[FastStudent | None, typer.Option(
            help="The --fast student: tempcnn (the default: the closer to its teacher) or mlp (the faster, "
                 "about 1.3x; docs/results.md, 'Fast path on real data').",
            show_default=False)] = None,
        defer: Annotated[float, typer.Option(
            "--defer", metavar="MARGIN",
            help="With --fast: a cascade. Pixels on which the student's top class leads the next by less than "
                 "MARGIN (probability, 0-1) are classified by the teacher itself; 0: the student alone. "
                 "Recorded in the TEACHER tag; the count is printed (docs/results.md, 'Fast path on real "
                 "data').")] = 0.0,
        agree: Annotated[float, typer.Option(
            "--agree", metavar="SHARE",
            help="With --fast, instead of --defer: choose the cascade's margin for this region. A fifth of the "
                 "sampled pixels is held out of the distillation, and the margin is the smallest at which the "
                 "map agrees with the teacher on SHARE of them (e.g. 0.97); no label is read. Recorded in the "
                 "TEACHER tag.")] = 0.0,
        source_pixels: Annotated[bool, typer.Option(
            "--source-pixels",
            help="With --fast: also distil on the teacher's source samples (their series, no labels, read from "
                 "the cell's transfer run and its data) next to this region's pixels: the more faithful student "
                 "where the region's own sample is small (docs/results.md, 'Fast path on real data').")] = False,
    ) -> None:
        """Predict a cube with a trained cell: class + confidence COGs (+ probabilities), PNGs, hectares per class."""
        from rich.console import Console

        from cropglobe.errors import CropGlobeError
        from cropglobe.mapping import MapOptions, StacQuery, make_map
        from cropglobe.mapping.student import DEFAULT_STUDENT, preset

        if student is not None and not fast:
            raise CropGlobeError(f"map --student {value(student)}: the student is distilled by --fast; "
                                 "expected --fast with --student")
        for flag, given in (("--defer", defer), ("--agree", agree)):
            if given and not fast:
                raise CropGlobeError(f"map {flag} {given}: the cascade backs a --fast student with its teacher; "
                                     f"expected --fast with {flag}")
        if source_pixels and not fast:
            raise CropGlobeError("map --source-pixels: the source's samples join the distillation of a --fast "
                                 "student; expected --fast with --source-pixels")
        settings = preset(str(value(student)) if student is not None else DEFAULT_STUDENT)
        options = MapOptions(tile=tile, scheduler=scheduler, workers=workers, country=country, year=year,
                             min_clear=min_clear, scale=scale, nodata=nodata, overwrite=overwrite,
                             progress=not quiet, members=tuple(member or ()), adapt=adapt.value,
                             precision=str(value(precision)), probabilities=probabilities, defer_margin=defer,
                             defer_agreement=agree)
        if adapt == PredictAdaptation.SELFTRAIN:
            _selftrain(model, input if input is None else _cube(input, bbox, start, end), out, options,
                       settings if fast else None, source_pixels)
            return
        if fast:  # the student's map has no probabilities file (as before the typed options)
            _fast(model, input, out, dataclasses.replace(options, probabilities=False), settings, source_pixels)
            return
        cube = _cube(input, bbox, start, end)
        source = cube if cube is not None else StacQuery(str(bbox), str(start), str(end), stac, collection, resolution)
        result = make_map(model, source, out, options)
        console = Console()
        console.print(f"mapped {result.pixels:,} pixels ({result.nodata_pixels:,} nodata) in {result.seconds:.1f} s "
                      f"({result.pixels_per_second:,.0f} px/s); country {result.country}, season {result.year}")
        for name, h in (result.missing_chunks or {}).items():
            Console(stderr=True).print(
                f"[bold yellow]warning:[/] {h['missing']} of {h['of']} chunks of {name!r} are missing from the cube "
                f"(e.g. {', '.join(h['first'])}); their pixels are read as the fill value and mapped as nodata "
                "(counted in the map's MISSING_CHUNKS tag)", highlight=False, soft_wrap=True)
        if member:
            console.print(f"  seed ensemble of {1 + len(member)} cells (mean probability)")
        if result.target_prior is not None:
            shares = ", ".join(f"{c} {v:.3f}" for c, v in result.target_prior.items() if v >= 0.0005)
            console.print(f"  class prior of the region (EM, no labels): {shares}")
        for kind, path in result.paths.items():
            console.print(f"  {kind:<10} {path}")


def _cube(cube: Path | None, bbox: str | None, start: str | None, end: str | None) -> Path | None:
    """The INPUT cube, or None when ``--bbox --start --end`` ask for a STAC fetch instead.

    Raises:
        CropGlobeError: Without an INPUT and a whole query (bbox, start and end), or with both an INPUT and --bbox.
    """
    from cropglobe.mapping.run import input_error

    if cube is None and None not in (bbox, start, end):
        return None
    if cube is None or bbox is not None:
        raise input_error(cube, bbox, start, end)
    return cube


def _selftrain(model: Path, cube: Path | None, out: Path, options: MapOptions,
               student: StudentSettings | None, source_pixels: bool = False) -> None:
    """``--adapt selftrain``: self-train the cells on the region's pixels, map with them (or their ``student``)."""
    from rich.console import Console

    from cropglobe.cli._selftrain import describe, map_selftrained
    from cropglobe.mapping.fastmap import FastMapResult

    if student is not None:  # the student's map has no probabilities file (as --fast alone)
        options = dataclasses.replace(options, probabilities=False)
    result, record = map_selftrained(model, cube, out, options, student, source_pixels)
    console = Console()
    console.print(describe(record), soft_wrap=True, highlight=False)
    if isinstance(result, FastMapResult):
        _print_fast(result)
    else:
        console.print(f"mapped {result.pixels:,} pixels ({result.nodata_pixels:,} nodata) with the self-trained "
                      f"cell(s) in {result.seconds:.1f} s ({result.pixels_per_second:,.0f} px/s); country "
                      f"{result.country}, season {result.year}")
        for kind, path in result.paths.items():
            console.print(f"  {kind:<10} {path}")
    console.print(f"  ADAPTATION tag: {json.dumps(record)}", soft_wrap=True, highlight=False)


def _fast(model: Path, cube: Path | None, out: Path, options: MapOptions, student: StudentSettings,
          source_pixels: bool = False) -> None:
    """``--fast``: distil ``student`` on the region's pixels (and the source's), map with it, print what was done."""
    from cropglobe.errors import CropGlobeError
    from cropglobe.mapping.fastmap import make_fast_map

    if cube is None:
        raise CropGlobeError("map --fast: give an input cube (a STAC fetch with --bbox is not supported with --fast)")
    source = _source_series(model) if source_pixels else None
    _print_fast(make_fast_map(model, cube, out, options, student, source_series=source))


def _source_series(model: Path) -> np.ndarray:
    """``--source-pixels``: the unlabelled series of the teacher cell's source samples (its transfer run's data).

    The orchestration of two floors (``experiment/`` reads the run, ``mapping/`` distils), as
    :mod:`cropglobe.cli._selftrain` does for ``--adapt selftrain``.
    """
    from cropglobe.cells.cell import load_recipe
    from cropglobe.experiment.adapt_cell import source_series

    recipe = load_recipe(model)
    return source_series(recipe.path.parent, recipe.bands)


def _print_fast(res: FastMapResult) -> None:
    """What ``--fast`` did: the teacher, the student, the map."""
    from rich.console import Console

    t = res.teacher
    console = Console()
    source = f" and {t['source_pixels']:,} of the teacher's source samples" if "source_pixels" in t else ""
    console.print(f"distilled a {t['student']} student from {len(t['cells'])} teacher cell(s) (seeds "
                  f"{', '.join(str(s) for s in t['seeds'])}) on {t['pixels']:,} unlabelled pixels{source} in "
                  f"{res.distil_seconds:.1f} s")
    m = res.map
    console.print(f"mapped {m.pixels:,} pixels ({m.nodata_pixels:,} nodata) with the student in {m.seconds:.1f} s "
                  f"({m.pixels_per_second:,.0f} px/s); country {m.country}, season {m.year}")
    if "cascade" in t:
        c = t["cascade"]
        console.print(f"  cascade margin {c['margin']} chosen for agreement {c['agreement_wanted']} on "
                      f"{c['pixels']:,} held-out pixels: the student alone agreed on {c['student_agreement']:.3f}, "
                      f"the cascade on {c['agreement']:.3f} ({c['deferred_share']:.1%} deferred)")
    if m.deferred_pixels is not None:
        mapped = max(1, m.pixels - m.nodata_pixels)
        console.print(f"  cascade: the teacher classified {m.deferred_pixels:,} pixels "
                      f"({m.deferred_pixels / mapped:.1%} of the mapped pixels; student margin < "
                      f"{t['defer_margin']})")
    for kind, path in m.paths.items():
        console.print(f"  {kind:<10} {path}")
