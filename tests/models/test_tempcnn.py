"""TempCNN (Pelletier et al. 2019): layout, time-dependent flatten, training."""

from __future__ import annotations

import pytest
import torch

from cropglobe.errors import CropGlobeError
from cropglobe.models import get_model

from .conftest import train_losses


def test_tempcnn_layout_follows_pelletier():
    model = get_model("tempcnn", 10, 43, 7)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convs] == [
        (10, 64, 5), (64, 64, 5), (64, 64, 5)]
    assert model.classifier[1].in_features == 64 * 43 and model.classifier[1].out_features == 256


def test_tempcnn_loss_falls(batch):
    x, y = batch(16)
    losses = train_losses(get_model("tempcnn", 10, 43, 7, seed=0), x, y, steps=6)
    assert losses[-1] < losses[0]


def test_tempcnn_rejects_even_kernels():
    with pytest.raises(CropGlobeError, match="kernel_size must be odd"):
        get_model("tempcnn", 10, 43, 7, kernel_size=4)
