"""Generate small EMIT L2A RFL granules in the real NetCDF4 layout (as TorchGeo's tests/data/*/data.py).

The swath is rotated by 90 degrees against the orthorectified north-up grid (downtrack runs west to
east, crosstrack south to north), the GLT leaves a corner triangle empty (0) and duplicates the
last ortho column (nearest-neighbour oversampling), so a reader that ignores or transposes the GLT
gets wrong spectra. Every raw pixel has its own spectrum, bad (water-absorption) bands hold a
poison value outside the physical range and a few values are the -9999 fill.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np
import pyproj

#: Wavelengths (nm) of the generated bands and which are good (outside 1340-1450 and 1800-1960 nm).
WAVELENGTHS = np.round(np.linspace(381.0, 2493.0, 30), 1).astype(np.float32).astype(float)
GOOD = ~(((WAVELENGTHS > 1340) & (WAVELENGTHS < 1450)) | ((WAVELENGTHS > 1800) & (WAVELENGTHS < 1960)))
POISON = 7.5  # bad-band value: far outside 0-1.5, so any leak is visible
FILL = -9999.0

NY, NX = 9, 8           # orthorectified grid (rows = lat, cols = lon)
DOWN, CROSS = 7, 9      # raw swath (downtrack, crosstrack)
X0, Y0, DX, DY = 2.0, 47.0, 0.01, -0.01  # geotransform origin and cell size (degrees)


@dataclass
class Scene:
    """The truth behind a generated granule."""

    reflectance: np.ndarray  # (DOWN, CROSS, bands) as written, poison and fill included
    glt_x: np.ndarray        # (NY, NX), 1-based crosstrack, 0 = no data
    glt_y: np.ndarray        # (NY, NX), 1-based downtrack, 0 = no data

    def raw_of(self, row: int, col: int) -> tuple[int, int] | None:
        """Raw (down, cross) 0-based pixel behind ortho cell (row, col), or None."""
        if self.glt_x[row, col] == 0:
            return None
        return int(self.glt_y[row, col]) - 1, int(self.glt_x[row, col]) - 1


def cell_center(row: int, col: int) -> tuple[float, float]:
    """Lon/lat of the centre of ortho cell (row, col)."""
    return X0 + (col + 0.5) * DX, Y0 + (row + 0.5) * DY


def spectrum(down: int, cross: int, brightness: float = 1.0) -> np.ndarray:
    """A vegetation-like spectrum unique to a raw pixel (good bands valid, all in 0-1)."""
    wl = WAVELENGTHS
    red_edge = 1.0 / (1.0 + np.exp(-(wl - 720.0) / 25.0))
    base = 0.04 + 0.35 * red_edge * np.exp(-np.clip(wl - 900.0, 0, None) / 1400.0)
    base -= 0.03 * np.exp(-((wl - 670.0) / 30.0) ** 2)
    return (brightness * base + 0.004 * down + 0.0015 * cross).astype(np.float32)


def make_scene(brightness: float = 1.0, fill_pixels: tuple[tuple[int, int], ...] = ((0, 0),),
               fill_bands: tuple[tuple[int, int, int], ...] = ((3, 4, 2),)) -> Scene:
    """Build the raw cube and the rotated, partly empty GLT."""
    refl = np.stack([np.stack([spectrum(d, c, brightness) for c in range(CROSS)]) for d in range(DOWN)])
    refl[:, :, ~GOOD] = POISON
    for d, c in fill_pixels:
        refl[d, c, :] = FILL
    for d, c, b in fill_bands:
        refl[d, c, b] = FILL
    glt_x = np.zeros((NY, NX), dtype=np.int32)
    glt_y = np.zeros((NY, NX), dtype=np.int32)
    for row in range(NY):
        for col in range(NX):
            if row + col < 2:
                continue  # empty corner outside the swath
            down = min(col, DOWN - 1)     # last column duplicates downtrack line DOWN-1
            cross = NY - 1 - row          # crosstrack runs south to north
            glt_x[row, col], glt_y[row, col] = cross + 1, down + 1
    return Scene(refl.astype(np.float32), glt_x, glt_y)


def write_granule(path: Path, scene: Scene, time: str = "2023-07-15T10:31:05+0000",
                  omit: tuple[str, ...] = ()) -> Path:
    """Write ``scene`` as an EMIT L2A RFL NetCDF4 file; ``omit`` drops named parts (for bad-layout tests)."""
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.createDimension("downtrack", DOWN)
        nc.createDimension("crosstrack", CROSS)
        nc.createDimension("bands", WAVELENGTHS.size)
        nc.createDimension("ortho_y", NY)
        nc.createDimension("ortho_x", NX)
        if "reflectance" not in omit:
            var = nc.createVariable("reflectance", "f4", ("downtrack", "crosstrack", "bands"), fill_value=FILL)
            var[:] = scene.reflectance
        sbp = nc.createGroup("sensor_band_parameters")
        for name, values, dtype in (("wavelengths", WAVELENGTHS, "f4"), ("fwhm", np.full(WAVELENGTHS.size, 8.5), "f4"),
                                    ("good_wavelengths", GOOD.astype(np.uint8), "u1")):
            if name not in omit:
                sbp.createVariable(name, dtype, ("bands",))[:] = values
        if "location" not in omit:
            loc = nc.createGroup("location")
            lat = np.zeros((DOWN, CROSS))
            lon = np.zeros((DOWN, CROSS))
            for d in range(DOWN):
                for c in range(CROSS):
                    lon[d, c], lat[d, c] = cell_center(NY - 1 - c, d)
            loc.createVariable("lat", "f8", ("downtrack", "crosstrack"))[:] = lat
            loc.createVariable("lon", "f8", ("downtrack", "crosstrack"))[:] = lon
            loc.createVariable("glt_x", "i4", ("ortho_y", "ortho_x"))[:] = scene.glt_x
            loc.createVariable("glt_y", "i4", ("ortho_y", "ortho_x"))[:] = scene.glt_y
        if "geotransform" not in omit:
            nc.setncattr("geotransform", np.array([X0, DX, 0.0, Y0, 0.0, DY]))
        nc.setncattr("spatial_ref", pyproj.CRS.from_epsg(4326).to_wkt(version="WKT1_GDAL"))
        nc.setncattr("time_coverage_start", time)
        nc.setncattr("title", "EMIT L2A Estimated Surface Reflectance 60 m (generated test granule)")
    return path
