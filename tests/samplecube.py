"""A SIMULATED map cube whose pixels are a SampleSet's samples: the same inputs for ``predict`` and ``map`` in tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr


def samples_cube(target: xr.Dataset, path: Path) -> tuple[Path, tuple[int, int]]:
    """Write ``target``'s samples as the pixels of a float32 cube (row-major, in the set's order).

    Float32 reflectance (``dn=False``), not ``write_cube``'s default uint16 digital numbers: those
    would round the samples' values to 1e-4 and the map would see other inputs than the samples.

    Returns:
        The cube's path and its ``(height, width)``.
    """
    import rioxarray  # noqa: F401 - registers the .rio accessor
    from pyproj import Transformer

    from cropglobe.mapping import write_cube
    from cropglobe.mapping.simcube import PIXEL_M, utm_crs

    n = target.sizes["sample"]
    h = next(d for d in (4, 5, 3, 2, 1) if n % d == 0)
    w = n // h
    refl = target["reflectance"].values.transpose(2, 1, 0).reshape(-1, target.sizes["band"], h, w)
    clear = target["clear"].values.T.reshape(-1, h, w)
    lon, lat = float(target["lon"].values.mean()), float(target["lat"].values.mean())
    crs = utm_crs(lon, lat)
    x0, y0 = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    ds = xr.Dataset({"reflectance": (("time", "band", "y", "x"), refl.astype(np.float32)),
                     "clear": (("time", "y", "x"), clear.astype(np.float32))},
                    coords={"time": target["time"].values, "band": target["band"].values.astype(str),
                            "y": y0 - (np.arange(h) + 0.5) * PIXEL_M, "x": x0 + (np.arange(w) + 0.5) * PIXEL_M},
                    attrs={"simulated": 1, "country": "BEL", "description": "SIMULATED cube of the target samples"})
    ds = ds.rio.write_crs(crs).rio.write_transform()
    return write_cube(ds, path, dn=False), (h, w)
