"""A SIMULATED raster cube with known per-pixel classes (tests, benchmarks and the demo map).

:func:`simulated_cube` arranges simulator samples (:func:`cropglobe.sources.simulate.simulate`) into a grid
of square fields, one class per field and a different simulated pixel in every cell, on a 10 m
UTM grid inside the country's simulated region, and can make a block of pixels fully cloudy
(clear-sky score below any threshold on every date) so that the map must mark them nodata.
SIMULATED DATA: the cube carries ``attrs["simulated"] = True``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from cropglobe import taxonomy
from cropglobe.errors import CropGlobeError
from cropglobe.sources import simulate as _simulate

PIXEL_M = 10.0


def utm_crs(lon: float, lat: float) -> str:
    """EPSG code of the UTM zone containing (lon, lat)."""
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def simulated_cube(country: str = "FRA", fields: tuple[int, int] = (4, 4), field_px: int = 8, seed: int = 0,
                   cloudy: tuple[slice, slice] | None = None, year: int = 2023) -> tuple[xr.Dataset, np.ndarray]:
    """Build a SIMULATED cube ``(time, band, y, x)`` + ``clear`` and its truth map of class indices.

    Args:
        country: Simulator country (its region places the grid, its classes fill the fields).
        fields: Fields along y and x.
        field_px: Pixels per field side.
        seed: Simulator seed.
        cloudy: Rows/cols made fully cloudy (truth 255 there).
        year: Season year.

    Returns:
        ``(cube, truth)``: the georeferenced dataset (CRS via rioxarray) and uint8 class indices
        of :data:`cropglobe.taxonomy.CLASSES` (255 where cloudy).
    """
    import rioxarray  # noqa: F401 - registers the .rio accessor
    from pyproj import Transformer

    params = _simulate.load_params()
    iso = country.upper()
    if iso not in params.countries:
        raise CropGlobeError(f"simulated_cube: no simulator profile for {country!r}")
    prof = params.countries[iso]
    present = [c for c in taxonomy.CLASSES if c in prof.classes]
    ny, nx = fields
    rng = np.random.default_rng(seed)
    field_class = np.resize(rng.permutation(len(present)), ny * nx)
    rng.shuffle(field_class)
    per_class = int(np.bincount(field_class, minlength=len(present)).max()) * field_px * field_px
    obs = _simulate.simulate([iso], samples_per_class=per_class, year=year, seed=seed)
    labels = obs["label"].values.astype(str)
    refl = obs["reflectance"].values  # (sample, band, time)
    clear = obs["clear"].values
    h, w = ny * field_px, nx * field_px
    cube = np.empty((refl.shape[2], refl.shape[1], h, w), dtype=np.float32)
    score = np.empty((refl.shape[2], h, w), dtype=np.float32)
    truth = np.empty((h, w), dtype=np.uint8)
    used = {c: 0 for c in present}
    for f, k in enumerate(field_class):
        cls = present[k]
        r0, c0 = (f // nx) * field_px, (f % nx) * field_px
        idx = np.flatnonzero(labels == cls)[used[cls]:used[cls] + field_px * field_px]
        used[cls] += idx.size
        block = refl[idx].reshape(field_px, field_px, refl.shape[1], refl.shape[2])
        cube[:, :, r0:r0 + field_px, c0:c0 + field_px] = block.transpose(3, 2, 0, 1)
        score[:, r0:r0 + field_px, c0:c0 + field_px] = clear[idx].reshape(field_px, field_px, -1).transpose(2, 0, 1)
        truth[r0:r0 + field_px, c0:c0 + field_px] = taxonomy.CLASSES.index(cls)
    if cloudy is not None:
        score[:, cloudy[0], cloudy[1]] = 0.05
        truth[cloudy] = 255
    lon, lat = float(np.mean(prof.lon)), float(np.mean(prof.lat))
    crs = utm_crs(lon, lat)
    x0, y0 = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    x0, y0 = np.floor(x0 / 1000) * 1000, np.ceil(y0 / 1000) * 1000
    ds = xr.Dataset(
        {"reflectance": (("time", "band", "y", "x"), cube), "clear": (("time", "y", "x"), score)},
        coords={"time": obs["time"].values, "band": list(obs["band"].values.astype(str)),
                "y": y0 - (np.arange(h) + 0.5) * PIXEL_M, "x": x0 + (np.arange(w) + 0.5) * PIXEL_M},
        attrs={"simulated": 1, "source": _simulate.SIMULATOR_SOURCE, "country": iso,
               "description": f"SIMULATED cube: {ny}x{nx} fields of {field_px}x{field_px} px, seed {seed}"},
    )
    ds = ds.rio.write_crs(crs).rio.write_transform()
    return ds, truth
