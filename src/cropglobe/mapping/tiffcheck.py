"""Checks on a folder of per-date GeoTIFFs before they are stacked into a cube.

Every file must open (a corrupt or truncated file is named), and all files must share one CRS,
one pixel grid (transform) and one size: otherwise the stack would silently take the first
file's grid for pixels that lie elsewhere. :func:`band_scaling` reads the per-band scales and
offsets the files declare (the same in every file).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cropglobe.errors import CropGlobeError


def check_folder(folder: str | os.PathLike) -> None:
    """Fail with one clear error for a folder that holds no cube at all (empty, or other files only).

    Raises:
        CropGlobeError: Naming the folder and what was expected.
    """
    p = Path(folder)
    if not p.is_dir():
        return
    markers = (".zattrs", ".zgroup", "zarr.json")
    if any((p / m).exists() for m in markers):
        return
    entries = sorted(q.name for q in p.iterdir())
    if not any(Path(e).suffix.lower() in (".tif", ".tiff") for e in entries):
        found = (
            f"it holds {', '.join(entries[:5])}" + (" ..." if len(entries) > 5 else "") if entries else "it is empty"
        )
        raise CropGlobeError(f"{p}: not a cube: {found}; expected a Zarr store or a folder of per-date GeoTIFFs "
                             "(e.g. S2_2023-06-01.tif)")


def check_grids(files: Sequence[Path]) -> None:
    """Open every GeoTIFF and check that all share the first file's CRS, transform and size.

    Raises:
        CropGlobeError: For a file that cannot be read, or one on another CRS or grid.
    """
    import rasterio
    from rasterio.errors import RasterioError

    first = None
    for f in files:
        try:
            with rasterio.open(f) as src:
                grid = (src.crs, src.transform, src.width, src.height)
                src.read(1, window=((src.height - 1, src.height), (src.width - 1, src.width)))  # the last block
        except (RasterioError, OSError) as err:
            raise CropGlobeError(f"{f}: cannot be read as a GeoTIFF ({err}); the file is corrupt or truncated: "
                                 "export it again or remove it from the folder") from None
        if first is None:
            first = (f, grid)
            continue
        f0, (crs0, transform0, w0, h0) = first
        crs, transform, w, h = grid
        if crs != crs0:
            raise CropGlobeError(f"{f}: CRS {crs} differs from {crs0} of {f0.name}; expected every file of the "
                                 "folder on one CRS (reproject them to one grid first)")
        if (w, h) != (w0, h0) or transform != transform0:
            raise CropGlobeError(f"{f}: grid {w}x{h} px at {tuple(transform)[:6]} differs from {w0}x{h0} px at "
                                 f"{tuple(transform0)[:6]} of {f0.name}; expected every file on the same pixel grid")


def band_scaling(files: Sequence[Path]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The per-band scales and offsets the GeoTIFFs declare (``value = raw x scale + offset``).

    Read from GDAL's band scale / offset (rasterio's ``scales`` / ``offsets``, 1 and 0 when a file
    declares none), else from band metadata ``scale_factor`` / ``add_offset`` (``SCALE`` /
    ``OFFSET``). Every file must declare the same.

    Raises:
        CropGlobeError: For a scale or offset that is not a finite number (or a zero scale), or a
            file whose scales differ from the first file's.
    """
    import rasterio

    first: tuple[Path, tuple[float, ...], tuple[float, ...]] | None = None
    for f in files:
        with rasterio.open(f) as src:
            scales, offsets = list(src.scales), list(src.offsets)
            for i in range(src.count):
                tags = {k.lower(): v for k, v in src.tags(i + 1).items()}
                for values, keys, default in ((scales, ("scale_factor", "scale"), 1.0),
                                              (offsets, ("add_offset", "offset"), 0.0)):
                    key = next((k for k in keys if k in tags), None)
                    if values[i] == default and key is not None:
                        values[i] = _number(tags[key], f, i + 1, key)
        for i, (s, o) in enumerate(zip(scales, offsets, strict=True), start=1):
            if not (np.isfinite(s) and np.isfinite(o)) or s == 0:
                raise CropGlobeError(f"{f}: band {i} declares scale {s:g} and offset {o:g}; expected a finite, "
                                     "non-zero scale and a finite offset")
        if first is None:
            first = (f, tuple(scales), tuple(offsets))
        elif (tuple(scales), tuple(offsets)) != first[1:]:
            raise CropGlobeError(f"{f}: band scales {scales} / offsets {offsets} differ from {list(first[1])} / "
                                 f"{list(first[2])} of {first[0].name}; expected every file of the folder to "
                                 "declare the same scaling")
    return (first[1], first[2]) if first is not None else ((), ())


def _number(text: str, f: Path, band: int, key: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise CropGlobeError(f"{f}: band {band} metadata {key}={text!r} is not a number") from None
