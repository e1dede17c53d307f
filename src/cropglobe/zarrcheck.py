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


#: Compression codecs a store may name (numcodecs ids). Others (``pickle`` above all: decoding it
#: runs code) are refused before any chunk is decoded, whatever numcodecs allows.
COMPRESSORS = frozenset({"blosc", "zstd", "lz4", "zlib", "gzip", "bz2", "lzma"})
#: Filters a store may name: numeric transforms and the variable-length text codecs (no pickle).
FILTERS = frozenset({"delta", "fixedscaleoffset", "quantize", "bitround", "astype", "shuffle", "packbits",
                     "categorize", "vlen-utf8", "vlen-bytes", "vlen-array"})


def check_codecs(meta: dict, where: str) -> None:
    """Refuse a ``.zarray`` whose compressor or filters are not known codecs (before anything decodes).

    Args:
        meta: The array's ``.zarray`` metadata.
        where: The array, for the message.

    Raises:
        CropGlobeError: For a compressor outside :data:`COMPRESSORS`, a filter outside
            :data:`FILTERS`, or codec metadata that is not ``{"id": ...}``.
    """
    compressor = meta.get("compressor")
    filters = meta.get("filters") or []
    if not isinstance(filters, list):
        filters = [filters]
    for role, codec, allowed in [("compressor", compressor, COMPRESSORS)] + [("filter", f, FILTERS) for f in filters]:
        if codec is None and role == "compressor":
            continue  # uncompressed
        cid = codec.get("id") if isinstance(codec, dict) else None
        if not isinstance(cid, str) or cid not in allowed:
            shown = repr(cid) if isinstance(cid, str) else f"metadata {str(codec)[:80]!r}"
            raise CropGlobeError(f"{where}: .zarray names {role} {shown}, which cropglobe does not decode; expected "
                                 f"{'no compressor or ' if role == 'compressor' else ''}one of "
                                 f"{', '.join(sorted(allowed))} (other codecs, such as pickle, can run code "
                                 "from the file): write the store again with a standard codec")


def check_store_codecs(path: str | os.PathLike) -> None:
    """:func:`check_codecs` on every array of a local Zarr v2 store: its ``.zarray`` files and its
    consolidated ``.zmetadata`` (a crafted store may name one codec in each).

    Raises:
        CropGlobeError: Naming the array and the codec that is refused.
    """
    root = Path(path)
    for name, meta in _arrays(root):
        check_codecs(meta, str(root / name))
    try:
        consolidated = json.loads((root / ".zmetadata").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    entries = consolidated.get("metadata") if isinstance(consolidated, dict) else None
    for key, meta in (entries or {}).items() if isinstance(entries, dict) else ():
        if str(key).endswith(".zarray") and isinstance(meta, dict):
            check_codecs(meta, f"{root / str(key)[: -len('.zarray')].rstrip('/')} (.zmetadata)")


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


def missing_chunk_keys(array: str | os.PathLike) -> tuple[list[str], int]:
    """The chunk keys a Zarr v2 array's ``.zarray`` expects that have no file, and how many it expects.

    One directory listing (``.`` separator) or walk (``/``); ``([], 0)`` for a folder without a
    readable ``.zarray`` (not a Zarr v2 array).
    """
    p = Path(array)
    try:
        meta = json.loads((p / ".zarray").read_text(encoding="utf-8"))
        shape, chunks = [int(s) for s in meta["shape"]], [int(c) for c in meta["chunks"]]
        sep = meta.get("dimension_separator") or "."
    except (OSError, ValueError, KeyError, TypeError):
        return [], 0
    total = math.prod(math.ceil(s / c) if c > 0 else 0 for s, c in zip(shape, chunks, strict=False))
    if sep == ".":
        present = {e.name for e in os.scandir(p) if e.is_file() and not e.name.startswith(".")}
    else:
        present = {str(Path(root, f).relative_to(p)).replace(os.sep, "/") for root, _, files in os.walk(p)
                   for f in files if not f.startswith(".")}
    if len(present) >= total:
        return [], total
    missing = [k for k in _chunk_keys(meta) if k not in present] if total else []
    return missing, total


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
        check_codecs(meta, str(root / name))
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
