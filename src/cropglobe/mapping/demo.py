"""The demo's map: a small SIMULATED region mapped with the best cell of a finished transfer run."""

from __future__ import annotations

import os
from pathlib import Path

from cropglobe.cells.run_folder import RunFolder
from cropglobe.errors import CropGlobeError
from cropglobe.mapping.run import MapOptions, make_map
from cropglobe.mapping.simcube import simulated_cube
from cropglobe.mapping.store import write_cube


def pick_cell(run_dir: Path, country: str) -> Path:
    """The cell with the best macro-F1 on ``country`` in the run's ``results.parquet`` (else the first cell).

    A result row names its cell folder as the runner does (:meth:`cropglobe.cells.run_folder.RunFolder.cell_key`).

    Raises:
        CropGlobeError: When the run has no cell with a recipe.
    """
    run = RunFolder(run_dir)
    cells = sorted(p.parent for p in run.cells_dir.glob("*/recipe.json"))
    if not cells:
        raise CropGlobeError(f"{run_dir}: no cells/<cell>/recipe.json; expected a finished `cropglobe transfer` run")
    results = run_dir / "results.parquet"
    if results.is_file():
        import pandas as pd

        table = pd.read_parquet(results)
        rows = table[table["target"] == country]
        for _, row in rows.sort_values("macro_f1", ascending=False).iterrows():
            key = run.row_key(row)
            match = [c for c in cells if c.name == key or c.name.startswith(key + "_")]  # "_<fold>" suffix
            if match:
                return match[0]
    return cells[0]


def demo_map(run_dir: str | os.PathLike, out_dir: str | os.PathLike, country: str = "BEL",
             fields: tuple[int, int] = (6, 6), field_px: int = 8, seed: int = 7,
             scheduler: str | None = "threads") -> dict[str, object]:
    """Map a small SIMULATED region with the best cell of a transfer run; return paths and accuracy.

    The region is a grid of simulated fields in ``country`` (a target of the demo's FRA-trained
    models) with a fully cloudy corner; the cell with the best macro-F1 on that target in
    ``results.parquet`` maps it. Outputs: ``out_dir/map.tif`` (+ confidence, PNG, areas CSV) and
    ``out_dir/region.zarr``.
    """
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    cell = pick_cell(run_dir, country.upper())
    h = fields[0] * field_px
    cube, truth = simulated_cube(country, fields, field_px, seed, cloudy=(slice(0, h // 4), slice(0, h // 4)))
    store = write_cube(cube, out_dir / "region.zarr")
    result = make_map(cell, store, out_dir / "map.tif", MapOptions(tile=64, scheduler=scheduler, workers=2))
    import rasterio

    with rasterio.open(result.paths["classes"]) as src:
        got = src.read(1)
    mapped = truth != 255
    accuracy = float((got[mapped] == truth[mapped]).mean())
    return {"cell": str(cell), "png": result.paths["png"], "map": result.paths["classes"],
            "areas": result.paths["areas"], "accuracy": accuracy, "pixels": result.pixels,
            "data": "SIMULATED"}
