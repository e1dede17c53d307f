"""EfficientNetV2-S adapted to band × time inputs: parameter count, strides, training."""

from __future__ import annotations

import torch

from cropglobe.models import get_model

from .conftest import train_losses


def test_efficientnet_v2_s_parameter_count_within_one_percent_of_paper():
    n = sum(p.numel() for p in get_model("efficientnet-v2-s", 10, 43, 7).parameters())
    assert abs(n - 20.24e6) / 20.24e6 < 0.01
    assert n == 20_186_023


def test_efficientnet_keeps_bands_and_time_for_a_10x43_input(batch):
    model = get_model("efficientnet-v2-s", 10, 43, 7).eval()
    x, _ = batch(2)
    with torch.no_grad():
        h = model.blocks(model.stem(x.unsqueeze(1)))
    assert tuple(h.shape[2:]) == (3, 3)
    assert model(x).shape == (2, 7)
    narrow = get_model("efficientnet-v2-s", 2, 43, 7).eval()  # band axis never strided
    with torch.no_grad():
        assert tuple(narrow.blocks(narrow.stem(batch(2, 2, 43)[0].unsqueeze(1))).shape[2:]) == (2, 3)


def test_efficientnet_loss_falls(batch):
    x, y = batch(2, 4, 12)  # small matrix: the test checks learning, not the input size
    losses = train_losses(get_model("efficientnet-v2-s", 4, 12, 7, seed=0, stochastic_depth=0.0),
                          x, y, steps=4)
    assert losses[-1] < losses[0]
