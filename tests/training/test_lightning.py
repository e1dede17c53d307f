"""Tests for Lightning training: learning, best-epoch selection, determinism and resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cropglobe.training import lightning as train
from cropglobe.training import metrics


def _toy(n: int = 160, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0.2, 0.02, (n, 4, 30)).astype(np.float32)
    t = np.arange(30)
    for c in range(3):  # class-specific peak date: a phenology signal
        x[y == c, 2] += 0.4 * np.exp(-0.5 * ((t - 8 - 6 * c) / 2.0) ** 2)
    return x, y


def _settings(**kw) -> train.TrainSettings:
    return train.TrainSettings(**{"epochs": 4, "batch_size": 32, "lr": 3e-3, "progress": False, **kw})


def test_fit_learns_and_keeps_best_checkpoint(tmp_path):
    x, y = _toy()
    # float32: validation and prediction then run the same arithmetic (bf16 validation may differ slightly)
    clf = train.TorchClassifier("tempcnn", 4, 20, 3, {}, _settings(epochs=8, precision="32-true"),
                                train.InputLayout((5, 20), 5))
    clf.fit(x[:120], y[:120], x[120:], y[120:], ckpt_dir=tmp_path)
    pred = clf.predict_proba(x[120:, :, 5:25]).argmax(1)
    assert (pred == y[120:]).mean() > 0.6
    assert (tmp_path / "best.ckpt").exists() and (tmp_path / "last.ckpt").exists()
    assert 0 <= clf.fit_info["best_epoch"] < 8
    # the weights in use are those of the best validation epoch
    assert metrics.macro_f1(y[120:], pred) == pytest.approx(clf.fit_info["best_val_macro_f1"], abs=1e-6)


def test_class_weights_balance_classes():
    w = train.class_weights(np.array([0, 0, 0, 1]), 3)
    assert w[0] * 3 == pytest.approx(w[1] * 1) and w[2] == 0


def _weights(clf: train.TorchClassifier) -> list[torch.Tensor]:
    return [p.detach().clone() for p in clf.net.state_dict().values()]


def test_deterministic_and_resume_identical(tmp_path):
    x, y = _toy()

    def make() -> train.TorchClassifier:
        from cropglobe import augment

        clf = train.TorchClassifier("cropnet-lite", 4, 20, 3, {}, _settings(epochs=3), train.InputLayout((5, 20), 5))
        clf.augment = augment.get_preset("paper")
        return clf

    a = make().fit(x[:120], y[:120], x[120:], y[120:], ckpt_dir=tmp_path / "a")
    b = make().fit(x[:120], y[:120], x[120:], y[120:], ckpt_dir=tmp_path / "b")
    for pa, pb in zip(_weights(a), _weights(b), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)

    class Crash(Exception):
        pass

    import lightning as L

    class Interrupt(L.Callback):
        def on_train_epoch_end(self, trainer, module):
            if trainer.current_epoch == 1:
                raise Crash("simulated crash")

    c = make()
    c.settings.callbacks = [Interrupt()]
    with pytest.raises(Crash):
        c.fit(x[:120], y[:120], x[120:], y[120:], ckpt_dir=tmp_path / "c")
    d = make().fit(x[:120], y[:120], x[120:], y[120:], ckpt_dir=tmp_path / "c", resume=True)
    for pa, pd_ in zip(_weights(a), _weights(d), strict=True):
        torch.testing.assert_close(pa, pd_, rtol=0, atol=0)
    assert d.fit_info == a.fit_info


def test_precision_auto_follows_the_hardware(monkeypatch):
    assert train.resolve_precision("32-true") == "32-true"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(train, "_cpu_has_bf16", lambda: True)
    assert train.resolve_precision("auto", "cpu") == "bf16-mixed"
    monkeypatch.setattr(train, "_cpu_has_bf16", lambda: False)
    assert train.resolve_precision("auto", "cpu") == "32-true"
    with pytest.raises(ValueError, match="precision='fp8'"):
        train.resolve_precision("fp8")


def test_bf16_and_float32_training_reach_the_same_score(tmp_path):
    x, y = _toy(240, seed=3)
    scores = {}
    for precision in ("bf16-mixed", "32-true"):
        clf = train.TorchClassifier("tempcnn", 4, 20, 3, {}, _settings(epochs=6, precision=precision),
                                    train.InputLayout((5, 20), 5))
        clf.fit(x[:160], y[:160], x[160:], y[160:], ckpt_dir=tmp_path / precision)
        assert clf.fit_info["precision"] == precision
        scores[precision] = metrics.macro_f1(y[160:], clf.predict_proba(x[160:, :, 5:25]).argmax(1))
    assert scores["32-true"] > 0.6
    assert abs(scores["bf16-mixed"] - scores["32-true"]) < 0.1


def test_a_trailing_single_sample_batch_is_dropped_and_a_fitted_net_trains_again(tmp_path):
    x, y = _toy(n=73)  # 33 training samples, batch 32: the last batch would hold one sample
    clf = train.TorchClassifier("tempcnn", 4, 30, 3, {}, _settings(epochs=1, precision="32-true"))
    clf.fit(x[:33], y[:33], x[33:], y[33:], ckpt_dir=tmp_path / "a")  # BatchNorm fails on a batch of one
    assert not clf.net.training
    before = [p.detach().clone() for p in clf.net.parameters()]
    bn = next(m for m in clf.net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    seen = bn.num_batches_tracked.item()
    clf.fit(x[:64], y[:64], x[64:], y[64:], ckpt_dir=tmp_path / "b")  # fine-tuning the fitted (eval-mode) net
    assert bn.num_batches_tracked.item() == seen + 2  # trained in train mode: running statistics updated
    assert any(not torch.equal(a, b) for a, b in zip(before, clf.net.parameters(), strict=True))


def test_csv_log_per_fit_and_plain_epoch_lines_when_not_a_terminal(tmp_path, capsys):
    """Issue 27: a Lightning CSV log in the log folder (a new version per fit); plain lines instead of bars."""
    import csv

    x, y = _toy(80)
    settings = _settings(epochs=2, precision="32-true", progress=True, log_dir=str(tmp_path / "cell"))
    data = train.FitData(x[:60], y[:60], x[60:], y[60:])
    info = train.fit_torch(train.models.get_model("tempcnn", 4, 30, 3, seed=0), data, 3, settings,
                           tmp_path / "cell" / "checkpoints")
    rows = list(csv.DictReader(open(tmp_path / "cell" / "logs" / "version_0" / "metrics.csv", encoding="utf-8")))
    assert {r["epoch"] for r in rows} == {"0", "1"}
    assert any(r["train_loss"] for r in rows) and any(r["val_macro_f1"] for r in rows)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch ")]  # pytest: not a tty
    assert [ln.split(":")[0] for ln in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "train loss" in lines[0] and "val macro-F1" in lines[0]
    assert info["val_classes"] == len(np.unique(y[60:]))
    train.fit_torch(train.models.get_model("tempcnn", 4, 30, 3, seed=0), data, 3,
                    settings.model_copy(update={"progress": False}), tmp_path / "cell" / "checkpoints2")
    assert (tmp_path / "cell" / "logs" / "version_1" / "metrics.csv").exists()  # the first log is kept
    assert not [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch ")]  # no progress: silent


def test_no_log_folder_without_log_dir(tmp_path):
    x, y = _toy(60)
    train.fit_torch(train.models.get_model("tempcnn", 4, 30, 3, seed=0), train.FitData(x[:40], y[:40], x[40:], y[40:]),
                    3, _settings(epochs=1, precision="32-true"), tmp_path / "ckpt")
    assert not any(p.name == "logs" for p in tmp_path.rglob("*"))
