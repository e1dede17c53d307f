"""EfficientNetV2-S baseline adapted to a one-channel band × time matrix, in plain PyTorch.

Source: Tan & Le, "EfficientNetV2: Smaller Models and Faster Training", ICML 2021 (Table 4,
EfficientNetV2-S: Fused-MBConv stages 1-3, MBConv with squeeze-excitation 0.25 in stages 4-6,
head conv to 1280 channels; the layer settings of torchvision's ``efficientnet_v2_s``, BN eps
1e-3, SiLU, stochastic depth 0.2, dropout 0.2). Used as a baseline by Tong & Wang,
arXiv:2509.03497 (20.24M parameters). torchvision cannot be imported with this project's CPU
PyTorch build, so the network is written out here.

Adaptation to small inputs: the ImageNet stem (3×3 conv, stride 2) and the four strided stages
divide each axis by 32, which leaves a 10 × 43 median matrix at 1 × 2 and mixes all bands away
in the first layers. Here the **stem has stride 1**, and the stage strides are kept only where
the band axis still has room: a stride of 2 applies to both axes while the band axis is at least
4 wide, otherwise only along time (stride (1, 2)). A 10 × 43 input is therefore 10 × 43 after the
stem, then 5 × 22, 3 × 11, 3 × 6 and 3 × 3 after stages 2, 3, 4 and 6. The one-channel stem gives
20,186,023 parameters for 7 classes (within 0.3 % of the paper's 20.24M).
"""

from __future__ import annotations

import torch
from torch import nn

from cropglobe.models.layout import band_time_image

#: (block, expand ratio, stride, input channels, output channels, layers) per stage, from the paper.
STAGES_V2_S: tuple[tuple[str, int, int, int, int, int], ...] = (
    ("fused", 1, 1, 24, 24, 2), ("fused", 4, 2, 24, 48, 4), ("fused", 4, 2, 48, 64, 4),
    ("mb", 4, 2, 64, 128, 6), ("mb", 6, 1, 128, 160, 9), ("mb", 6, 2, 160, 256, 15),
)


def _conv_bn(cin: int, cout: int, k: int, stride: int | tuple[int, int] = 1, groups: int = 1,
             act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(cout, eps=1e-3)]
    if act:
        layers.append(nn.SiLU(inplace=True))
    return nn.Sequential(*layers)


def _drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Stochastic depth (Huang et al. 2016), row mode: drop whole residual branches per sample."""
    if not training or p == 0.0:
        return x
    keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1.0 - p)
    return x * keep / (1.0 - p)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018) with SiLU inside and a sigmoid gate."""

    def __init__(self, channels: int, squeezed: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Gate the channels of ``x``."""
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(self.act(self.reduce(s))))


class MBBlock(nn.Module):
    """Fused-MBConv or MBConv block with a stochastic-depth residual when shapes allow it."""

    def __init__(self, kind: str, expand: int, stride: int | tuple[int, int], cin: int, cout: int,
                 drop_path: float) -> None:
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if kind == "fused":
            if expand == 1:
                layers.append(_conv_bn(cin, cout, 3, stride))
            else:
                layers += [_conv_bn(cin, hidden, 3, stride), _conv_bn(hidden, cout, 1, act=False)]
        else:
            layers += [_conv_bn(cin, hidden, 1), _conv_bn(hidden, hidden, 3, stride, groups=hidden),
                       SqueezeExcite(hidden, max(1, cin // 4)), _conv_bn(hidden, cout, 1, act=False)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block."""
        out = self.block(x)
        return x + _drop_path(out, self.drop_path, self.training) if self.residual else out


class EfficientNetV2S(nn.Module):
    """EfficientNetV2-S (Tan & Le 2021) with a stride-1 stem and band-aware strides.

    Args:
        n_classes: Number of output logits.
        n_bands: Input band count, used to decide where the band axis stops being strided.
        dropout: Dropout before the linear head.
        stochastic_depth: Final drop-path probability (linearly increasing over blocks).
        channels_last: Run convolutions in ``torch.channels_last`` memory format.
    """

    def __init__(self, n_classes: int, n_bands: int = 10, dropout: float = 0.2,
                 stochastic_depth: float = 0.2, channels_last: bool = True) -> None:
        super().__init__()
        self.stem = _conv_bn(1, 24, 3, 1)
        total = sum(s[-1] for s in STAGES_V2_S)
        blocks, index, height = [], 0, n_bands
        for kind, expand, stride, cin, cout, n in STAGES_V2_S:
            for i in range(n):
                s: int | tuple[int, int] = 1
                if i == 0 and stride == 2:
                    s = 2 if height >= 4 else (1, 2)
                    height = (height + 1) // 2 if s == 2 else height
                blocks.append(MBBlock(kind, expand, s, cin if i == 0 else cout, cout,
                                      stochastic_depth * index / total))
                index += 1
        self.blocks = nn.Sequential(*blocks)
        self.head_conv = _conv_bn(STAGES_V2_S[-1][4], 1280, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(1280, n_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits ``(N, n_classes)`` for inputs ``(N, B, T)``."""
        x = band_time_image(x, self.channels_last)
        x = self.pool(self.head_conv(self.blocks(self.stem(x)))).flatten(1)
        return self.head(self.dropout(x))


def efficientnet_v2_s(n_bands: int, n_times: int, n_classes: int, dropout: float = 0.2,
                      stochastic_depth: float = 0.2, channels_last: bool = True) -> EfficientNetV2S:
    """Build the adapted EfficientNetV2-S for ``n_bands × n_times`` inputs."""
    return EfficientNetV2S(n_classes, n_bands, dropout, stochastic_depth, channels_last)
