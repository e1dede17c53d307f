"""Streaming composite -> features over a Zarr SampleSet, block by block: memory bounded by a block.

:func:`samples.load` reads a whole set into memory (a CropGlobe-size observation set of 300,000
samples x 10 bands x ~146-219 dates is 2-3 GB of float32 before any intermediate). :func:`stream`
instead opens the store lazily, reads ``block`` samples at a time, composites them
(:func:`cropglobe.temporal.composite.composite`), cuts the season window and computes the requested feature
families (:data:`cropglobe.features.families.FEATURES`), then appends the block's features to a Zarr
feature store. Every step is per sample, so the result equals the whole-set computation (same
samples dropped, same values) while peak memory depends on ``block``, not on N.

Blocks in which composite keeps no sample (all cloudy, no window coverage) are dropped whole and
listed in ``attrs["dropped_blocks"]``; a run in which no block keeps a sample raises the first
block's error. With ``coverage="error"`` an uncovered sample stops the run as it would in one piece; with
``coverage="fill"`` the samples kept by filling their window edges are counted (``edge_filled``).
"""

from __future__ import annotations

import logging
import os
import resource
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from cropglobe import samples
from cropglobe.atomic import atomic_path
from cropglobe.errors import CropGlobeError
from cropglobe.features.families import get_feature
from cropglobe.temporal.composite import COUNT_KEYS, add_drops, composite, season
from cropglobe.temporal.settings import CompositeSettings
from cropglobe.zarrcheck import check_store, checksum_encoding, read_error

log = logging.getLogger(__name__)

#: Samples per block when none is given: ~60 MB of float32 observations at 10 bands x 146 dates.
DEFAULT_BLOCK = 10_000


def open_lazy(path: str | os.PathLike) -> xr.Dataset:
    """Open a Zarr SampleSet without reading its arrays (values are read when a block is indexed).

    Raises:
        CropGlobeError: If the path is missing or not a readable SampleSet store.
    """
    p = Path(path)
    if not p.exists():
        raise CropGlobeError(f"{p}: no such SampleSet (expected a Zarr folder written by cropglobe)")

    check_store(p)
    try:
        ds = xr.open_dataset(p, engine="zarr", chunks=None, consolidated=None)
    except Exception as err:  # any reader failure is a bad input here (a chunk failing its checksum: named)
        raise read_error(p, err, "a Zarr SampleSet") from None
    if "reflectance" not in ds or "sample" not in ds.dims:
        raise CropGlobeError(f"{p}: not a SampleSet (expected a 'reflectance' variable along 'sample')")
    return ds


def iter_blocks(ds: xr.Dataset, block: int = DEFAULT_BLOCK, where: str = "SampleSet") -> Iterator[xr.Dataset]:
    """Yield consecutive blocks of ``block`` samples of a (lazy) SampleSet, each loaded and validated."""
    if block < 1:
        raise CropGlobeError(f"block={block!r}: expected a positive number of samples")
    n = ds.sizes["sample"]
    for lo in range(0, n, block):
        part = load_block(ds, lo, min(lo + block, n), where)
        part.attrs["history"] = list(part.attrs.get("history") or [])
        yield samples.validate(part, where=f"{where} samples {lo}:{lo + part.sizes['sample']}")


def load_block(ds: xr.Dataset, lo: int, hi: int, where: str) -> xr.Dataset:
    """Samples ``lo:hi`` of a lazy SampleSet read into memory.

    Args:
        ds: The lazy set (:func:`open_lazy`).
        lo: First sample.
        hi: Stop sample.
        where: The store's path (for messages and to find a damaged chunk).

    Raises:
        CropGlobeError: Naming the chunk file that does not decode or fails its checksum
            (:func:`cropglobe.zarrcheck.read_error`), never a zarr traceback.
    """
    try:
        return ds.isel(sample=slice(lo, hi)).load()
    except Exception as err:  # zarr's checksum or decompressor error: find the chunk and name it
        raise read_error(where, err, "a Zarr SampleSet", rows=(lo, hi)) from None


def append_zarr(ds: xr.Dataset, store: Path, first: bool, block: int) -> None:
    """Write ``ds`` as the first block of a Zarr v2 store (``first``) or append it along ``sample``.

    Per-sample variables are chunked by ``block`` samples with whole series per chunk; every chunk
    is written (empty or not), as :func:`cropglobe.samples.write_zarr` does. Every call sets the
    store's root attributes to ``ds.attrs`` (xarray rewrites them on append): pass the same ones.
    """
    attrs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in ds.attrs.items()}
    out = ds.assign_attrs(attrs)  # an append rewrites the group's attributes with these
    if first:  # a CRC32C per chunk (cropglobe.zarrcheck.checksum_encoding); appends keep the arrays' codecs
        encoding = {name: {**checksum_encoding(var.dtype), **({"chunks": tuple(
                        min(block, ds.sizes[d]) if d == "sample" else ds.sizes[d] for d in var.dims)}
                        if var.dims and var.dims[0] == "sample" else {})}
                    for name, var in ds.variables.items()}
        out.to_zarr(store, mode="w", zarr_format=2, consolidated=True, encoding=encoding, write_empty_chunks=True)
    else:
        out.to_zarr(store, append_dim="sample", zarr_format=2, consolidated=True, write_empty_chunks=True)


@dataclass
class StreamResult:
    """What :func:`stream` did: samples in and out, blocks, dropped counts, seconds and the store."""

    output: Path
    samples_in: int = 0
    samples_out: int = 0
    blocks: int = 0
    dropped: int = 0
    dropped_blocks: list[dict[str, Any]] = field(default_factory=list)
    by_country: dict[str, dict[str, int]] = field(
        default_factory=lambda: {key: {} for key in COUNT_KEYS})
    dropped_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _features_block(window: xr.Dataset, families: Sequence[str], options: dict[str, dict],
                    widths: dict[str, np.dtype]) -> xr.Dataset:
    """The feature arrays of one season-windowed composite block, with its per-sample coords."""
    data: dict[str, Any] = {}
    for name in families:
        spec = get_feature(name)
        values = spec.fn(window, **options.get(name, {}))
        if spec.kind == "matrix":
            data[name] = (("sample", "band", "window_time"), values)
        else:
            data[name] = (("sample", f"{name}_feature"), values)
    coords = {k: ("sample", v.values.astype(widths.get(k, v.dtype))) for k, v in window.coords.items()
              if v.dims == ("sample",)}
    if any(get_feature(n).kind == "matrix" for n in families):
        coords.update({"band": ("band", window["band"].values.astype(str)),
                       "window_time": ("window_time", window["time"].values),
                       "window_bin_days": ("window_time", window["bin_days"].values)})
    return xr.Dataset(data, coords=coords)


def check_composite_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check :func:`cropglobe.temporal.composite.composite` keyword arguments before any block is read.

    Offsets given as a YAML path are read here; the settings are validated as
    :class:`cropglobe.recipe.CompositeSettings` (so a bad ``window`` or threshold fails once, not
    in every block).

    Raises:
        CropGlobeError: For an unknown option or an invalid value.
    """
    from pydantic import ValidationError

    from cropglobe.checks import suggestion, validation_error
    from cropglobe.temporal.season import load_offsets, parse_window

    opts = dict(options or {})
    known = set(CompositeSettings.model_fields)
    unknown = sorted(set(opts) - known - {"chunk"})
    if unknown:
        raise CropGlobeError(f"composite options {unknown}: unknown; expected some of {sorted(known)}"
                             f"{suggestion(unknown[0], known)}")
    if opts.get("offsets") is not None:
        opts["offsets"] = load_offsets(opts["offsets"]) or None
    try:
        settings = CompositeSettings(**{k: v for k, v in opts.items() if k in known})
    except ValidationError as err:
        raise validation_error("composite options", err, model=CompositeSettings) from None
    parse_window(settings.window)
    return opts


def stream(src: str | os.PathLike, out: str | os.PathLike, families: Sequence[str] = ("median2d", "harmonic"),
           *, block: int = DEFAULT_BLOCK, composite_options: dict[str, Any] | None = None,
           feature_options: dict[str, dict] | None = None, overwrite: bool = False,
           progress: Callable[[int], None] | None = None) -> StreamResult:
    """Composite an observation-level Zarr SampleSet and compute features, ``block`` samples at a time.

    Args:
        src: Observation-level (or dated coarse composite) SampleSet store.
        out: Feature store to write (Zarr v2, atomically): one variable per family, ``(sample,
            band, window_time)`` for matrix families and ``(sample, <family>_feature)`` for vector
            ones, the composite's per-sample coords, and attrs of the composite (dropped counts summed).
        families: Feature family names (:data:`cropglobe.features.families.FEATURES`).
        block: Samples per block (peak memory grows with it, not with the set's size).
        composite_options: Keyword arguments of :func:`cropglobe.temporal.composite.composite`.
        feature_options: Per-family keyword arguments.
        overwrite: Replace ``out`` even when it is not a previous cropglobe store.
        progress: Called with the number of samples of each block once it is done (progress bars).

    Returns:
        Counts, seconds and the output path.

    Raises:
        CropGlobeError: On bad input, when no block keeps a sample, or (``coverage="error"``) on an
            uncovered sample.
    """
    if not families:
        raise CropGlobeError("stream: no feature family given; expected some of median2d, harmonic, ...")
    for name in families:
        get_feature(name)
    if block < 1:
        raise CropGlobeError(f"block={block!r}: expected a positive number of samples")
    copts = check_composite_options(composite_options)
    settings = CompositeSettings.model_construct(**{k: v for k, v in copts.items() if k != "chunk"})  # checked above
    fopts = dict(feature_options or {})
    t0 = time.perf_counter()
    lazy = open_lazy(src)
    samples.check_output(out, overwrite)
    widths = {k: v.dtype for k, v in lazy.coords.items() if v.dims == ("sample",) and v.dtype.kind == "U"}
    result = StreamResult(Path(out), samples_in=lazy.sizes["sample"])
    attrs: dict[str, Any] | None = None
    first_error: str | None = None
    with atomic_path(out) as tmp:
        for i, part in enumerate(iter_blocks(lazy, block, where=str(src))):
            result.blocks += 1
            if progress is not None and i:
                progress(block)
            try:
                comp = composite(part, settings, copts.get("chunk", 2048))
            except CropGlobeError as err:
                if copts.get("coverage") == "error":
                    raise
                first_error = first_error or str(err)
                lo = i * block
                result.dropped += part.sizes["sample"]
                ids = part["sample_id"].values.astype(str)
                result.dropped_ids.extend(ids[:1000 - len(result.dropped_ids)].tolist())
                result.dropped_blocks.append({"samples": f"{lo}:{lo + part.sizes['sample']}", "reason": str(err)})
                log.warning("stream: block %d (samples %d:%d) dropped whole: %s", i, lo,
                            lo + part.sizes["sample"], err)
                continue
            table = _features_block(season(comp), families, fopts, widths)
            result.dropped += int(comp.attrs["dropped_samples"])
            add_drops(result.by_country, comp.attrs)
            result.dropped_ids.extend(comp.attrs.get("dropped_sample_ids", [])[:1000 - len(result.dropped_ids)])
            if attrs is None:
                attrs = {k: v for k, v in comp.attrs.items() if not k.startswith("dropped") and k not in COUNT_KEYS}
            table.attrs = attrs
            append_zarr(table, tmp, first=result.samples_out == 0, block=block)
            result.samples_out += table.sizes["sample"]
        if progress is not None and result.blocks:
            progress(result.samples_in - (result.blocks - 1) * block)
        if result.samples_out == 0:
            raise CropGlobeError(f"stream {src}: no block kept a sample ({first_error})")
        _finish_attrs(tmp, attrs or {}, result, families, block)
    result.seconds = time.perf_counter() - t0
    return result


def _finish_attrs(store: Path, attrs: dict[str, Any], result: StreamResult, families: Sequence[str],
                  block: int) -> None:
    """Record run totals in the store's root attributes (and re-consolidate its metadata)."""
    import zarr

    root = zarr.open_group(store, mode="r+", zarr_format=2)
    root.attrs.update({
        "time_kind": "features", "features": list(families), "stream_block": int(block),
        "samples_in": result.samples_in, "dropped_samples": result.dropped, "dropped_blocks": result.dropped_blocks,
        "dropped_sample_ids": result.dropped_ids, **result.by_country,
        "history": [*attrs.get("history", []), f"stream(features={list(families)}, block={block}): "
                    f"{result.samples_in} samples in, {result.samples_out} out"],
    })
    zarr.consolidate_metadata(store, zarr_format=2)


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far in GB (1e9 bytes; ``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def stream_measured(src: str, out: str, families: Sequence[str] = ("median2d", "harmonic"),
                    block: int = DEFAULT_BLOCK) -> dict[str, Any]:
    """:func:`stream` plus its wall and CPU time and this process's peak memory (run it in a fresh process).

    CPU time (all threads of the process) is what the work costs; on a shared machine wall time
    also counts the time other processes held the cores.
    """
    cpu = time.process_time()
    res = stream(src, out, families, block=block, overwrite=True)
    return {"samples_in": res.samples_in, "samples_out": res.samples_out, "blocks": res.blocks,
            "seconds": res.seconds, "cpu_seconds": time.process_time() - cpu, "peak_rss_gb": peak_rss_gb()}
