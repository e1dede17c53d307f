"""Wall and process-CPU seconds of ``cropglobe map``'s ``make_map`` of one cell on one cube (A/B of two trees).

One warm-up map (compiles the kernels, loads the model), then ``--rounds`` timed maps with the
default in-process Dask cluster; prints JSON ``[[wall, cpu], ...]``. For an A/B of two source trees
run it alternately with ``PYTHONPATH=<tree>/src`` (docs/results.md, "Fast path on real data", the
re-gridding kernel on the real Belgian openEO cube):

    PYTHONPATH=src python scripts/map_wall.py runs/season-shift/cells/canada__median2d__tempcnn__season-wide__s0 \\
        ../shared/data/worldcereal_cubes/worldcereal_preprocessed_inputs.nc /tmp/mapwall/map.tif
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    """Command line: ``CELL CUBE OUT [--rounds N]``."""
    from cropglobe.mapping import MapOptions, make_map

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cell", type=Path)
    ap.add_argument("cube", type=Path)
    ap.add_argument("out", type=Path, help="the class COG (overwritten)")
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    make_map(a.cell, a.cube, a.out, MapOptions(overwrite=True))
    runs = []
    for _ in range(a.rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        make_map(a.cell, a.cube, a.out, MapOptions(overwrite=True))
        runs.append([round(time.perf_counter() - w0, 3), round(time.process_time() - c0, 3)])
    print(json.dumps(runs))


if __name__ == "__main__":
    main()
