"""Lightning DDP training on 2 CPU processes (gloo) against one process: same validation metrics."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.training import lightning as train
from cropglobe.training import metrics

from .test_lightning import _toy


def _problem() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A noisy toy problem (not solved perfectly) with an odd validation size whose first sample is
    mislabelled: a validation sample counted twice (DDP padding) would change the macro-F1."""
    x, y = _toy(321, seed=5)
    x += np.random.default_rng(1).normal(0, 0.12, x.shape).astype(np.float32)
    x_val, y_val = x[240:].copy(), y[240:].copy()
    x_val[0], y_val[0] = x[y == 0][0], 2  # a class-0 series labelled 2: predicted wrongly
    return x[:240], y[:240], x_val, y_val


@pytest.mark.slow
def test_ddp_two_cpu_processes_match_one_process(tmp_path):
    x, y, x_val, y_val = _problem()
    result = {}
    for strategy, devices in (("auto", 1), ("ddp_spawn", 2)):
        settings = train.TrainSettings(epochs=6, batch_size=32, lr=3e-3, progress=False, precision="32-true",
                                       accelerator="cpu", devices=devices, strategy=strategy)
        clf = train.TorchClassifier("tempcnn", 4, 20, 3, {}, settings, train.InputLayout((5, 20), 5))
        clf.fit(x, y, x_val, y_val, ckpt_dir=tmp_path / strategy)
        pred = clf.predict_proba(x_val[:, :, 5:25]).argmax(1)
        assert pred[0] != y_val[0]  # the premise: padding would add one more error
        score = metrics.macro_f1(y_val, pred)
        # the best checkpoint is the one in use, and its recorded score counted each sample once
        assert clf.fit_info["best_val_macro_f1"] == pytest.approx(score, abs=1e-6), strategy
        assert (tmp_path / strategy / "best.ckpt").exists()
        result[strategy] = score
    assert 0.6 < result["auto"] < 1.0
    assert abs(result["ddp_spawn"] - result["auto"]) < 0.1
