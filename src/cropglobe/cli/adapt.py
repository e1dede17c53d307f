"""``cropglobe study adapt RUN_DIR``: score a transfer run's cells with unlabelled-target adaptation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cropglobe.cli._choices import AdaptationMethod, CellAdaptationMethod, value
from cropglobe.cli._groups import command


def register(app: typer.Typer) -> None:
    """Add the ``adapt`` command."""

    @command(app, "study adapt", old="adapt",
             epilog="Example:\n\n  cropglobe study adapt runs/canada-france --method adabn")
    def adapt_cmd(
        run_dir: Annotated[Path, typer.Argument(help="A cropglobe transfer run folder (finished cells are used).")],
        method: Annotated[list[AdaptationMethod] | None, typer.Option(
            "--method", "-m", help="Single-model method(s) besides the plain model: adabn (default), phenoshift, "
                                   "prior, selftrain (fine-tunes a copy of each model: minutes per cell), align "
                                   "(test-time season offset / stretch).")] = None,
        ensemble: Annotated[bool, typer.Option(help="Also score the mean probability of the seeds.")] = True,
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default RUN_DIR/adaptation).")
                       ] = None,
        seed: Annotated[list[int] | None, typer.Option("--seed", help="Only these seeds of the run (repeat it); "
                                                                        "ensembles average them.")] = None,
        cell: Annotated[list[str] | None, typer.Option("--cell", help="Only these cells (repeat it), named "
                                                       "FEATURE__MODEL__AUGMENTATION as in the cell folders, "
                                                       "e.g. median2d__cropnet__paper-nowarp.")] = None,
    ) -> None:
        """Re-score a run's saved models on their targets: plain, AdaBN, seed ensembles (no retraining, no labels)."""
        from rich.console import Console

        from cropglobe import verbosity
        from cropglobe.experiment.posthoc import adapt_run

        methods = [str(value(m)) for m in method or []] or ["adabn"]
        results = adapt_run(run_dir, methods=methods, ensemble=ensemble, out=out, seeds=seed, cells=cell,
                            report_cell=None if verbosity.is_quiet() else typer.echo)
        folder = out or run_dir / "adaptation"
        mismatch = results["matches_run"].eq(False).sum() if "matches_run" in results else 0
        console = Console()
        console.print(f"{len(results):,} rows; table: {folder / 'adaptation.md'}")
        if mismatch:
            console.print(f"[bold red]{mismatch} plain rows differ from the run's own result.json[/]")

    @command(
        app, "study adapt-cell", old="adapt-cell",
        epilog="Example:\n\n  cropglobe study adapt-cell runs/r/cells/CAN__median2d__cropnet__none__s0 "
        "data/fra_unlabelled.zarr --out runs/r/cells/CAN__cropnet__adabn-FRA\n\n"
        "  cropglobe map runs/r/cells/CAN__cropnet__adabn-FRA cube.zarr --out map.tif",
    )
    def adapt_cell_cmd(
        cell: Annotated[
            Path, typer.Argument(help="Transfer cell folder (torch model with BatchNorm) or its recipe.json.")
        ],
        samples: Annotated[Path, typer.Argument(help="SampleSet Zarr of the target region (labels are not read).")],
        out: Annotated[Path, typer.Option("--out", "-o", help="New cell folder for the adapted model.")],
        method: Annotated[CellAdaptationMethod, typer.Option(
            "--method", "-m", help="adabn: re-estimate BatchNorm statistics; selftrain: fine-tune on the source plus "
                                   "pseudo-labelled samples (needs the cell's run folder and data).")] = "adabn",
    ) -> None:
        """Adapt a cell to unlabelled target samples (AdaBN or self-training); map with the new cell."""
        from rich.console import Console

        from cropglobe.experiment.adapt_cell import adapt_cell

        info = adapt_cell(cell, samples, out, method=str(value(method)))
        if info["method"] == "adabn":
            Console().print(f"adapted {info['n_bn_layers']} BatchNorm layers on {info['n_samples']:,} samples -> {out}")
        else:
            Console().print(f"self-trained on {info['n_samples']:,} samples ({info['selftrain_pseudo']:,} "
                            f"pseudo-labelled in the last round) -> {out}")
