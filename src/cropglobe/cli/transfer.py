"""``cropglobe study transfer|report|config`` (``transfer`` also at the top): run a study, rebuild its report,
print its resolved spec."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from cropglobe.cli._groups import command

#: ``--set`` of ``study transfer`` and ``study config``.
Sets = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE",
                 help="Override a field of the config: dotted key, YAML value (train.epochs=5, "
                      "seeds=[0,1], model_options.rf.n_estimators=50); repeatable."),
]


def echo_spec(spec) -> None:  # ExperimentSpec
    """Print a validated spec as YAML, as ``config.yaml`` holds it (every default filled in)."""
    import yaml

    from cropglobe.experiment.runner import dump_spec

    typer.echo(yaml.safe_dump(dump_spec(spec), sort_keys=False, allow_unicode=True), nl=False)


def print_results(results, run_dir: Path, simulated: bool) -> None:  # pandas frame
    """Print macro-F1 (OA) per target x cell, mean over seeds, in the paper's layout, and the report path."""
    from rich.console import Console
    from rich.table import Table

    from cropglobe.experiment import degenerate, report

    summary = report.summary_table(results)
    cells = list(dict.fromkeys(summary["cell"]))
    table = Table(
        title=f"macro-F1 (OA), mean over {report.averaged_over(results)}" + (" — SIMULATED DATA" if simulated else "")
    )
    headers = ["source → target", "scenario", *(c.replace(" / ", "/").replace(" +aug:", " +") for c in cells)]
    pair_width = max(len(f"{s} → {t}") for s, t in zip(summary["source"], summary["target"], strict=True))
    widths = [max(len(headers[0]), pair_width), max([len(headers[1]), *map(len, summary["scenario"])]),
              *(max(len(h), len("0.000 (0.000) ⚠")) for h in headers[2:])]
    for i, (header, width) in enumerate(zip(headers, widths, strict=True)):
        table.add_column(header, justify="right" if i >= 2 else "left", min_width=width, no_wrap=True)
    # wide enough for every header in full: a log or an 80-column terminal must not truncate them
    console = Console()
    console = Console(width=max(console.width, sum(w + 3 for w in widths) + 1))
    for pair, scenario, values in report.summary_rows(summary, cells):
        table.add_row(pair, scenario, *values)
    console.print(table)
    warned = degenerate.warnings(results)
    if warned:
        console.print(f"[bold yellow]{degenerate.MARK} degenerate cells (they did not learn; see report.md):[/]",
                      highlight=False)
        for line in warned:
            console.print(f"  {line}", highlight=False, markup=False)
    if simulated:
        console.print("[bold yellow]" + report.SIM_NOTE + "[/]")
    console.print(f"report: {run_dir / 'report.md'}")


def register(app: typer.Typer) -> None:
    """Add ``study transfer`` (also ``transfer``), ``study report`` (old: ``report``) and ``study config``."""

    def _check_run_dir(run_dir: Path) -> None:
        from cropglobe.atomic import check_replaceable
        from cropglobe.experiment.lock import is_run_folder

        check_replaceable(run_dir, "cropglobe run folder", is_run_folder, follow_links=True,
                          remedy="a run writes into a new or empty folder; choose another --out")

    def _plain_name(name: str) -> bool:
        return bool(re.fullmatch(r"[A-Za-z0-9_.-]+", name)) and name not in (".", "..")

    def _remove_if_unused(run_dir: Path) -> None:
        """Remove a run folder this command created when it holds nothing but the lock file (a failed start)."""
        from cropglobe.experiment.lock import LOCK_NAME

        try:
            if run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= {LOCK_NAME}:
                (run_dir / LOCK_NAME).unlink(missing_ok=True)
                run_dir.rmdir()
        except OSError:  # leave it: is_run_folder accepts a folder holding only a lock file
            pass

    @command(app, "study transfer", top=True,
             epilog="Examples:\n\n  cropglobe transfer configs/demo/tiny.yaml --out runs/tiny\n\n"
                    "  cropglobe study config configs/demo/tiny.yaml --set train.epochs=5 --set seeds=[0,1]\n\n"
                    "  cropglobe transfer --resume runs/tiny")
    def transfer_cmd(
        config: Annotated[Path | None, typer.Argument(help="Experiment YAML (configs/demo, configs/paper).")] = None,
        out: Annotated[
            Path | None, typer.Option("--out", "-o", help="Run folder (default runs/<name>); a new or empty folder.")
        ] = None,
        resume: Annotated[Path | None, typer.Option("--resume", help="Continue the run in this folder.")] = None,
        sets: Sets = None,
        print_config: Annotated[
            bool, typer.Option("--print-config", help="Print the resolved config as YAML and exit; writes nothing "
                                                      "(as `cropglobe study config`).")
        ] = False,
        quiet: Annotated[
            bool, typer.Option("--quiet", "-q", help="Results and errors only: no cell lines or progress bars.")
        ] = False,
        verbose: Annotated[
            bool, typer.Option("--verbose", "-v", help="Also Lightning's messages and cropglobe's log.")
        ] = False,
    ) -> None:
        """Train and evaluate a transfer matrix (sources -> targets) from a YAML spec."""
        from cropglobe import experiment, verbosity
        from cropglobe.cells.run_folder import RunFolder
        from cropglobe.errors import CropGlobeError
        from cropglobe.experiment import overrides
        from cropglobe.experiment.lock import run_lock

        if resume is not None:
            run_dir = resume
            if not RunFolder(resume).config_path.is_file():
                raise CropGlobeError(f"--resume {resume}: not a run folder (no config.yaml); expected the --out "
                                     "folder of an earlier `cropglobe transfer`")
            if sets:
                raise CropGlobeError(f"--resume {resume}: --set cannot change a run's config; start a new run "
                                     "with --out instead")
            spec_path = config or RunFolder(resume).config_path
        else:
            if config is None:
                raise CropGlobeError("transfer: give a CONFIG file (or --resume RUN_DIR)")
            spec_path = config
            if out is not None and not print_config:  # before the spec is read: a refusal comes first
                _check_run_dir(out)
        spec = overrides.load_spec(spec_path, sets or [])
        if print_config:
            echo_spec(spec)
            return
        if resume is None:
            if out is None and not _plain_name(spec.name):
                raise CropGlobeError(f"{spec_path}: name {spec.name!r}: the default run folder is runs/<name>; "
                                     "expected a plain folder name (letters, digits, '.', '_', '-'; no '/' or '..'), "
                                     "or pass --out")
            run_dir = out or Path("runs") / spec.name
            _check_run_dir(run_dir)
        verbosity.configure(quiet, verbose)
        created = not run_dir.exists()
        try:
            with run_lock(run_dir):
                results = experiment.run(spec, run_dir, resume=resume is not None, progress=not quiet,
                                         report_cell=None if quiet else typer.echo)
        except BaseException:
            if created:  # an input error found before config.yaml was written leaves nothing behind
                _remove_if_unused(run_dir)
            raise
        print_results(results, run_dir, bool(results["simulated"].any()))

    @command(app, "study report", old="report", epilog="Example:\n\n  cropglobe study report runs/tiny")
    def report_cmd(run_dir: Annotated[Path, typer.Argument(help="A run folder of `cropglobe transfer`.")]) -> None:
        """Rebuild report.md and the figures of a run from its results.parquet."""
        from cropglobe.experiment import report

        typer.echo(f"wrote {report.build(run_dir)}")

    @command(app, "study config",
             epilog="Examples:\n\n  cropglobe study config configs/demo/tiny.yaml\n\n"
                    "  cropglobe study config configs/demo/tiny.yaml --set train.epochs=5 --set seeds=[0,1]\n\n"
                    "  cropglobe study config runs/tiny")
    def config_cmd(
        spec: Annotated[Path, typer.Argument(help="A study spec (YAML), or a run folder (its config.yaml).")],
        sets: Sets = None,
    ) -> None:
        """Print the resolved, validated study spec as YAML (defaults filled in, --set applied); writes nothing."""
        from cropglobe.cells.run_folder import RunFolder
        from cropglobe.experiment import overrides

        path = RunFolder(spec).config_path if spec.is_dir() else spec
        echo_spec(overrides.load_spec(path, sets or []))
