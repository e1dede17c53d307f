"""``cropglobe data composite``: observations (or coarse composites) -> full-year aligned median composites."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cropglobe.cli._choices import Coverage, value
from cropglobe.cli._groups import command


def register(app: typer.Typer) -> None:
    """Add the ``composite`` command."""

    @command(
        app, "data composite", old="composite",
        epilog="Examples:\n\n  cropglobe data composite sim.zarr --out composite.zarr\n\n"
        "  cropglobe data composite obs.zarr --out comp.zarr --interval 10 --window 04-01:10-31\n\n"
        "  cropglobe data composite dekads.zarr --out comp.zarr --coverage fill --fill-days 30",
    )
    def composite_cmd(
        src: Annotated[
            Path, typer.Argument(help="Input SampleSet (Zarr): observations or dekadal/monthly composites.")
        ],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output Zarr SampleSet (full-year composite).")],
        interval: Annotated[int, typer.Option(help="Bin width in days.")] = 5,
        window: Annotated[str, typer.Option(help="Season window MM-DD:MM-DD on the aligned calendar.")] = "05-01:11-30",
        align: Annotated[
            str, typer.Option(help="'hemisphere', 'none' or a number of days for every sample.")
        ] = "hemisphere",
        offsets: Annotated[
            Path | None, typer.Option(help="YAML {ISO3: days}: per-country shifts replacing --align for them.")
        ] = None,
        clear_threshold: Annotated[float, typer.Option(help="Minimum clear-sky score of a usable observation.")] = 0.75,
        min_clear: Annotated[int, typer.Option(help="Drop samples with fewer clear observations in the window.")] = 3,
        coverage: Annotated[
            Coverage,
            typer.Option(help="Samples whose data do not span the window: 'drop' (counted per country), 'error', "
                              "or 'fill' edge gaps of at most --fill-days (nearest value; longer gaps dropped)."),
        ] = "drop",
        fill_days: Annotated[
            int, typer.Option(help="--coverage fill: the longest edge gap filled, in days of the window.")
        ] = 30,
        overwrite: Annotated[
            bool, typer.Option("--overwrite", help="Replace --out even when it is not a previous cropglobe store.")
        ] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the path written.")] = False,
        verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also cropglobe's log messages.")] = False,
    ) -> None:
        """Median-composite observations into fixed bins, fill gaps, align hemispheres (full year kept)."""
        from cropglobe import samples, verbosity
        from cropglobe.temporal import composite
        from cropglobe.temporal.settings import CompositeSettings

        verbosity.configure(quiet, verbose)

        import contextlib

        from rich.console import Console

        samples.check_output(out, overwrite)
        console = Console(stderr=True)

        def step(text: str) -> contextlib.AbstractContextManager:
            return contextlib.nullcontext() if quiet else console.status(text)

        with step(f"reading {src} ..."):
            ds = samples.load(src)
        with step(f"compositing {ds.sizes['sample']:,} samples x {ds.sizes['time']} steps ..."):
            # unvalidated: composite checks each value itself and names it (offsets may be a YAML file)
            settings = CompositeSettings.model_construct(
                interval=interval, window=window, align=align, clear_threshold=clear_threshold, min_clear=min_clear,
                offsets=offsets, coverage=value(coverage), fill_days=fill_days)
            result = composite.composite(ds, settings)
        with step(f"writing {out} ..."):
            samples.save(result, out, overwrite=overwrite)
        if quiet:
            typer.echo(f"wrote {out}")
            return
        start, count = composite.window_bins(result)
        attrs = result.attrs
        tag = " (SIMULATED DATA)" if attrs.get("simulated") else ""
        typer.echo(f"composited {ds.sizes['sample']} samples{tag}: {result.sizes['time']} bins of {interval} days, "
                   f"window {window} = bins {start}..{start + count - 1} ({count} bins)")
        typer.echo(f"alignment: {attrs['alignment']}")
        if attrs.get("regridded_from"):
            typer.echo(f"re-gridded from {attrs['regridded_from']}")
        for key, why in (("dropped_coverage", "whose data do not cover the window"),
                         ("dropped_min_clear", f"with fewer than {min_clear} clear observations in the window")):
            counts = attrs.get(key) or {}
            if counts:
                per = ", ".join(f"{k} {v}" for k, v in counts.items())
                typer.echo(f"dropped {sum(counts.values())} samples {why} ({per})")
        filled = attrs.get("edge_filled") or {}
        if filled:
            per = ", ".join(f"{k} {v}" for k, v in filled.items())
            typer.echo(f"filled the window edges (at most {fill_days} days) of {sum(filled.values())} samples ({per})")
        typer.echo(
            f"dropped {attrs['dropped_samples']} samples in all, kept {result.sizes['sample']}; mean filled fraction "
            f"{float(result['filled_fraction'].mean()):.3f}"
        )
        typer.echo(f"wrote {out}")
