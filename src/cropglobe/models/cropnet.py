"""CropNet: the small 2D CNN over the (band × time) median matrix, and its "lite" variant.

Source: Tong & Wang, "Invariant Features for Global Crop Type Classification", arXiv:2509.03497
(v2, Sec. 3 "CropNet"): the 2D spectral-temporal median matrix is treated as a one-channel image
of ``B`` bands × ``T`` five-day bins; four blocks of ``Conv3×3 → BN → ReLU → Conv3×3 → BN → ReLU
→ Dropout2d`` with widths 64/128/256/512, stride 2 in blocks 2 and 4, global average pooling and
a linear head. With bias-free convolutions this has exactly 4,689,735 parameters for 7 classes
(BN affine weights and the head's bias counted; BN running statistics are buffers, not parameters).

The "lite" variant reproduces the authors' released code: four blocks of width 128 with the same
two-conv layout, the *first* convolution of block 1 with stride 2 (no other downsampling), and
dropout 0.2/0.3/0.3/0.4 after blocks 1-4. Block layout and parameter count for 7 classes::

    block 1: Conv(1→128, 3×3, stride 2) 1,152 + Conv(128→128) 147,456 + 2 BN 512 = 149,120
    block 2-4: 2 × Conv(128→128) 294,912 + 2 BN 512                     = 295,424 each
    head: Linear(128→7)                                                  =     903
    total: 149,120 + 3 × 295,424 + 903                                   = 1,036,295

The count does not depend on the number of bands or time bins (one input channel, global
pooling), so any ``B × T`` input works; a 10 × 43 matrix becomes 5 × 22 after block 2 and 3 × 11
after block 4 in the full model.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cropglobe.models.layout import band_time_image

#: Per-block dropout of the authors' released code (also the default of the full model).
DEFAULT_DROPOUT: tuple[float, float, float, float] = (0.2, 0.3, 0.3, 0.4)


def _conv_bn_relu(cin: int, cout: int, stride: int | tuple[int, int]) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class CropNetBlock(nn.Sequential):
    """Conv3×3 → BN → ReLU → Conv3×3 → BN → ReLU → Dropout2d; the stride applies to the first conv."""

    def __init__(self, cin: int, cout: int, stride: int = 1, dropout: float = 0.0) -> None:
        super().__init__(*_conv_bn_relu(cin, cout, stride), *_conv_bn_relu(cout, cout, 1),
                         nn.Dropout2d(dropout))


class CropNet(nn.Module):
    """CropNet 2D CNN (Tong & Wang 2025, arXiv:2509.03497) over a one-channel band × time image.

    Args:
        n_classes: Number of output logits.
        widths: Output channels of the four blocks.
        strides: Stride of each block's first convolution.
        dropout: Dropout2d probability after each block (one value or one per block).
        channels_last: Run the convolutions in ``torch.channels_last`` memory format (faster
            oneDNN kernels on CPU); the result is the same up to float rounding.

    Inputs are ``(N, B, T)`` float32 tensors; the channel dimension is added here.
    """

    def __init__(self, n_classes: int, widths: Sequence[int] = (64, 128, 256, 512),
                 strides: Sequence[int] = (1, 2, 1, 2),
                 dropout: float | Sequence[float] = DEFAULT_DROPOUT,
                 channels_last: bool = True) -> None:
        super().__init__()
        drops = [float(dropout)] * len(widths) if isinstance(dropout, (int, float)) else list(dropout)
        if not (len(widths) == len(strides) == len(drops)):
            raise ValueError("widths, strides and dropout need one entry per block")
        blocks, cin = [], 1
        for width, stride, drop in zip(widths, strides, drops, strict=True):
            blocks.append(CropNetBlock(cin, width, stride, drop))
            cin = width
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(cin, n_classes)
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits ``(N, n_classes)`` for inputs ``(N, B, T)``."""
        x = band_time_image(x, self.channels_last)
        x = self.pool(self.features(x)).flatten(1)
        return self.head(x)


def cropnet(n_bands: int, n_times: int, n_classes: int, dropout: float | Sequence[float] = DEFAULT_DROPOUT,
            channels_last: bool = True, widths: Sequence[int] = (64, 128, 256, 512)) -> CropNet:
    """Build the paper's CropNet (widths 64/128/256/512, stride 2 in blocks 2 and 4).

    ``n_bands`` and ``n_times`` do not change the architecture (global pooling); they are part of
    the registry signature and of the saved spec. ``widths`` scales the four blocks (e.g.
    16/32/64/128 for a CPU demo, about 1/16 of the FLOPs); the default is the paper's model.
    """
    if len(widths) != 4 or any(int(w) < 1 for w in widths):
        raise ValueError(f"widths must be four positive block widths, got {list(widths)}")
    return CropNet(n_classes, tuple(int(w) for w in widths), (1, 2, 1, 2), dropout, channels_last)


def cropnet_lite(n_bands: int, n_times: int, n_classes: int,
                 dropout: float | Sequence[float] = DEFAULT_DROPOUT,
                 channels_last: bool = True) -> CropNet:
    """Build CropNet-lite from the authors' code (4 blocks of width 128, stride 2 in the first conv)."""
    return CropNet(n_classes, (128, 128, 128, 128), (2, 1, 1, 1), dropout, channels_last)
