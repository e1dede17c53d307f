"""Opt-in bfloat16 inference of torch models (``predict_proba_torch(precision=...)``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cropglobe import models
from cropglobe.training import lightning as train

from .test_lightning import _toy


def _net() -> torch.nn.Module:
    return models.get_model("tempcnn", 4, 20, 3, seed=0)


def test_bf16_inference_is_opt_in_and_close_to_float32() -> None:
    x, _ = _toy(300, seed=2)
    x = x[:, :, 5:25]
    net = _net()
    seen: list[torch.dtype] = []
    first = next(m for m in net.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear)))
    first.register_forward_hook(lambda mod, inp, out: seen.append(out.dtype))
    default = train.predict_proba_torch(net, x, batch_size=128)
    assert set(seen) == {torch.float32}  # float32 unless asked
    np.testing.assert_array_equal(default, train.predict_proba_torch(net, x, batch_size=128, precision="32-true"))
    seen.clear()
    bf16 = train.predict_proba_torch(net, x, batch_size=128, precision="bf16-mixed")
    assert set(seen) == {torch.bfloat16}  # the layers ran in bfloat16
    assert bf16.dtype == np.float32 and bf16.shape == default.shape
    np.testing.assert_allclose(bf16.sum(axis=1), 1.0, atol=1e-5)
    assert np.abs(bf16 - default).max() < 0.05
    assert (bf16.argmax(1) == default.argmax(1)).mean() > 0.9
    assert all(p.dtype == torch.float32 for p in net.parameters())  # weights untouched


def test_inference_precision_is_checked() -> None:
    with pytest.raises(ValueError, match="precision='bf16'"):
        train.predict_proba_torch(_net(), np.zeros((2, 4, 20), np.float32), precision="bf16")
