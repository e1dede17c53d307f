"""Batch norms folded into the layer before them (mirrors src/cropglobe/models/fold.py)."""

from __future__ import annotations

import pytest
import torch

from cropglobe.models import get_model
from cropglobe.models.fold import fold_batch_norm

from .conftest import train_losses

TCNN = {"filters": 4, "hidden": 8}


@pytest.mark.parametrize(("name", "options", "without"), [
    ("mlp", {"hidden": [16, 8]}, {"hidden": [16, 8], "batch_norm": False}),
    ("tempcnn", TCNN, {**TCNN, "batch_norm": False}),
    # the anchored teacher's map --fast student: the fold reaches through the weightless anchor
    ("tempcnn-anchored", {"red": 2, "nir": 6, "tempcnn": TCNN},
     {"red": 2, "nir": 6, "tempcnn": {**TCNN, "batch_norm": False}}),
])
def test_folding_the_batch_norms_keeps_the_logits(batch, name, options, without):
    trained = get_model(name, 10, 12, 7, seed=0, **options)
    x, y = batch(64, 10, 12)
    train_losses(trained, x if name != "mlp" else x.flatten(1), y, steps=5, lr=1e-2)  # moves the statistics
    bns = [m for m in trained.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert bns and all(not torch.all(m.running_mean == 0) for m in bns)
    folded = fold_batch_norm(trained, get_model(name, 10, 12, 7, **without))
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in folded.modules())
    with torch.no_grad():
        expected = trained.eval()(x)
        torch.testing.assert_close(folded(x), expected, rtol=1e-5, atol=1e-5)
        assert not torch.allclose(get_model(name, 10, 12, 7, **without).eval()(x), expected)


def test_folding_refuses_another_architecture():
    trained = get_model("mlp", 10, 3, 7, hidden=[16, 8])
    with pytest.raises(ValueError, match="differ in number or shape"):
        fold_batch_norm(trained, get_model("mlp", 10, 3, 7, hidden=[16, 9], batch_norm=False))
