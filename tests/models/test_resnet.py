"""ResNet-50 adapted to band × time inputs: parameter count, small-input stem, training."""

from __future__ import annotations

import torch

from cropglobe.models import get_model

from .conftest import train_losses


def test_resnet50_parameter_count_within_one_percent_of_paper():
    n = sum(p.numel() for p in get_model("resnet50", 10, 43, 7).parameters())
    assert abs(n - 23.57e6) / 23.57e6 < 0.01
    assert n == 23_516_103


def test_resnet50_stem_keeps_a_10x43_input(batch):
    model = get_model("resnet50", 10, 43, 7).eval()
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())
    x, _ = batch(2)
    with torch.no_grad():
        h = model.stem(x.unsqueeze(1))
        sizes = [tuple(h.shape[2:])]
        for stage in model.layers:
            h = stage(h)
            sizes.append(tuple(h.shape[2:]))
    assert sizes == [(10, 43), (10, 43), (5, 22), (3, 11), (2, 6)]
    assert model(x).shape == (2, 7)


def test_resnet50_loss_falls(batch):
    x, y = batch(2, 4, 12)  # small matrix: the test checks learning, not the input size
    losses = train_losses(get_model("resnet50", 4, 12, 7, seed=0), x, y, steps=3)
    assert losses[-1] < losses[0]
