"""Phenology augmentation (time shift, time scale, magnitude warping) as batched torch transforms.

Source: Tong & Wang, "Invariant Features for Global Crop Type Classification" (arXiv:2509.03497);
magnitude warping after Um et al. (ICMI 2017). Transforms read the full-year composite
``x_full`` (N, B, T_full) and return the augmented season window (N, B, count)::

    from cropglobe.augment import get_preset
    aug = get_preset("paper")                              # or "reference-code", or resolve(config)
    g = torch.Generator(device=x_full.device).manual_seed(0)
    x = aug(x_full, window=(24, 43), bin_days=5, generator=g)

Modules: :mod:`~cropglobe.augment.transforms` (the transforms), :mod:`~cropglobe.augment.spline`
(torch cubic splines), :mod:`~cropglobe.augment.presets` (named presets, config resolution),
:mod:`~cropglobe.augment.offline` (the "×k copies" numpy mode), :mod:`~cropglobe.augment.align`
(test-time season alignment: the window offset / stretch chosen on unlabelled target data).
"""

from cropglobe.augment.offline import augment_copies
from cropglobe.augment.presets import get_preset, label, preset_names, resolve
from cropglobe.augment.transforms import (
    AugmentDraw,
    MagnitudeWarp,
    PhenologyAugment,
    TimeScale,
    TimeShift,
    read_window,
)

__all__ = [
    "AugmentDraw",
    "MagnitudeWarp",
    "PhenologyAugment",
    "TimeScale",
    "TimeShift",
    "augment_copies",
    "get_preset",
    "label",
    "preset_names",
    "read_window",
    "resolve",
]
