"""Helpers for the model tests: random batches and a few optimiser steps."""

from __future__ import annotations

import pytest
import torch


def train_losses(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int,
                 lr: float = 1e-3) -> list[float]:
    """Run ``steps`` Adam steps on one fixed batch (train mode) and return the loss of each step."""
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.fixture()
def batch():
    """A function returning a seeded random ``(x, y)`` batch of shape (n, bands, times)."""

    def make(n: int, bands: int = 10, times: int = 43, classes: int = 7):
        g = torch.Generator().manual_seed(n * 1000 + bands * 10 + times)
        x = torch.rand(n, bands, times, generator=g)
        y = torch.arange(n) % classes
        return x, y

    return make
