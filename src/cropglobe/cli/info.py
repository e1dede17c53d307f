"""``cropglobe info``: summarise a SampleSet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the ``info`` command."""

    @app.command("info", epilog="Example:\n\n  cropglobe info composite.zarr")
    def info_cmd(path: Annotated[Path, typer.Argument(help="A SampleSet (Zarr folder).")]) -> None:
        """Summarise a SampleSet: counts per country x class, bands, time axis, missing fraction."""
        from cropglobe import samples, summary

        summary.render(summary.summarize(samples.load(path)), title=str(path))
