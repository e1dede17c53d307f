"""What an augmentation does to a data set, measured without training.

Used to look for the cause of an augmentation that hurts (issue 18): for each augmenter it draws
one augmented copy of every sample (seeded) and reports, per country,

* ``rel_change``: mean |x_aug - x| / mean |x| over the season window (how much it moves inputs);
* ``vs_class_gap``: mean per-sample |x_aug - x| divided by the mean |mu_a - mu_b| between the
  class-mean windows of every pair of classes present (> 1 means a typical augmented sample moves
  further than the typical distance between two classes' mean curves);
* ``curvature``: mean |second difference over time| of the augmented windows divided by that of
  the originals. Monthly or dekadal composites re-gridded to 5-day bins by linear interpolation
  are piecewise linear (zero second difference inside a month), so a ratio far above 1 shows
  the augmentation adds short-period structure that no real composite of that cadence has;
* ``offset_days``: mean signed move of the window centre (shift + time scale), in days; a
  non-zero mean is a systematic phenology bias of the training inputs against the validation
  and target inputs (the paper's scale range [-30, +10] days has mean -10 days per end).

Augmentation: Tong & Wang (arXiv:2509.03497); warping after Um et al. (ICMI 2017).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from cropglobe.augment.presets import label, resolve


def _window_offsets(aug: Any, n: int, count: int, bin_days: float, seed: int) -> np.ndarray:
    """Signed move of each sample's window centre in days, from the same draws as the augmentation."""
    like = torch.zeros(1)
    draw = aug.sample(n, count, bin_days, torch.Generator().manual_seed(seed), like)
    off = draw.offsets(n, like)
    if off is None:
        return np.zeros(n)
    return ((off[0] + off[1]) / 2 * bin_days).numpy()


def measure(x_full: np.ndarray, labels: np.ndarray, groups: np.ndarray, window: tuple[int, int],
            bin_days: float, augmentations: Mapping[str, Any] | list[Any], seed: int = 0) -> pd.DataFrame:
    """Measure each augmentation's effect per group (country), one seeded draw per sample.

    Args:
        x_full: Full-year composites (N, B, T_full), gap-filled.
        labels: Class name or code per sample (N,).
        groups: Group (country) per sample (N,).
        window: ``(start, count)`` bins of the season window.
        bin_days: Bin width in days.
        augmentations: Config entries (preset names or mappings), or a mapping label -> entry.
        seed: Seed of the draws.

    Returns:
        One row per (augmentation, group) with the columns described in the module docstring.
    """
    entries = dict(augmentations) if isinstance(augmentations, Mapping) else {label(a): a for a in augmentations}
    start, count = window
    base = x_full[..., start:start + count].astype(np.float64)
    rows = []
    for name, entry in entries.items():
        aug = resolve(entry)
        g = torch.Generator().manual_seed(seed)
        out = aug(torch.as_tensor(x_full, dtype=torch.float32), window, bin_days, generator=g).numpy()
        offsets = _window_offsets(aug, len(x_full), count, bin_days, seed)
        for grp in np.unique(groups):
            m = groups == grp
            x, xa = base[m], out[m].astype(np.float64)
            move = np.abs(xa - x).mean(axis=(1, 2))
            means = [x[labels[m] == c].mean(0) for c in np.unique(labels[m])]
            gaps = [np.abs(a - b).mean() for i, a in enumerate(means) for b in means[i + 1:]]
            curv = np.abs(np.diff(x, 2, axis=-1)).mean()
            rows.append({
                "augmentation": name, "group": str(grp), "n": int(m.sum()),
                "rel_change": float(move.mean() / np.abs(x).mean()),
                "vs_class_gap": float(move.mean() / np.mean(gaps)) if gaps else float("nan"),
                "curvature": float(np.abs(np.diff(xa, 2, axis=-1)).mean() / curv) if curv > 0 else float("nan"),
                "offset_days": float(offsets[m].mean()),
                "changed": float((move > 0).mean()),
            })
    return pd.DataFrame(rows)


def curvature_by_cadence(x_full: np.ndarray, groups: np.ndarray, window: tuple[int, int]) -> pd.DataFrame:
    """Share of (sample, band, bin) second differences that are ~0 per group: how piecewise-linear it is."""
    start, count = window
    d2 = np.abs(np.diff(x_full[..., start:start + count], 2, axis=-1))
    return pd.DataFrame([{"group": str(g), "flat_share": float((d2[groups == g] < 1e-6).mean())}
                         for g in np.unique(groups)])
