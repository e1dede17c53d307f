"""MLP on vector features: width F = n_bands × n_times, training, bad widths."""

from __future__ import annotations

import pytest
import torch

from cropglobe.models import get_model, model_info

from .conftest import train_losses


def test_mlp_takes_vectors_and_flattens_matrices(batch):
    model = get_model("mlp", 10, 3, 7).eval()
    assert model_info("mlp").input_kind == "vector"
    x, _ = batch(4, 10, 3)
    assert model(x.flatten(1)).shape == (4, 7)
    assert torch.equal(model(x), model(x.flatten(1)))
    with pytest.raises(ValueError, match="expected 30 features"):
        model(torch.zeros(4, 29))


def test_mlp_loss_falls(batch):
    x, y = batch(32, 10, 1)
    losses = train_losses(get_model("mlp", 10, 1, 7, seed=0), x.flatten(1), y, steps=10, lr=1e-2)
    assert losses[-1] < losses[0]
