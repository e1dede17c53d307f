"""``cropglobe data simulate``: write a simulated observation-level SampleSet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cropglobe.cli._groups import command


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command."""

    @command(app, "data simulate", old="simulate",
             epilog="Examples:\n\n  cropglobe data simulate --out sim.zarr -n 50\n\n"
                    "  cropglobe data simulate --out fra_arg.zarr -c FRA,ARG -n 20 --seed 1")
    def simulate_cmd(
        out: Annotated[Path, typer.Option("--out", "-o", help="Output Zarr SampleSet.")],
        countries: Annotated[
            list[str] | None,
            typer.Option(
                "--countries", "-c", help="ISO3 codes (repeat or comma-separate); default: the 8 CropGlobe countries."
            ),
        ] = None,
        samples_per_class: Annotated[
            int, typer.Option("--samples-per-class", "-n", help="Samples per class and country.")
        ] = 200,
        year: Annotated[int, typer.Option(help="Season year.")] = 2023,
        seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
        params: Annotated[Path | None, typer.Option(help="Simulator parameter YAML (default: embedded table).")] = None,
        overwrite: Annotated[
            bool, typer.Option("--overwrite", help="Replace --out even when it is not a previous cropglobe store.")
        ] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the path written.")] = False,
        verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also cropglobe's log messages.")] = False,
    ) -> None:
        """Simulate Sentinel-2-like observation series for crop classes (SIMULATED DATA)."""
        from cropglobe import samples, summary, verbosity
        from cropglobe.sources import simulate

        verbosity.configure(quiet, verbose)

        samples.check_output(out, overwrite)
        codes = [c for item in countries or [] for c in item.split(",") if c] or None
        table = simulate.load_params(params) if params else None
        ds = simulate.simulate(codes, samples_per_class=samples_per_class, year=year, seed=seed, params=table)
        samples.save(ds, out, overwrite=overwrite)
        if not quiet:
            summary.render(summary.summarize(ds), title=f"{out} (simulated)")
        typer.echo(f"wrote {out}")
