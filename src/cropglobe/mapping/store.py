"""Raster cubes on disk: the DN codec and the Zarr / NetCDF cube writer every map input goes through.

:func:`write_cube` stores a cube (simulated, fetched from STAC by
:func:`cropglobe.mapping.stacinput.fetch_cube`, or a user's) the way maps read it fastest: uint16
Sentinel-2 L2A digital numbers with CF ``scale_factor`` / ``_FillValue`` (:func:`as_digital_numbers`;
:class:`cropglobe.mapping.cube.Decoding` reads them back), one band per 128 x 128 px chunk.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from cropglobe.atomic import atomic_path
from cropglobe.zarrcheck import checksum_encoding

#: Storage of float reflectance / clear scores by :func:`write_cube` (Sentinel-2 L2A digital numbers).
DN_SCALE, DN_FILL, CLEAR_SCALE, CLEAR_FILL = 1e-4, 65535, 0.01, 255
#: Pixels per side of a Zarr chunk written by :func:`write_cube`.
CHUNK = 128


def as_digital_numbers(ds: xr.Dataset) -> xr.Dataset:
    """Float reflectance -> uint16 DN (``round(r x 10 000)``, 0..65534, NaN -> 65535) and a float clear
    score -> uint8 (``round(c x 100)``, NaN -> 255), with CF ``scale_factor`` / ``_FillValue`` so that
    xarray (and :class:`~cropglobe.mapping.cube.Decoding`) decode them. Integer variables are kept."""
    out = ds.copy()
    for name, scale, fill, dtype, top in (("reflectance", DN_SCALE, DN_FILL, np.uint16, 65534),
                                          ("clear", CLEAR_SCALE, CLEAR_FILL, np.uint8, 254)):
        if name not in ds or not np.issubdtype(ds[name].dtype, np.floating):
            continue
        x = ds[name]  # lazy for a Dask-backed cube (written chunk by chunk)
        raw = xr.where(x.isnull(), fill, (x.fillna(0) / scale).round().clip(0, top)).astype(dtype)
        raw.attrs = {**x.attrs, "scale_factor": scale}
        raw.encoding = {"_FillValue": fill}
        out[name] = raw
    return out


def write_cube(ds: xr.Dataset, path: str | os.PathLike, dn: bool = True) -> Path:
    """Write a cube to a Zarr store (or ``.nc`` NetCDF) atomically.

    Args:
        ds: The cube (``reflectance`` time, band, y, x; optional ``clear`` / ``scl``).
        path: The store (``.nc``: NetCDF).
        dn: Store float reflectance as uint16 digital numbers and the clear score as uint8
            (:func:`as_digital_numbers`): half the bytes a map reads, as Sentinel-2 L2A delivers them.

    Zarr chunks hold the whole time series of one band over 128 x 128 pixels (LZ4 + byte shuffle, a
    CRC32C checksum of each chunk: :func:`cropglobe.zarrcheck.checksum_encoding`), so
    a map tile reads few chunks and only those of the bands its features use (map strips are aligned
    to the chunk rows, see :func:`cropglobe.mapping.tiles.run_tile`).
    """
    path = Path(path)
    ds = as_digital_numbers(ds) if dn else ds
    with atomic_path(path) as tmp:
        if path.suffix == ".nc":
            ds.to_netcdf(tmp)
        else:
            ds = ds.copy()
            for v in ds.variables:  # a CRC32C per chunk: a bit flip is an error on read (cropglobe.zarrcheck)
                ds[v].encoding.pop("compressor", None)
                ds[v].encoding.update(checksum_encoding(ds[v].dtype))
            for v in ds.data_vars:
                if set(ds[v].dims) >= {"y", "x"}:
                    chunks = tuple(min(ds.sizes[d], CHUNK) if d in ("y", "x") else 1 if d == "band" else ds.sizes[d]
                                   for d in ds[v].dims)
                    if ds[v].chunks is not None:  # Dask-backed (a STAC fetch): one Dask chunk per Zarr chunk
                        ds[v] = ds[v].chunk(dict(zip(ds[v].dims, chunks, strict=True)))
                    ds[v].encoding.pop("preferred_chunks", None)
                    ds[v].encoding.pop("chunks", None)
                    ds[v].encoding.update(chunks=chunks)
            ds.to_zarr(tmp, mode="w", zarr_format=2, consolidated=True)
    return path
