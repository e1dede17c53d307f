"""Windows of a local Zarr v2 array read straight from its chunk files (the map's tile reads).

zarr-python 3 serves every read through its asyncio event-loop thread: from a Dask worker thread
that is a hand-off per read, and for a map tile (whole 128 x 128 px chunks of a few bands, every
date) it cost about a quarter more CPU than decoding the chunk files directly (measured on the
``bench map`` cube: 67 vs 53 ms per 128 x 128 px tile of 10 bands x 219 dates). :func:`read_window`
decodes the chunk files of a local Zarr v2 array with its numcodecs compressor in the calling
thread (Blosc releases the GIL, so Dask threads read in parallel) and copies the window out.

It handles what :func:`cropglobe.mapping.store.write_cube` writes and most Zarr v2 stores (C order,
a known compression codec or none, no filters but checksums, missing chunks = fill value); for anything
else (NetCDF, zip stores, Zarr v3, other filters) it returns None and the caller reads through xarray.
A chunk file that does not decode to its chunk's size, or fails its checksum (``crc32c`` and the
other checksum filters, :func:`cropglobe.zarrcheck.decode_chunk`: what ``write_cube`` writes), is a
:class:`~cropglobe.errors.CropGlobeError` naming it (the cube is damaged; issue 29). Missing chunks
read as the fill value, as the Zarr format defines them (zarr-python 3 skips chunks that hold only
the fill value); :func:`missing_chunks` counts them so that the map can say so. A ``.zarray``
naming any other codec (``pickle`` would run code from the file) is refused with a
:class:`~cropglobe.errors.CropGlobeError` (:func:`cropglobe.zarrcheck.check_codecs`). Values are raw,
as ``mask_and_scale=False`` gives them.
"""

from __future__ import annotations

import itertools
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cropglobe.errors import CropGlobeError
from cropglobe.zarrcheck import check_codecs, checksum_filters, decode_chunk, missing_chunk_keys


@lru_cache(maxsize=64)
def _meta(array_dir: str) -> dict[str, Any] | None:
    """The array's ``.zarray`` (and dimension names) when this reader handles it, else None.

    Raises:
        CropGlobeError: When the ``.zarray`` names a codec outside the known compression codecs
            (:func:`cropglobe.zarrcheck.check_codecs`), before any codec is built.
    """
    p = Path(array_dir)
    try:
        meta = json.loads((p / ".zarray").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(meta, dict):
        check_codecs(meta, array_dir)
    try:
        attrs = json.loads((p / ".zattrs").read_text(encoding="utf-8")) if (p / ".zattrs").is_file() else {}
        dims = tuple(attrs.get("_ARRAY_DIMENSIONS") or ())
        filters = checksum_filters(meta)  # checksums are verified here; other filters: read through xarray
        if meta.get("zarr_format") != 2 or meta.get("order", "C") != "C" or filters is None \
                or len(dims) != len(meta["shape"]):
            return None
        import numcodecs

        codec = numcodecs.get_codec(meta["compressor"]) if meta.get("compressor") else None
        dtype = np.dtype(meta["dtype"])
        fill = meta.get("fill_value")
        return {"shape": tuple(meta["shape"]), "chunks": tuple(meta["chunks"]), "dtype": dtype, "dims": dims,
                "fill": None if fill is None else np.asarray(fill).astype(dtype), "codec": codec, "filters": filters,
                "sep": meta.get("dimension_separator") or "."}
    except Exception:
        return None


def read_window(store: str | Path, name: str, selection: dict[str, slice], dims: tuple[str, ...],
                dtype: np.dtype) -> np.ndarray | None:
    """Raw values of ``store/name`` over ``selection`` (unit-step slices by dimension name), in ``dims`` order.

    Args:
        store: A local Zarr v2 store (directory).
        name: The array's name in the store.
        selection: Slices by dimension name (missing dimensions are read whole).
        dims: Dimension order of the result (the xarray variable's).
        dtype: The dtype xarray gives the variable (a mismatch means xarray decodes it: None).

    Returns:
        The window, or None when this reader does not handle the array (read it through xarray).
    """
    meta = _meta(str(Path(store) / name))
    if meta is None or sorted(meta["dims"]) != sorted(dims) or meta["dtype"] != np.dtype(dtype) \
            or set(selection) - set(dims):
        return None
    bounds = []
    for dim, size in zip(meta["dims"], meta["shape"], strict=True):
        start, stop, step = selection.get(dim, slice(None)).indices(size)
        if step != 1:
            return None
        bounds.append((start, max(start, stop)))
    out = np.empty([hi - lo for lo, hi in bounds], dtype=meta["dtype"])
    chunks, folder = meta["chunks"], Path(store) / name
    ranges = [range(lo // c, -(-hi // c)) for (lo, hi), c in zip(bounds, chunks, strict=True)]
    try:
        for index in itertools.product(*ranges):
            src, dst = [], []
            for i, (lo, hi), c in zip(index, bounds, chunks, strict=True):
                a, b = max(lo, i * c), min(hi, (i + 1) * c)
                src.append(slice(a - i * c, b - i * c))
                dst.append(slice(a - lo, b - lo))
            path = folder / meta["sep"].join(str(i) for i in index)
            if not path.is_file():
                if meta["fill"] is None:
                    return None
                out[tuple(dst)] = meta["fill"]
                continue
            out[tuple(dst)] = _decode_chunk(path, meta).reshape(chunks)[tuple(src)]
    except CropGlobeError:
        raise
    except Exception:
        return None
    return out.transpose([meta["dims"].index(d) for d in dims])


def _decode_chunk(path: Path, meta: dict[str, Any]) -> np.ndarray:
    """One chunk file's values (flat), its checksum verified when the array has one.

    Raises:
        CropGlobeError: Naming the chunk when it does not decode, fails its checksum, or decodes to
            another size than the chunk's.
    """
    expected = int(np.prod(meta["chunks"])) * meta["dtype"].itemsize
    data = decode_chunk(path.read_bytes(), meta["codec"], meta["filters"], str(path.parent), path.name)
    size = memoryview(data).nbytes
    if size != expected:
        raise CropGlobeError(f"{path.parent}: chunk {path.name} is corrupt: it decodes to {size} bytes, expected "
                             f"{expected}; the cube is damaged: write it again from its source")
    return np.frombuffer(data, dtype=meta["dtype"])


def missing_chunks(store: str | Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """Chunks of the arrays ``names`` of a local Zarr v2 store that have no file (read as the fill value).

    Returns:
        ``{name: {"missing": k, "of": total, "first": [up to 3 chunk keys]}}`` for the arrays that
        miss chunks (empty when every chunk is there, or for anything but a Zarr v2 folder).
    """
    found: dict[str, dict[str, Any]] = {}
    for name in names:
        keys, total = missing_chunk_keys(Path(store) / name)
        if keys:
            found[name] = {"missing": len(keys), "of": total, "first": keys[:3]}
    return found
