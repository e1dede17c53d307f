"""CropNet-1D: bands as channels, temporal convolutions, training."""

from __future__ import annotations

import torch

from cropglobe.models import get_model

from .conftest import train_losses


def test_cropnet1d_uses_bands_as_channels_and_any_length(batch):
    model = get_model("cropnet1d", 6, 20, 4).eval()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    assert convs[0].in_channels == 6 and [c.stride[0] for c in convs] == [1, 1, 2, 1, 1, 1, 2, 1]
    assert model(batch(2, 6, 20)[0]).shape == (2, 4)
    assert model(batch(2, 6, 73)[0]).shape == (2, 4)


def test_cropnet1d_parameter_count_follows_the_block_design():
    model = get_model("cropnet1d", 10, 43, 7)
    convs = 3 * (10 * 64 + 64 * 64 + 64 * 128 + 128 * 128 + 128 * 256 + 256 * 256 + 256 * 512
                 + 512 * 512)
    bn = 2 * 2 * (64 + 128 + 256 + 512)
    assert sum(p.numel() for p in model.parameters()) == convs + bn + 512 * 7 + 7


def test_cropnet1d_loss_falls(batch):
    x, y = batch(16)
    losses = train_losses(get_model("cropnet1d", 10, 43, 7, seed=0), x, y, steps=6)
    assert losses[-1] < losses[0]
