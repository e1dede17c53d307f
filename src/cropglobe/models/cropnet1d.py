"""CropNet-1D: the CropNet block design with 1D convolutions over time and bands as channels.

Source: the CropNet architecture of Tong & Wang, arXiv:2509.03497 (v2, Sec. 3), with every
``Conv3×3``/``BatchNorm2d``/``Dropout2d`` replaced by ``Conv1d(k=3)``/``BatchNorm1d``/
``Dropout1d`` along the time axis, in the spirit of the temporal CNNs of Pelletier et al. 2019
(Remote Sensing 11(5):523). Four blocks of widths 64/128/256/512, stride 2 in blocks 2 and 4,
global average pooling over time and a linear head; the first conv has ``n_bands`` input channels.
A 43-bin season becomes 22 bins after block 2 and 11 after block 4.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cropglobe.models.cropnet import DEFAULT_DROPOUT


class CropNet1DBlock(nn.Sequential):
    """Conv1d(3) → BN → ReLU → Conv1d(3) → BN → ReLU → Dropout1d; the stride applies to the first conv."""

    def __init__(self, cin: int, cout: int, stride: int = 1, dropout: float = 0.0) -> None:
        super().__init__(nn.Conv1d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm1d(cout),
                         nn.ReLU(inplace=True), nn.Conv1d(cout, cout, 3, 1, 1, bias=False),
                         nn.BatchNorm1d(cout), nn.ReLU(inplace=True), nn.Dropout1d(dropout))


class CropNet1D(nn.Module):
    """CropNet with temporal 1D convolutions (bands as input channels).

    Args:
        n_bands: Input channels.
        n_classes: Number of output logits.
        widths: Output channels of the four blocks.
        strides: Stride of each block's first convolution.
        dropout: Dropout1d probability after each block (one value or one per block).
    """

    def __init__(self, n_bands: int, n_classes: int, widths: Sequence[int] = (64, 128, 256, 512),
                 strides: Sequence[int] = (1, 2, 1, 2),
                 dropout: float | Sequence[float] = DEFAULT_DROPOUT) -> None:
        super().__init__()
        drops = [float(dropout)] * len(widths) if isinstance(dropout, (int, float)) else list(dropout)
        if not (len(widths) == len(strides) == len(drops)):
            raise ValueError("widths, strides and dropout need one entry per block")
        blocks, cin = [], n_bands
        for width, stride, drop in zip(widths, strides, drops, strict=True):
            blocks.append(CropNet1DBlock(cin, width, stride, drop))
            cin = width
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(cin, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits ``(N, n_classes)`` for inputs ``(N, B, T)``."""
        return self.head(self.features(x).mean(-1))


def cropnet1d(n_bands: int, n_times: int, n_classes: int,
              dropout: float | Sequence[float] = DEFAULT_DROPOUT) -> CropNet1D:
    """Build CropNet-1D for ``n_bands`` channels (any number of time bins)."""
    return CropNet1D(n_bands, n_classes, dropout=dropout)
