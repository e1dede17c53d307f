"""``cropglobe data acquire``: build a labelled Sentinel-2 SampleSet from a crop map and STAC or Earth Engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cropglobe.cli._groups import command


def register(app: typer.Typer) -> None:
    """Add the ``acquire`` command."""

    @command(app, "data acquire", old="acquire")
    def acquire_cmd(
        config: Annotated[Path, typer.Argument(help="Acquisition config YAML (see configs/acquire/).")],
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Print the plan (points, items, chunks); read no pixels.")
        ] = False,
        scheduler: Annotated[
            str | None,
            typer.Option(
                help="Override imagery.stac.dask.scheduler (local-cluster, threads, synchronous or an address)."
            ),
        ] = None,
        progress: Annotated[bool, typer.Option(help="Show a progress bar over chunks.")] = True,
    ) -> None:
        """Sample a crop map (60 m inward buffer, 0.1-degree grid) and read Sentinel-2 L2A series at the points."""
        from cropglobe import verbosity
        from cropglobe.sources.acquire import acquire, describe, load_config

        cfg = load_config(config)
        if scheduler:
            from cropglobe.sources.acquire.config import DaskConfig

            cfg.imagery.stac.dask = DaskConfig(**{**cfg.imagery.stac.dask.model_dump(), "scheduler": scheduler})
        result = acquire(cfg, dry_run=dry_run, progress=progress and not verbosity.is_quiet())
        if dry_run:
            typer.echo(describe(result.plan))
            return
        if result.gee is not None:
            typer.echo(f"earth engine: {result.gee}")
            return
        ds = result.dataset
        typer.echo(f"wrote {result.output}: {ds.sizes['sample']} samples x {ds.sizes['band']} bands x "
                   f"{ds.sizes['time']} times ({ds.attrs['time_kind']}); chunks read {result.chunks_read}, "
                   f"from cache {result.chunks_cached}")
