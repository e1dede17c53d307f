"""A SIMULATED raster cube with known per-pixel classes, and the demo map of a transfer run.

:func:`simulated_cube` arranges simulator samples (:func:`cropglobe.simulate.simulate`) into a grid
of square fields, one class per field and a different simulated pixel in every cell, on a 10 m
UTM grid inside the country's simulated region, and can make a block of pixels fully cloudy
(clear-sky score below any threshold on every date) so that the map must mark them nodata.
SIMULATED DATA: the cube carries ``attrs["simulated"] = True``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from cropglobe import simulate as _simulate
from cropglobe import taxonomy
from cropglobe.atomic import atomic_path
from cropglobe.errors import CropGlobeError

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

    Zarr chunks hold the whole time series of one band over 128 x 128 pixels (LZ4 + byte shuffle), so
    a map tile reads few chunks and only those of the bands its features use (map strips are aligned
    to the chunk rows, see :func:`cropglobe.mapping.tiles.run_tile`).
    """
    path = Path(path)
    ds = as_digital_numbers(ds) if dn else ds
    with atomic_path(path) as tmp:
        if path.suffix == ".nc":
            ds.to_netcdf(tmp)
        else:
            from numcodecs import Blosc

            ds = ds.copy()
            for v in ds.data_vars:
                if set(ds[v].dims) >= {"y", "x"}:
                    chunks = tuple(min(ds.sizes[d], CHUNK) if d in ("y", "x") else 1 if d == "band" else ds.sizes[d]
                                   for d in ds[v].dims)
                    if ds[v].chunks is not None:  # Dask-backed (a STAC fetch): one Dask chunk per Zarr chunk
                        ds[v] = ds[v].chunk(dict(zip(ds[v].dims, chunks, strict=True)))
                    ds[v].encoding.pop("preferred_chunks", None)
                    ds[v].encoding.pop("chunks", None)
                    ds[v].encoding.update(chunks=chunks, compressor=Blosc("lz4", 5, Blosc.SHUFFLE))
            ds.to_zarr(tmp, mode="w", zarr_format=2, consolidated=True)
    return path


def _pick_cell(run_dir: Path, country: str) -> Path:
    cells = sorted(p.parent for p in (run_dir / "cells").glob("*/recipe.json"))
    if not cells:
        raise CropGlobeError(f"{run_dir}: no cells/<cell>/recipe.json; expected a finished `cropglobe transfer` run")
    results = run_dir / "results.parquet"
    if results.is_file():
        import pandas as pd

        from cropglobe.experiment.runner import cell_key  # noqa: F401 - same naming as the runner

        table = pd.read_parquet(results)
        rows = table[table["target"] == country]
        for _, row in rows.sort_values("macro_f1", ascending=False).iterrows():
            prefix = f"{row['source']}__{row['feature']}__{row['model']}__{row['augmentation']}"
            match = [c for c in cells if c.name.startswith(prefix)]
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
    cell = _pick_cell(run_dir, country.upper())
    h = fields[0] * field_px
    cube, truth = simulated_cube(country, fields, field_px, seed, cloudy=(slice(0, h // 4), slice(0, h // 4)))
    store = write_cube(cube, out_dir / "region.zarr")
    from cropglobe.mapping.run import make_map

    result = make_map(cell, store, out_dir / "map.tif", tile=64, scheduler=scheduler, workers=2)
    import rasterio

    with rasterio.open(result.paths["classes"]) as src:
        got = src.read(1)
    mapped = truth != 255
    accuracy = float((got[mapped] == truth[mapped]).mean())
    return {"cell": str(cell), "png": result.paths["png"], "map": result.paths["classes"],
            "areas": result.paths["areas"], "accuracy": accuracy, "pixels": result.pixels,
            "data": "SIMULATED"}
