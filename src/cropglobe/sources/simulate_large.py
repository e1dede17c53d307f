"""Large simulated observation sets (SIMULATED DATA) written to Zarr block by block, fast.

Simulating 300,000 samples one by one with :func:`cropglobe.sources.simulate.simulate` takes minutes and
holds the whole set in memory. :func:`write_tiled` simulates a base set once and writes ``n``
samples as repeats of it, each repeat's reflectance perturbed by multiplicative noise (so no two
samples are equal and medians differ) and its points jittered, one block at a time: memory is
bounded by the base set and one block. Sample ids are the base ids with a repeat suffix. Clear
scores are kept, so every repeat has its base sample's clear-sky pattern.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cropglobe import samples
from cropglobe.atomic import atomic_path
from cropglobe.errors import CropGlobeError
from cropglobe.features.stream import append_zarr, peak_rss_gb
from cropglobe.sources import simulate


def write_tiled(path: str | os.PathLike, n: int, *, base_per_class: int = 100, block: int = 10_000,
                noise: float = 0.02, seed: int = 0, countries: Sequence[str] | None = None,
                overwrite: bool = False) -> Path:
    """Write an observation-level SampleSet of ``n`` simulated samples (tiled, perturbed) to Zarr.

    Args:
        path: The Zarr store to write (atomically).
        n: Samples to write.
        base_per_class: Samples per country and class of the simulated base set.
        block: Samples per write (and per stored chunk).
        noise: Standard deviation of the multiplicative reflectance noise of repeats.
        seed: Seed of the base simulation and of the perturbations.
        countries: Countries of the base set (default: the 8 of CropGlobe).
        overwrite: Replace ``path`` even when it is not a previous cropglobe store.

    Returns:
        The store's path. Its attrs say ``simulated: True`` and how it was made.

    Raises:
        CropGlobeError: For ``n`` or ``block`` below 1.
    """
    if n < 1 or block < 1:
        raise CropGlobeError(f"write_tiled: n={n} and block={block} must be >= 1")
    samples.check_output(path, overwrite)
    base = simulate.simulate(countries=countries, samples_per_class=base_per_class, seed=seed)
    refl = base["reflectance"].transpose("sample", "band", "time").values
    clear = base["clear"].transpose("sample", "time").values
    ids = base["sample_id"].values.astype(str)
    m = ids.size
    repeats = -(-n // m)
    id_dtype = f"<U{max(len(i) for i in ids) + 2 + len(str(repeats))}"
    meta = {k: base[k].values for k in ("label", "country", "year", "lon", "lat")}
    attrs = {**base.attrs, "simulated": True, "history": [
        *base.attrs.get("history", []),
        f"write_tiled(n={n}, base_per_class={base_per_class}, noise={noise}, seed={seed}): "
        f"{repeats} perturbed repeats of {m} simulated samples"]}
    rng = np.random.default_rng(seed + 1)
    with atomic_path(path) as tmp:
        for lo in range(0, n, block):
            rows = np.arange(lo, min(lo + block, n))
            src, rep = rows % m, rows // m
            values = refl[src] * (1.0 + noise * rng.standard_normal(refl[src].shape, dtype=np.float32))
            np.clip(values, 0.0, 1.0, out=values)  # NaN (not observed) stays NaN
            part = samples.build(
                samples.SampleArrays(values, bands=[str(b) for b in base["band"].values], time=base["time"].values,
                sample_id=np.char.add(ids[src], np.char.add("-r", rep.astype(str))).astype(id_dtype),
                label=meta["label"][src], country=meta["country"][src], year=meta["year"][src],
                lon=meta["lon"][src] + rng.normal(0, 1e-3, rows.size),
                lat=meta["lat"][src] + rng.normal(0, 1e-3, rows.size),
                clear=clear[src]), attrs=attrs, where="write_tiled")
            part = part.assign_coords(label=part["label"].astype(meta["label"].dtype),
                                      country=part["country"].astype(meta["country"].dtype))
            append_zarr(part, tmp, first=lo == 0, block=block)
    return Path(path)


def write_measured(path: str, n: int, block: int = 10_000, base_per_class: int = 100, seed: int = 0) -> dict:
    """:func:`write_tiled` plus its wall time and this process's peak memory (run it in a fresh process)."""
    import time

    t0 = time.perf_counter()
    write_tiled(path, n, base_per_class=base_per_class, block=block, seed=seed, overwrite=True)
    return {"samples": n, "seconds": time.perf_counter() - t0, "peak_rss_gb": peak_rss_gb()}
