"""A per-pixel phenological time axis: each series re-read around the centre of its own green season.

Issue 28 lists "a per-pixel phenological time axis, e.g. time relative to each pixel's own green-up,
with the absolute date kept as a weak feature" among the candidates for transfer across a season
shift. :class:`GreenSeasonAnchor` does it as the first layer of a network, so training, the study's
evaluation, ``predict`` and ``map`` all see the same anchored inputs without any change to the
cell's inputs:

1. NDVI (Rouse et al. 1974) of each bin from the red and near-infrared bands, smoothed by a moving
   mean of ``smooth`` bins;
2. the pixel's green season: the bins where NDVI is above ``lo + level (hi - lo)`` (``lo``, ``hi``:
   the pixel's own minimum and maximum in the window; ``level`` 0.5 is the half-amplitude rule of
   TIMESAT's seasonal start / end, Jönsson & Eklundh 2004, doi:10.1016/j.cageo.2004.05.006);
3. its centre, the NDVI-excess-weighted mean time of those bins (sub-bin precision);
4. the series is shifted so that this centre lands on the window's centre (linear interpolation,
   positions clamped at the window's ends, as the time shift of :mod:`cropglobe.augment` reads
   them), and the shift itself (in windows, ``offset / T``) is appended as one constant channel:
   the absolute timing kept as a feature, which the phenology augmentation (which moves the whole
   window before this layer sees it) makes a weak one.

A pixel whose NDVI amplitude is below ``min_amplitude`` (bare soil, water, evergreen cover) has
no season to anchor on and is left where it is (offset 0). The anchor has no trainable weight and
no gradient flows through the offsets. :func:`tempcnn_anchored` puts it in front of TempCNN
(Pelletier et al. 2019), registered as ``tempcnn-anchored``.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from cropglobe.augment.transforms import read_window
from cropglobe.models.tempcnn import TempCNN


class GreenSeasonAnchor(nn.Module):
    """Shift each ``(B, T)`` series so the centre of its green season is the window's centre; add the shift.

    Args:
        red: Index of the red band (Sentinel-2 B4) among the input bands.
        nir: Index of the near-infrared band (Sentinel-2 B8).
        smooth: Width (bins, odd) of the moving mean over NDVI before the season is found.
        level: Share of the pixel's NDVI amplitude above which a bin is in the green season.
        min_amplitude: Pixels with a smaller NDVI amplitude are not moved.

    Input ``(N, B, T)``; output ``(N, B + 1, T)``: the shifted bands, then the shift as a constant
    channel (``offset / T``; positive when the pixel's season is later than the window's centre).
    """

    def __init__(self, red: int = 2, nir: int = 6, smooth: int = 3, level: float = 0.5,
                 min_amplitude: float = 0.1) -> None:
        super().__init__()
        if smooth < 1 or smooth % 2 != 1:
            raise ValueError(f"smooth must be an odd number of bins >= 1, got {smooth}")
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1), got {level}")
        if red == nir or min(red, nir) < 0:
            raise ValueError(f"red and nir must be two different band indices >= 0, got {red} and {nir}")
        self.red, self.nir, self.smooth, self.level, self.min_amplitude = red, nir, smooth, level, min_amplitude

    def offsets(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample offset (bins, (N,)) of the green season's centre from the window's centre."""
        n, b, t = x.shape
        if max(self.red, self.nir) >= b:
            raise ValueError(f"the anchor reads bands {self.red} (red) and {self.nir} (nir) but the input has "
                             f"{b} bands")
        with torch.no_grad():
            red, nir = x[:, self.red].float(), x[:, self.nir].float()
            ndvi = (nir - red) / (nir + red).abs().clamp_min(1e-6)
            ndvi = F.avg_pool1d(ndvi[:, None], self.smooth, stride=1, padding=self.smooth // 2,
                                count_include_pad=False)[:, 0]
            lo, hi = ndvi.amin(1, keepdim=True), ndvi.amax(1, keepdim=True)
            excess = (ndvi - (lo + self.level * (hi - lo))).clamp_min(0)
            time = torch.arange(t, device=x.device, dtype=ndvi.dtype)
            centre = (excess * time).sum(1) / excess.sum(1).clamp_min(1e-12)
            middle = (t - 1) / 2
            offset = torch.where((hi - lo)[:, 0] >= self.min_amplitude, centre - middle, torch.zeros_like(centre))
        return offset.to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Anchored series and the shift channel, ``(N, B + 1, T)``."""
        t = x.shape[-1]
        offset = self.offsets(x)
        shifted = read_window(x, (0, t), offset, offset)
        timing = (offset / t)[:, None, None].expand(-1, 1, t)
        return torch.cat([shifted, timing], 1)


class Anchored(nn.Module):
    """A network behind a :class:`GreenSeasonAnchor` (the anchor's extra channel is the net's last input)."""

    def __init__(self, anchor: GreenSeasonAnchor, net: nn.Module) -> None:
        super().__init__()
        self.anchor, self.net = anchor, net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the anchored inputs."""
        return self.net(self.anchor(x))


def tempcnn_anchored(n_bands: int, n_times: int, n_classes: int, red: int = 2, nir: int = 6, smooth: int = 3,
                     level: float = 0.5, tempcnn: dict[str, Any] | None = None) -> Anchored:
    """TempCNN (Pelletier et al. 2019) on the green-season-anchored series (:class:`GreenSeasonAnchor`).

    Args:
        n_bands: Input bands (the anchor adds one channel).
        n_times: Time bins of the season window.
        n_classes: Output logits.
        red: Index of the red band (B4) in the cell's bands: 2 for the canonical order B2, B3, B4, ...
        nir: Index of the near-infrared band (B8): 6 for B2, B3, B4, B5, B6, B7, B8, ... (with or without B8A
            after it).
        smooth: Moving-mean width over NDVI (odd bins).
        level: Share of the NDVI amplitude that starts the green season.
        tempcnn: Options of the TempCNN behind the anchor (``filters``, ``kernel_size``, ``hidden``,
            ``dropout``, ``batch_norm``; :func:`cropglobe.models.tempcnn.tempcnn`); ``None``: the paper's
            sizes. The ``map --fast`` student of an anchored teacher is the small TempCNN of
            :mod:`cropglobe.mapping.student` behind the teacher's own anchor.
    """
    if max(red, nir) >= n_bands:
        raise ValueError(f"red={red} and nir={nir} must index the {n_bands} input bands")
    net = dict(tempcnn or {})
    allowed = set(inspect.signature(TempCNN).parameters) - {"n_bands", "n_times", "n_classes"}
    if set(net) - allowed:
        raise ValueError(f"tempcnn options {sorted(set(net) - allowed)} are not TempCNN's ({sorted(allowed)})")
    return Anchored(GreenSeasonAnchor(red, nir, smooth, level), TempCNN(n_bands + 1, n_times, n_classes, **net))
