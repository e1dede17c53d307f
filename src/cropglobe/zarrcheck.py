"""Check a Zarr v2 store's chunk files before decoding them: missing or truncated chunks are errors.

Reading a store through xarray turns a deleted chunk into fill values (NaN, silently) and hands a
truncated Blosc chunk to the decompressor, which may crash the process. :func:`check_store` looks
at every chunk file of the store's sample-chunked arrays first: each expected key must exist and a
Blosc chunk's header must announce exactly the file's size and the chunk's size.
cropglobe writes every chunk, empty or not (``write_empty_chunks=True``), so an absent chunk is
damage, not an all-missing block.

Checksums (issue 29): every array cropglobe writes (:func:`checksum_encoding`: SampleSets, feature
stores, map cubes) carries a CRC32C of each chunk's decoded bytes (numcodecs' ``crc32c`` filter,
before Blosc), so a bit flip inside a chunk is an error instead of wrong values. zarr-python verifies
it on every read; :func:`decode_chunk` (the map's own chunk reader) verifies it too, and
:func:`read_error` names the chunk when a read through xarray fails. Stores without checksums
(older cropglobe stores, other producers) read as before.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cropglobe.errors import CropGlobeError

if TYPE_CHECKING:
    from numcodecs.abc import Codec

#: Size of the Blosc 1 header: version, versionlz, flags, typesize, nbytes, blocksize, cbytes.
BLOSC_HEADER = 16


#: Compression codecs a store may name (numcodecs ids). Others (``pickle`` above all: decoding it
#: runs code) are refused before any chunk is decoded, whatever numcodecs allows.
COMPRESSORS = frozenset({"blosc", "zstd", "lz4", "zlib", "gzip", "bz2", "lzma"})
#: Checksum filters (numcodecs ids): a 32-bit checksum of the bytes, verified on decode.
CHECKSUMS = frozenset({"crc32c", "crc32", "adler32", "fletcher32", "jenkins_lookup3"})
#: Filters a store may name: numeric transforms, the variable-length text codecs (no pickle) and checksums.
FILTERS = frozenset({"delta", "fixedscaleoffset", "quantize", "bitround", "astype", "shuffle", "packbits",
                     "categorize", "vlen-utf8", "vlen-bytes", "vlen-array"}) | CHECKSUMS
#: What the message of a chunk that fails its checksum expects.
CORRUPT = "the chunk is corrupt — re-create the store (write it again from its source)"


def checksum_encoding(dtype: Any) -> dict[str, Any]:
    """The Zarr v2 codecs of one array as cropglobe writes it: a CRC32C checksum of every chunk's bytes
    (a filter, appended at the end so the values stay aligned), then Blosc LZ4 with byte shuffle.

    Blosc's ``typesize`` is the values' item size: the checksum filter hands Blosc bytes, and
    shuffling them by 1 would lose the compression of shuffling by the value's size (the Blosc
    header records it, so readers need nothing more). CRC32C runs at ~20 GB/s (google-crc32c).

    Args:
        dtype: The array's dtype.

    Returns:
        ``{"filters": [...], "compressors": [...]}`` for xarray's ``to_zarr`` encoding (merge it
        with the array's other encoding, e.g. ``chunks``).
    """
    from numcodecs import CRC32C, Blosc

    size = int(np.dtype(dtype).itemsize)
    return {"filters": [CRC32C(location="end")],
            "compressors": [Blosc("lz4", 5, Blosc.SHUFFLE, typesize=size if 0 < size < 256 else None)]}


def checksum_filters(meta: dict) -> list[Codec] | None:
    """The ``.zarray``'s filters built as codecs when every one is a checksum (``[]`` without filters), else None.

    Call :func:`check_codecs` first (this builds the codecs).
    """
    filters = meta.get("filters") or []
    if not isinstance(filters, list) or not all(isinstance(f, dict) and f.get("id") in CHECKSUMS for f in filters):
        return None
    import numcodecs

    return [numcodecs.get_codec(dict(f)) for f in filters]


def _strip_checksum(codec: Codec, data: Any) -> Any:
    """The payload of ``data`` after checking its checksum (a view where numcodecs would copy).

    Raises:
        ValueError: When the checksum does not match (or the bytes are too short to hold one).
    """
    from numcodecs import CRC32, CRC32C, Adler32

    if type(codec) not in (CRC32C, CRC32, Adler32):  # fletcher32, jenkins_lookup3: numcodecs' own check
        try:
            return codec.decode(data)
        except Exception as err:
            raise ValueError(str(err)) from None
    arr = np.frombuffer(data, dtype=np.uint8)
    if arr.size < 4:
        raise ValueError("shorter than its checksum")
    stored, payload = (arr[:4], arr[4:]) if codec.location == "start" else (arr[-4:], arr[:-4])
    if int(stored.view("<u4")[0]) != codec.checksum(payload) & 0xFFFFFFFF:
        raise ValueError(f"stored and computed {codec.codec_id} differ")
    return payload


def decode_chunk(raw: bytes, compressor: Codec | None, filters: list[Codec], where: str, key: str) -> Any:
    """One chunk file's bytes decoded by its compressor, then its checksum filters checked (last first).

    Args:
        raw: The chunk file's bytes.
        compressor: The array's compressor (None: uncompressed).
        filters: Its checksum filters (:func:`checksum_filters`).
        where: The array (store path / array name), for messages.
        key: The chunk file's name.

    Returns:
        The decoded bytes (a buffer).

    Raises:
        CropGlobeError: Naming the chunk file when it does not decode or fails its checksum.
    """
    try:
        data = compressor.decode(raw) if compressor is not None else raw
    except Exception as err:  # numcodecs raises RuntimeError, ValueError ... for damaged bytes
        raise CropGlobeError(f"{where}: chunk {key} is corrupt: it does not decode ({type(err).__name__}: "
                             f"{str(err)[:200]}); the store is damaged: write it again from its source") from None
    for codec in reversed(filters):
        try:
            data = _strip_checksum(codec, data)
        except ValueError as err:
            raise CropGlobeError(f"{where}: chunk file {key}: checksum mismatch ({err}); {CORRUPT}") from None
    return data


def find_corrupt_chunk(path: str | os.PathLike, names: list[str] | None = None,
                       rows: tuple[int, int] | None = None) -> CropGlobeError | None:
    """The error naming the first chunk of a local Zarr v2 store that does not decode or fails its checksum.

    For a read through xarray that failed: zarr's message does not say which chunk. Every chunk of
    the arrays ``names`` (default: all) is decoded and checked; of arrays along ``sample``, only
    those that overlap the samples ``rows`` (``(first, stop)``) when given.

    Returns:
        That error, or None when every chunk decodes (or ``path`` is not a Zarr v2 folder).
    """
    root = Path(path)
    if not root.is_dir():
        return None
    try:
        arrays = _arrays(root)
    except CropGlobeError as err:
        return err
    for name, meta in arrays:
        if names is not None and name not in names:
            continue
        try:
            check_codecs(meta, str(root / name))
            filters = checksum_filters(meta)
            import numcodecs

            compressor = numcodecs.get_codec(meta["compressor"]) if meta.get("compressor") else None
            keys = _chunk_keys(meta)
            first = int(meta["chunks"][0]) if meta["chunks"] else 1
            span = rows if rows is not None and _dims(root / name)[:1] == ["sample"] else None
        except CropGlobeError as err:
            return err
        except Exception:  # malformed metadata: the reader's own error stands
            continue
        if filters is None and compressor is None:
            continue
        sep = meta.get("dimension_separator") or "."
        for key in keys:
            lead = int(key.split(sep)[0]) if meta["chunks"] else 0
            if span is not None and not (lead * first < span[1] and (lead + 1) * first > span[0]):
                continue  # outside the rows that were read
            try:
                raw = (root / name / key).read_bytes()
            except OSError:
                continue
            try:
                decode_chunk(raw, compressor, filters or [], str(root / name), key)
            except CropGlobeError as err:
                return err
    return None


def read_error(path: str | os.PathLike, err: Exception, what: str = "a Zarr store", names: list[str] | None = None,
               rows: tuple[int, int] | None = None) -> CropGlobeError:
    """The one error for a store that xarray / zarr failed to read: the chunk at fault when one is
    (:func:`find_corrupt_chunk`: first over ``rows``, then over every chunk), else ``"<path>: cannot be read
    as <what> (<error>)"``."""
    found = find_corrupt_chunk(path, names, rows) or (find_corrupt_chunk(path, names) if rows else None)
    if found is not None:
        return found
    return CropGlobeError(f"{path}: cannot be read as {what} ({type(err).__name__}: {str(err)[:300]})")


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


def _dims(array: Path) -> list[str]:
    """The array's dimension names (xarray's ``_ARRAY_DIMENSIONS``; ``[]`` when unknown)."""
    try:
        dims = json.loads((array / ".zattrs").read_text(encoding="utf-8")).get("_ARRAY_DIMENSIONS")
    except (OSError, ValueError, AttributeError):
        return []
    return [str(d) for d in dims] if isinstance(dims, list) else []


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
    # each checksum filter adds its 4 bytes before Blosc compresses
    chunk_bytes = math.prod(meta["chunks"]) * np.dtype(meta["dtype"]).itemsize + 4 * len(meta.get("filters") or [])
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
        dims = _dims(root / name)
        if not dims or dims[0] != dims_first:
            continue
        where = f"{root / name}"
        compressor = (meta.get("compressor") or {}).get("id")
        headed = compressor == "blosc" and checksum_filters(meta) is not None  # a Blosc frame of known size
        for key in _chunk_keys(meta):
            chunk = root / name / key
            if not chunk.is_file():
                raise CropGlobeError(f"{where}: chunk {key} is missing (deleted or never written); reading it "
                                     "would give missing values silently: write the store again from its source")
            if headed:
                _check_blosc(chunk, key, meta, where)
