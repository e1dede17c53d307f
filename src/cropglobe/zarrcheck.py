"""Check a Zarr v2 store's chunk files before decoding them: missing or truncated chunks are errors.

Reading a store through xarray turns a deleted chunk into fill values (NaN, silently) and hands a
truncated Blosc chunk to the decompressor, which may crash the process. :func:`check_store` looks
at every chunk file of the store's sample-chunked arrays first: each expected key must exist and a
Blosc chunk's header must announce exactly the file's size and the chunk's size.
cropglobe writes every chunk, empty or not (``write_empty_chunks=True``), so an absent chunk is
damage, not an all-missing block.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import struct
from pathlib import Path

import numpy as np

from cropglobe.errors import CropGlobeError

#: Size of the Blosc 1 header: version, versionlz, flags, typesize, nbytes, blocksize, cbytes.
BLOSC_HEADER = 16


def _arrays(root: Path) -> list[tuple[str, dict]]:
    found = []
    for meta in sorted(root.glob("*/.zarray")):
        try:
            found.append((meta.parent.name, json.loads(meta.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as err:
            raise CropGlobeError(f"{meta}: unreadable Zarr array metadata ({err}); the store is damaged: "
                                 "write it again from its source") from None
    return found


def _chunk_keys(meta: dict) -> list[str]:
    grid = [range(math.ceil(s / c)) if s else range(0) for s, c in zip(meta["shape"], meta["chunks"], strict=True)]
    sep = meta.get("dimension_separator") or "."
    return [sep.join(map(str, idx)) for idx in itertools.product(*grid)] if grid else ["0"]


def _check_blosc(path: Path, key: str, meta: dict, where: str) -> None:
    size = path.stat().st_size
    chunk_bytes = math.prod(meta["chunks"]) * np.dtype(meta["dtype"]).itemsize
    with open(path, "rb") as fh:
        head = fh.read(BLOSC_HEADER)
    if len(head) < BLOSC_HEADER:
        raise CropGlobeError(f"{where}: chunk {key} is truncated ({size} bytes, shorter than its header); "
                             "the store is damaged: write it again from its source")
    nbytes, _, cbytes = struct.unpack("<III", head[4:16])
    if cbytes != size or nbytes != chunk_bytes:
        raise CropGlobeError(f"{where}: chunk {key} is truncated or corrupt ({size} bytes on disk, its header "
                             f"says {cbytes} compressed / {nbytes} decoded, expected {chunk_bytes} decoded); "
                             "the store is damaged: write it again from its source")


def check_store(path: str | os.PathLike, dims_first: str = "sample") -> None:
    """Check the chunk files of every array of ``path`` whose first dimension is ``dims_first``.

    Args:
        path: A Zarr v2 store (folder).
        dims_first: Only arrays along this leading dimension are checked (a SampleSet's data).

    Raises:
        CropGlobeError: Naming the array and chunk that is missing or truncated.
    """
    root = Path(path)
    for name, meta in _arrays(root):
        try:
            attrs = json.loads((root / name / ".zattrs").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            attrs = {}
        dims = attrs.get("_ARRAY_DIMENSIONS") or []
        if not dims or dims[0] != dims_first:
            continue
        where = f"{root / name}"
        compressor = (meta.get("compressor") or {}).get("id")
        for key in _chunk_keys(meta):
            chunk = root / name / key
            if not chunk.is_file():
                raise CropGlobeError(f"{where}: chunk {key} is missing (deleted or never written); reading it "
                                     "would give missing values silently: write the store again from its source")
            if compressor == "blosc" and not meta.get("filters"):
                _check_blosc(chunk, key, meta, where)
