"""Offline "×k copies" augmentation (numpy in, numpy out, seeded) for the reference protocol.

Source: Tong & Wang (arXiv:2509.03497) enlarge the training set with k augmented copies of every
sample before training; this applies :class:`~cropglobe.augment.transforms.PhenologyAugment` k
times in memory-bounded chunks with one seeded ``torch.Generator``. Keep validation samples out of
the input (the reference code's validation leak came from augmenting the whole source set).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from cropglobe.augment.presets import resolve
from cropglobe.augment.transforms import PhenologyAugment, check_window
from cropglobe.errors import CropGlobeError


def augment_copies(x_full: np.ndarray, window: tuple[int, int], bin_days: float, k: int,
                   augment: str | Mapping[str, Any] | PhenologyAugment = "reference-code",
                   seed: int = 0, include_original: bool = False,
                   batch_size: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Make k augmented copies of every sample's season window.

    Args:
        x_full: Full-year composites (N, B, T_full), finite, any float dtype (computed in float32).
        window: ``(start, count)`` of the season window in bins.
        bin_days: Bin width in days.
        k: Number of augmented copies per sample (>= 1).
        augment: Preset name, config mapping (see :func:`cropglobe.augment.presets.resolve`) or
            augmenter.
        seed: Seed of the generator; the same arguments give the same output.
        include_original: Put the un-augmented windows first (then the output has (k + 1) N rows).
        batch_size: Samples per chunk (bounds memory; part of what the seed reproduces).

    Returns:
        ``(x, source)``: float32 windows (M, B, count), copy-major (all samples of copy 0, then of
        copy 1, ...), and the int64 index (M,) of each row's source sample, so labels follow as
        ``y[source]``.

    Raises:
        CropGlobeError: Non-array or non-finite input, bad window, ``k`` or ``batch_size`` < 1, or
            an invalid augmentation config.
    """
    if not isinstance(x_full, np.ndarray) or x_full.ndim != 3 or x_full.dtype.kind != "f":
        raise CropGlobeError("augment_copies: x_full must be a float numpy array (N, B, T), got "
                             f"{type(x_full).__name__} {getattr(x_full, 'dtype', '')} "
                             f"{tuple(getattr(x_full, 'shape', ()))}")
    for name, value in (("k", k), ("batch_size", batch_size)):
        try:
            ok = operator.index(value) >= 1
        except TypeError:
            ok = False
        if not ok:
            raise CropGlobeError(f"augment_copies: {name} must be an integer >= 1, got {value!r}")
    bad = ~np.isfinite(x_full)
    if bad.any():
        n, b, t = np.argwhere(bad)[0]
        raise CropGlobeError(f"augment_copies: x_full has {int(bad.sum())} NaN/inf value(s), first "
                             f"at sample {n}, band {b}, bin {t}; expected a gap-filled composite")
    aug = resolve(augment, where="augment_copies: augment")
    xt = torch.from_numpy(np.ascontiguousarray(x_full, dtype=np.float32))
    start, count = check_window(xt, window, bin_days)
    n = xt.shape[0]
    generator = torch.Generator().manual_seed(int(seed))
    blocks = int(k) + int(include_original)
    out = np.empty((blocks * n, xt.shape[1], count), dtype=np.float32)
    for block in range(blocks):
        original = include_original and block == 0
        for lo in range(0, n, int(batch_size)):
            chunk = xt[lo:lo + int(batch_size)]
            rows = slice(block * n + lo, block * n + lo + chunk.shape[0])
            if original:
                out[rows] = chunk[..., start:start + count].numpy()
            else:
                out[rows] = aug(chunk, (start, count), bin_days, generator).numpy()
    source = np.tile(np.arange(n, dtype=np.int64), blocks)
    return out, source
