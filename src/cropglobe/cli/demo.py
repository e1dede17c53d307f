"""``cropglobe demo``: the offline main job on simulated data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""

    @app.command("demo")
    def demo_cmd(
        out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("demo-output"),
        samples_per_class: Annotated[int, typer.Option("--samples-per-class", "-n")] = 100,
        seed: Annotated[int, typer.Option()] = 0,
    ) -> None:
        """Offline demo on the embedded simulator (SIMULATED DATA): simulate and summarise."""
        from cropglobe import samples, simulate, summary

        ds = simulate.simulate(samples_per_class=samples_per_class, seed=seed)
        path = samples.save(ds, out / "observations.zarr")
        summary.render(summary.summarize(ds), title=f"{path} (simulated)")
