"""Score two runs of configs/realdata/coverage_fill.yaml (coverage drop and fill) on the samples both keep.

The study's own tables score each run on the samples it keeps. This script predicts each cross-region
target with each run's cell (``cropglobe predict``'s :func:`cropglobe.mapping.predict_table.predict_samples`,
which composites with the cell's recipe, so a fill cell keeps what training kept), then scores both on
all their predicted samples and on those both predicted, as the study scores (classes absent from the
source's training data count as ``other``: ``absent_classes: other``). REAL data: the SampleSets of
scripts/realdata.sh. Where the drop run lacks a cell (``--sources canada`` with only the fill run's
Canada cell), the drop side is the fill cell on the samples ``coverage="drop"`` keeps: the same model,
as the Canada data cover the window either way.

    python scripts/coverage_fill_compare.py /tmp/cov-drop /tmp/cov-fill [--seed 0] [--cell median1d__lightgbm]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd
import xarray as xr

from cropglobe import samples
from cropglobe.cells.cell import Cell
from cropglobe.mapping.predict_table import PredictOptions, predict_samples
from cropglobe.temporal.composite import composite
from cropglobe.training.metrics import remap_target, score_names

DATA = {"canada": "data/can_2017.zarr", "france": "data/fra_2023_dekad.zarr", "arkansas": "data/arkansas_2021.zarr"}
PAIRS = [("canada", "france"), ("canada", "arkansas"), ("arkansas", "canada"), ("arkansas", "france")]
CELL = "{source}__{cell}__none__s{seed}"


def main() -> None:
    """Print one Markdown row per pair: samples kept and macro-F1 of both runs, on all and on the common ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("drop", type=Path)
    parser.add_argument("fill", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cell", default="median1d__lightgbm", help="feature__model of the cells")
    parser.add_argument("--sources", nargs="*", default=None, help="only the pairs from these sources")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    sets = {k: samples.load(v) for k, v in DATA.items()}
    print("| source → target | kept drop | kept fill | macro-F1 drop | macro-F1 fill | common | drop on common "
          "| fill on common |")
    print("|---|---|---|---|---|---|---|---|")
    for source, target in PAIRS:
        if args.sources and source not in args.sources:
            continue
        src_classes = sorted(set(sets[source]["label"].values.astype(str)))
        preds = {}
        for run in ("fill", "drop"):
            cell = getattr(args, run) / "cells" / CELL.format(source=source, cell=args.cell, seed=args.seed)
            if run == "drop" and not cell.exists():
                kept = _drop_kept(args.fill / "cells" / cell.name, sets[target])
                preds[run] = preds["fill"].loc[preds["fill"].index.intersection(kept)]
                continue
            table = predict_samples(cell, sets[target], where=target, options=PredictOptions(remaps="none")).table
            preds[run] = table[table["status"] == "predicted"].set_index("sample_id")
        common = preds["drop"].index.intersection(preds["fill"].index)
        drop, fill = preds["drop"], preds["fill"]
        row = [len(drop), len(fill), _f1(drop, target, src_classes), _f1(fill, target, src_classes), len(common),
               _f1(drop.loc[common], target, src_classes), _f1(fill.loc[common], target, src_classes)]
        print(f"| {source} → {target} | " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v)
                                                       for v in row) + " |")


def _drop_kept(cell: Path, ds: xr.Dataset) -> pd.Index:
    """The sample ids the cell's compositing keeps with ``coverage="drop"``."""
    recipe = Cell.load(cell).recipe
    settings = recipe.composite.model_copy(update={"coverage": "drop"})
    return pd.Index(composite(ds.sel(band=list(recipe.bands)), settings)["sample_id"].values.astype(str))


def _f1(table: pd.DataFrame, target: str, source_classes: list[str]) -> float:
    """Macro-F1 of predicted rows, classes absent from the source scored as ``other`` (the study's rule)."""
    truth, pred = remap_target(target, table["label"].to_numpy(str), table["predicted"].to_numpy(str), {},
                               source_classes)
    return score_names(truth, pred).macro_f1


if __name__ == "__main__":
    main()
