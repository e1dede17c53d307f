"""Train / validation / test splits that are disjoint by construction, and their manifests.

Stratified random splits keep class proportions; spatial-block splits hold out whole blocks of
``block_deg`` x ``block_deg`` degrees (scikit-learn ``GroupShuffleSplit`` / ``GroupKFold`` on block
ids) so that neighbouring pixels never sit on both sides (Roberts et al. 2017, "Cross-validation
strategies for data with temporal, spatial, hierarchical, or phylogenetic structure", Ecography).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, StratifiedKFold

from cropglobe.atomic import write_text
from cropglobe.errors import CropGlobeError

METHODS = ("stratified", "spatial")


def spatial_blocks(lon: np.ndarray, lat: np.ndarray, block_deg: float) -> np.ndarray:
    """Return an integer block id per sample for square blocks of ``block_deg`` degrees."""
    if block_deg <= 0:
        raise CropGlobeError(f"split: block size must be > 0 degrees, got {block_deg}")
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if np.isnan(lon).any() or np.isnan(lat).any():
        raise CropGlobeError("split: spatial blocks need lon/lat for every sample (some are NaN)")
    ix = np.floor(lon / block_deg).astype(np.int64)
    iy = np.floor(lat / block_deg).astype(np.int64)
    return (ix - ix.min()) * (iy.max() - iy.min() + 1) + (iy - iy.min())


def holdout(labels: np.ndarray, fraction: float, seed: int, method: str = "stratified",
            lon: np.ndarray | None = None, lat: np.ndarray | None = None,
            block_deg: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into (kept, held-out); the two never share a sample.

    Args:
        labels: Class label per sample (stratification key).
        fraction: Share of samples held out (0 < fraction < 1).
        seed: Random seed.
        method: ``stratified`` (per-class random) or ``spatial`` (whole blocks held out).
        lon: Longitudes (spatial method).
        lat: Latitudes (spatial method).
        block_deg: Block size in degrees (spatial method).

    Returns:
        Sorted index arrays (kept, held).
    """
    labels = np.asarray(labels)
    n = labels.size
    if not 0 < fraction < 1:
        raise CropGlobeError(f"split: held-out fraction must be in (0, 1), got {fraction}")
    if method not in METHODS:
        raise CropGlobeError(f"split: unknown method {method!r}, expected one of {METHODS}")
    rng = np.random.default_rng(seed)
    if method == "spatial":
        groups = spatial_blocks(lon, lat, block_deg)
        if np.unique(groups).size < 2:
            raise CropGlobeError(f"split: all samples fall in one {block_deg} degree block; use smaller blocks")
        kept, held = next(GroupShuffleSplit(1, test_size=fraction, random_state=seed).split(labels, groups=groups))
        return np.sort(kept), np.sort(held)
    held_parts = []
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        k = int(round(fraction * idx.size)) if idx.size > 1 else 0
        held_parts.append(idx[:k])
    held = np.sort(np.concatenate(held_parts))
    kept = np.setdiff1d(np.arange(n), held)
    if held.size == 0 or kept.size == 0:
        raise CropGlobeError(f"split: {n} samples are too few to hold out {fraction:.0%}")
    return kept, held


def kfold(labels: np.ndarray, k: int, seed: int, method: str = "stratified",
          lon: np.ndarray | None = None, lat: np.ndarray | None = None,
          block_deg: float = 0.5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return ``k`` (train, test) index pairs (stratified or spatial-block cross-validation)."""
    labels = np.asarray(labels)
    if method == "spatial":
        groups = spatial_blocks(lon, lat, block_deg)
        return list(GroupKFold(k).split(labels, groups=groups))
    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(labels.size), labels))


def write_manifest(path: str | os.PathLike, sample_ids: np.ndarray, parts: dict[str, np.ndarray],
                   info: dict | None = None) -> Path:
    """Write a split manifest (sample ids per part, plus how the split was made) as JSON."""
    ids = np.asarray(sample_ids).astype(str)
    payload = {"info": info or {}, **{name: ids[idx].tolist() for name, idx in parts.items()}}
    seen: set[str] = set()
    for name, idx in parts.items():
        overlap = seen & set(ids[idx])
        if overlap:
            raise RuntimeError(f"split parts overlap in {len(overlap)} samples (part {name})")
        seen |= set(ids[idx])
    return write_text(path, json.dumps(payload, indent=1))
