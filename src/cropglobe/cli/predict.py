"""``cropglobe predict CELL_DIR SAMPLES --out predictions.parquet``: apply a trained cell to a sample table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cropglobe.cli._choices import InferencePrecision, PredictAdaptation, value


def register(app: typer.Typer) -> None:
    """Add the ``predict`` command."""

    @app.command("predict")
    def predict_cmd(
        cell: Annotated[Path, typer.Argument(help="Transfer cell folder (RUN_DIR/cells/<cell>) or its recipe.json.")],
        samples: Annotated[Path, typer.Argument(help="SampleSet Zarr: observations, dekadal/monthly composites or "
                                                     "an aligned composite; labels optional.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Predictions Parquet; with labels, "
                                                             "<stem>.metrics.json is written next to it.")
                       ] = Path("predictions.parquet"),
        min_clear: Annotated[int, typer.Option(help="Fewer clear observations in the season window -> the sample "
                                                    "is listed without a prediction.")] = 3,
        remaps: Annotated[str, typer.Option(help="Per-target label remaps of the scores: 'run' (the cell's run "
                                                 "config), 'paper', 'none' or a YAML file {ISO3: {keep: [...]}}.")
                          ] = "run",
        member: Annotated[list[Path] | None, typer.Option(
            "--member", help="Another cell of the same inputs (e.g. another seed); repeat it. The prediction is "
                             "the mean probability of all the cells (a seed ensemble).")] = None,
        adapt: Annotated[PredictAdaptation, typer.Option(
            help="'prior': re-weight the probabilities by the class prior of "
                                                  "these samples, estimated by EM from their inputs (labels unused); "
                                                  "'align': read the season window at the offset / stretch where "
                                                  "the model's predictions carry the most information (median "
                                                  "features; recorded in align_*_days); 'selftrain': first "
                                                  "self-train the cell and each --member (CBST, minutes per cell) "
                                                  "on these samples' inputs (labels unused; needs the cell's "
                                                  "transfer run and its data), then predict with them; "
                                                  "'none'.")] = PredictAdaptation.NONE,
        precision: Annotated[InferencePrecision, typer.Option(
            help="Torch models' inference: 32-true (float32, default), bf16-mixed (bfloat16 autocast; near-ties "
                 "may flip) or auto (bf16 where the CPU has it); tabular models ignore it.")
                             ] = "32-true",
        block: Annotated[int, typer.Option(help="Samples read, composited and predicted at a time (memory grows "
                                                "with it, not with the set's size).")] = 10_000,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out and its metrics file even when "
                                                                    "they are not previous predictions.")] = False,
    ) -> None:
        """Predict every sample of a SampleSet with a cell: class, confidence, probabilities (+ metrics with labels)."""
        from rich.console import Console
        from rich.table import Table

        from cropglobe.cli._selftrain import describe, predict_selftrained
        from cropglobe.mapping.predict_table import PredictOptions, predict_file

        options = PredictOptions(min_clear=min_clear, remaps=remaps, members=member or [], adapt=adapt.value,
                                 precision=str(value(precision)), block=block)
        console = Console()
        if adapt == PredictAdaptation.SELFTRAIN:
            result, record = predict_selftrained(cell, samples, out, options, overwrite=overwrite)
            console.print(describe(record), soft_wrap=True, highlight=False)
        else:
            result = predict_file(cell, samples, out, options, overwrite=overwrite)
        t = result.table
        tag = " (SIMULATED DATA)" if result.simulated else ""
        console.print(f"predicted {len(t) - result.n_dropped:,} of {len(t):,} samples{tag} with "
                      f"{result.recipe.model} on {result.recipe.feature} ({result.recipe.path.parent})")
        if member:
            console.print(f"  seed ensemble of {1 + len(member)} cells (mean probability)")
        if result.target_prior is not None:
            shares = ", ".join(f"{c} {v:.3f}" for c, v in result.target_prior.items() if v >= 0.0005)
            console.print(f"  class prior of these samples (EM, no labels): {shares}")
        for reason, count in result.dropped.items():
            console.print(f"  no prediction for {count:,} samples: {reason} (listed with a null prediction)")
        m = result.metrics
        if m is not None:
            table = Table(title=f"scores on {m['n_scored']:,} labelled samples{tag}")
            for name in ("target", "n", "OA", "macro-F1", "kappa", "remap"):
                table.add_column(name, justify="left" if name in ("target", "remap") else "right")
            rows = list(m["targets"].items()) + ([("all", {**m["all"], "remap": None})] if "all" in m else [])
            for target, s in rows:
                remap = "-" if s.get("remap") is None else "keep " + ",".join(s["remap"])
                table.add_row(target, f"{s['n']:,}", f"{s['oa']:.3f}", f"{s['macro_f1']:.3f}", f"{s['kappa']:.3f}",
                              remap)
            console.print(table)
            if m.get("absent_classes", "keep") != "keep":
                console.print(f"  absent classes: {m['absent_classes']}", soft_wrap=True, highlight=False)
            for target, s in rows:
                f1 = ", ".join(f"{c} {s['per_class'][c]['f1']:.2f}" for c in s["classes_present"])
                console.print(f"  {target} per-class F1: {f1}")
        elif "label" not in t:
            console.print("no labels: no scores")
        for kind, path in result.paths.items():
            console.print(f"  {kind:<12} {path}")
