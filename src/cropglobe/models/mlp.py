"""Multilayer perceptron for vector features (1D median, harmonic coefficients, EMIT spectra).

Source: the fully connected network of Rumelhart, Hinton & Williams, "Learning representations
by back-propagating errors", Nature 323:533-536, 1986, with batch normalisation (Ioffe & Szegedy,
ICML 2015) and dropout (Srivastava et al., JMLR 15, 2014) after each hidden layer; used here as the
neural baseline on the 1D feature vectors compared in Tong & Wang, arXiv:2509.03497.

The input width is ``F = n_bands × n_times``: pass ``n_times=1`` for one value per band (1D
median), or the number of coefficients per band for harmonic features. Inputs of shape ``(N, F)``
or ``(N, B, T)`` (flattened) are accepted.

``batch_norm=False`` builds the same network without the normalisation layers: the inference form of
a trained network whose batch norms were folded into the preceding linear layers
(:func:`cropglobe.models.fold.fold_batch_norm`), as the ``map --fast`` student is written.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MLP(nn.Module):
    """Linear → BN → ReLU → Dropout per hidden layer, then a linear head.

    Args:
        n_features: Input width ``F``.
        n_classes: Number of output logits.
        hidden: Units of each hidden layer.
        dropout: Dropout after each hidden layer.
        batch_norm: Normalise after each hidden linear layer (False: Linear → ReLU → Dropout).
    """

    def __init__(self, n_features: int, n_classes: int, hidden: Sequence[int] = (256, 128),
                 dropout: float = 0.2, batch_norm: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = n_features
        for width in hidden:
            layers += [nn.Linear(cin, width), *([nn.BatchNorm1d(width)] if batch_norm else []),
                       nn.ReLU(inplace=True), nn.Dropout(dropout)]
            cin = width
        layers.append(nn.Linear(cin, n_classes))
        self.net = nn.Sequential(*layers)
        self.n_features = n_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits ``(N, n_classes)`` for inputs ``(N, F)`` (or ``(N, B, T)``, flattened)."""
        x = x.flatten(1)
        if x.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} features per sample, got {x.shape[1]}")
        return self.net(x)


def mlp(n_bands: int, n_times: int, n_classes: int, hidden: Sequence[int] = (256, 128),
        dropout: float = 0.2, batch_norm: bool = True) -> MLP:
    """Build an MLP over ``n_bands × n_times`` input features."""
    return MLP(n_bands * n_times, n_classes, tuple(hidden), dropout, batch_norm)

