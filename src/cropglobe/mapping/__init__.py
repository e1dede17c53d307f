"""Wall-to-wall crop maps: predict a raster time-series cube with a trained cell, on Dask, to COGs.

Public face: :func:`make_map` (the ``cropglobe map`` job), :func:`load_recipe`, :func:`open_cube`,
:func:`simulated_cube` / :func:`write_cube` (a SIMULATED cube with known classes) and
:func:`demo_map` (the demo's map after its transfer run).
"""

from cropglobe.mapping.cell import Recipe, load_recipe
from cropglobe.mapping.cube import Cube, CubeSource, open_cube
from cropglobe.mapping.demo import demo_map
from cropglobe.mapping.predict import NODATA_CLASS
from cropglobe.mapping.run import MapOptions, MapResult, StacQuery, make_map, prepare
from cropglobe.mapping.simcube import simulated_cube
from cropglobe.mapping.store import write_cube

__all__ = ["NODATA_CLASS", "Cube", "CubeSource", "MapOptions", "MapResult", "Recipe", "StacQuery", "demo_map",
           "load_recipe", "make_map", "open_cube", "prepare", "simulated_cube", "write_cube"]
