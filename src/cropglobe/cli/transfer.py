"""``cropglobe transfer`` and ``cropglobe report``: run a transfer study, rebuild its report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def print_results(results, run_dir: Path, simulated: bool) -> None:  # noqa: ANN001 - pandas frame
    """Print the mean-over-seeds results table and where the report is."""
    from rich.console import Console
    from rich.table import Table

    from cropglobe import report

    console = Console()
    table = Table(title="Transfer results (mean over seeds)" + (" — SIMULATED DATA" if simulated else ""))
    for col in ("source", "target", "scenario", "cell", "OA", "macro-F1", "kappa", "n"):
        table.add_column(col, justify="right" if col in ("OA", "macro-F1", "kappa", "n") else "left")
    for _, r in report.summary_table(results).iterrows():
        table.add_row(r["source"], r["target"], r["scenario"], r["cell"], f"{r['oa_mean']:.3f}",
                      f"{r['macro_f1_mean']:.3f}", f"{r['kappa_mean']:.3f}", str(int(r["n"])))
    console.print(table)
    if simulated:
        console.print("[bold yellow]" + report.SIM_NOTE + "[/]")
    console.print(f"report: {run_dir / 'report.md'}")


def register(app: typer.Typer) -> None:
    """Add the ``transfer`` and ``report`` commands."""

    @app.command("transfer")
    def transfer_cmd(
        config: Annotated[Path | None, typer.Argument(help="Experiment YAML (configs/demo, configs/paper).")] = None,
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Run folder (default runs/<name>).")] = None,
        resume: Annotated[Path | None, typer.Option("--resume", help="Continue the run in this folder.")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
    ) -> None:
        """Train and evaluate a transfer matrix (sources -> targets) from a YAML spec."""
        from cropglobe import experiment
        from cropglobe.errors import CropGlobeError

        if resume is not None:
            run_dir = resume
            spec_path = config or resume / "config.yaml"
        else:
            if config is None:
                raise CropGlobeError("transfer: give a CONFIG file (or --resume RUN_DIR)")
            spec_path = config
        spec = experiment.load_spec(spec_path)
        if resume is None:
            run_dir = out or Path("runs") / spec.name
        results = experiment.run(spec, run_dir, resume=resume is not None, progress=not quiet)
        print_results(results, run_dir, bool(results["simulated"].any()))

    @app.command("report")
    def report_cmd(run_dir: Annotated[Path, typer.Argument(help="A run folder of `cropglobe transfer`.")]) -> None:
        """Rebuild report.md and the figures of a run from its results.parquet."""
        from cropglobe import report

        typer.echo(f"wrote {report.build(run_dir)}")
