"""``cropglobe data features SRC --out FEATURES.zarr``: composite and compute feature families block by block.

The command line of :func:`cropglobe.features.stream.stream`: the observation store is opened lazily and
read ``--block`` samples at a time, so memory depends on the block, not on the set's size (a
300,000-sample set fits in well under 1 GB). The compositing options are those of
``cropglobe data composite``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer

from cropglobe.cli._choices import Coverage, FeatureFamily, value
from cropglobe.cli._groups import command


def register(app: typer.Typer) -> None:
    """Add the ``features`` command."""

    @command(app, "data features", old="features",
             epilog="Examples:\n\n  cropglobe data features obs.zarr --out features.zarr\n\n"
                    "  cropglobe data features obs.zarr --out f.zarr --family harmonic --block 50000")
    def features_cmd(
        src: Annotated[Path, typer.Argument(help="Input SampleSet (Zarr): observations or dekadal/monthly "
                                                 "composites; read block by block.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output Zarr feature store: one variable per family "
                                                             "(season window), per-sample coords.")],
        family: Annotated[list[FeatureFamily] | None, typer.Option(
            "--family", "-f", case_sensitive=False,
            help="Feature family (repeat the option; default: median2d and harmonic).")] = None,
        block: Annotated[int, typer.Option(help="Samples per block (memory grows with it).")] = 10_000,
        interval: Annotated[int, typer.Option(help="Bin width in days.")] = 5,
        window: Annotated[str, typer.Option(help="Season window MM-DD:MM-DD on the aligned calendar.")] = "05-01:11-30",
        align: Annotated[str, typer.Option(help="'hemisphere', 'none' or a number of days for every sample.")
                         ] = "hemisphere",
        offsets: Annotated[Path | None, typer.Option(help="YAML {ISO3: days}: per-country shifts replacing "
                                                          "--align for them.")] = None,
        clear_threshold: Annotated[float, typer.Option(help="Minimum clear-sky score of a usable observation.")
                                   ] = 0.75,
        min_clear: Annotated[int, typer.Option(help="Drop samples with fewer clear observations in the window.")] = 3,
        coverage: Annotated[Coverage, typer.Option(help="Samples whose data do not span the window: 'drop' (counted "
                                                        "per country), 'error', or 'fill' edge gaps of at most "
                                                        "--fill-days (nearest value; longer gaps dropped).")
                            ] = "drop",
        fill_days: Annotated[int, typer.Option(help="--coverage fill: the longest edge gap filled, in days of the "
                                                    "window.")] = 30,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out even when it is not a previous "
                                                                  "cropglobe store.")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar; print only the path written.")
                         ] = False,
        verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also cropglobe's log messages.")] = False,
    ) -> None:
        """Composite a SampleSet and compute feature families block by block (bounded memory), into one Zarr store."""
        from cropglobe import samples, verbosity
        from cropglobe.errors import CropGlobeError
        from cropglobe.features import stream as pipeline
        from cropglobe.features.families import get_feature

        verbosity.configure(quiet, verbose)
        if block < 1:
            raise CropGlobeError(f"--block {block}: expected a positive number of samples per block")
        families = [get_feature(value(f)).name for f in (family or ["median2d", "harmonic"])]
        options = pipeline.check_composite_options(
            {"interval": interval, "window": window, "align": int(align) if align.lstrip("+-").isdigit() else align,
             "clear_threshold": clear_threshold, "min_clear": min_clear, "offsets": offsets,
             "coverage": value(coverage), "fill_days": fill_days})
        samples.check_output(out, overwrite)
        total = pipeline.open_lazy(src).sizes["sample"]
        with _bar(total, quiet) as advance:
            res = pipeline.stream(src, out, families, block=block, composite_options=options, overwrite=overwrite,
                                  progress=advance)
        if not quiet:
            typer.echo(f"features {', '.join(families)} of {res.samples_out:,} of {res.samples_in:,} samples "
                       f"in {res.blocks} blocks of {block:,} ({res.seconds:.1f} s); dropped {res.dropped:,}")
            for key, why in (("dropped_coverage", "whose data do not cover the window"),
                             ("dropped_min_clear", f"with fewer than {min_clear} clear observations in the window")):
                counts = res.by_country.get(key) or {}
                if counts:
                    per = ", ".join(f"{k} {v}" for k, v in counts.items())
                    typer.echo(f"dropped {sum(counts.values())} samples {why} ({per})")
            filled = res.by_country.get("edge_filled") or {}
            if filled:
                per = ", ".join(f"{k} {v}" for k, v in filled.items())
                typer.echo(f"filled the window edges (at most {fill_days} days) of {sum(filled.values())} samples "
                           f"({per})")
            for dropped in res.dropped_blocks:
                typer.echo(f"dropped block {dropped['samples']}: {dropped['reason']}")
        typer.echo(f"wrote {out}")


@contextlib.contextmanager
def _bar(total: int, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A rich progress bar over the samples (stderr) unless ``quiet``; yields ``advance(n)``."""
    if quiet:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    # in a terminal the bar disappears when done; in logs its final state (n/n samples) stays
    with Progress(TextColumn("compositing + features"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=console.is_terminal) as progress:
        task = progress.add_task("samples", total=total)
        yield lambda n: progress.advance(task, n)
