"""ResNet-50 baseline adapted to a one-channel band × time matrix, in plain PyTorch.

Source: He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
(ResNet-50: bottleneck blocks [3, 4, 6, 3], widths 64/128/256/512 with expansion 4; stride on
the 3×3 conv of each stage's first block, as in torchvision's "ResNet v1.5"). Used as a baseline
by Tong & Wang, arXiv:2509.03497 (23.57M parameters). torchvision cannot be imported with this
project's CPU PyTorch build, so the network is written out here.

Adaptation to small inputs: the ImageNet stem (7×7 conv stride 2 followed by a 3×3 max-pool
stride 2) divides both axes by 4 before the first stage and the stages by another 8, so a
10 × 43 median matrix would be 3 × 11 after the stem and 1 × 2 in the last stage: the band axis
collapses to a single padded row from stage 3 on.
Here the stem convolution has stride 1 and there is **no max-pool**; the stage strides (2 in
stages 2-4) are kept, so a 10 × 43 input is 10 × 43 in stage 1, 5 × 22, 3 × 11 and 2 × 6 after.
The stem's single input channel gives 23,516,103 parameters for 7 classes (within 0.3 % of the
paper's 23.57M, which counts a 3-channel stem and a different head).
"""

from __future__ import annotations

import torch
from torch import nn

from cropglobe.models.layout import band_time_image


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 (strided) → 1×1 expand, each with BN, plus an identity/projection shortcut."""

    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    """ResNet-50 (He et al. 2016) with a stride-1, max-pool-free stem for band × time inputs.

    Args:
        n_classes: Number of output logits.
        dropout: Dropout before the linear head (0 = none, as in the original).
        channels_last: Run convolutions in ``torch.channels_last`` memory format.
    """

    def __init__(self, n_classes: int, dropout: float = 0.0, channels_last: bool = True) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 64, 7, stride=1, padding=3, bias=False),
                                  nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        layers, cin = [], 64
        for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            stage = [Bottleneck(cin, width, stride)]
            cin = width * Bottleneck.expansion
            stage += [Bottleneck(cin, width) for _ in range(blocks - 1)]
            layers.append(nn.Sequential(*stage))
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(cin, n_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for m in self.modules():  # zero-init the last BN of each block (torchvision's option)
            if isinstance(m, Bottleneck):
                nn.init.zeros_(m.bn3.weight)
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits ``(N, n_classes)`` for inputs ``(N, B, T)``."""
        x = band_time_image(x, self.channels_last)
        x = self.pool(self.layers(self.stem(x))).flatten(1)
        return self.head(self.dropout(x))


def resnet50(n_bands: int, n_times: int, n_classes: int, dropout: float = 0.0,
             channels_last: bool = True) -> ResNet50:
    """Build the adapted ResNet-50 (any ``n_bands × n_times``; the size does not change the weights)."""
    return ResNet50(n_classes, dropout, channels_last)
