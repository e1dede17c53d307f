"""TempCNN: temporal convolutional network for satellite image time series.

Source: Pelletier, Webb & Petitjean, "Temporal Convolutional Neural Network for the
Classification of Satellite Image Time Series", Remote Sensing 11(5):523, 2019. Three
``Conv1d(64 filters, kernel 5, 'same' padding) → BN → ReLU → Dropout`` layers over time with the
bands as channels, a flatten, one fully connected layer of 256 units with BN, ReLU and dropout,
and a linear (softmax) output. The paper's dropout rate is 0.2. The flatten ties the weights to
the number of time bins, so ``n_times`` is part of the architecture.
"""

from __future__ import annotations

import torch
from torch import nn


class TempCNN(nn.Module):
    """TempCNN (Pelletier et al. 2019) for ``(N, B, T)`` time series.

    Args:
        n_bands: Input channels.
        n_times: Time bins (fixed by the flatten layer).
        n_classes: Number of output logits.
        filters: Filters of each convolution.
        kernel_size: Temporal kernel size (odd).
        hidden: Units of the fully connected layer.
        dropout: Dropout rate after every layer.
        batch_norm: Normalise after each convolution and the hidden layer (False: the inference form
            of a trained network whose batch norms were folded in, :mod:`cropglobe.models.fold`).
    """

    def __init__(self, n_bands: int, n_times: int, n_classes: int, filters: int = 64,
                 kernel_size: int = 5, hidden: int = 256, dropout: float = 0.2, batch_norm: bool = True) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError("kernel_size must be odd for 'same' padding")
        layers: list[nn.Module] = []
        cin = n_bands
        for _ in range(3):
            layers += [nn.Conv1d(cin, filters, kernel_size, padding=kernel_size // 2),
                       *([nn.BatchNorm1d(filters)] if batch_norm else []), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            cin = filters
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(filters * n_times, hidden), *([nn.BatchNorm1d(hidden)] if batch_norm else []),
            nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits ``(N, n_classes)`` for inputs ``(N, B, T)``."""
        return self.classifier(self.features(x))


def tempcnn(n_bands: int, n_times: int, n_classes: int, filters: int = 64, kernel_size: int = 5,
            hidden: int = 256, dropout: float = 0.2, batch_norm: bool = True) -> TempCNN:
    """Build TempCNN for ``n_bands × n_times`` inputs."""
    return TempCNN(n_bands, n_times, n_classes, filters, kernel_size, hidden, dropout, batch_norm)
