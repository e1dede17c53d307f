"""``cropglobe data info``: summarise a SampleSet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cropglobe.cli._groups import command


def register(app: typer.Typer) -> None:
    """Add the ``info`` command."""

    @command(app, "data info", old="info", epilog="Example:\n\n  cropglobe data info composite.zarr")
    def info_cmd(path: Annotated[Path, typer.Argument(help="A SampleSet (Zarr folder).")]) -> None:
        """Summarise a SampleSet: counts per country x class, bands, time axis, missing fraction."""
        from cropglobe import samples, summary

        summary.render(summary.summarize(samples.load(path)), title=str(path))
