"""Contracts of class-balanced self-training (CBST): pseudo-labels from probabilities only, a copy fine-tuned."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cropglobe.errors import CropGlobeError
from cropglobe.experiment import selftrain
from cropglobe.training.lightning import TorchClassifier, TrainSettings


def test_pseudo_labels_keep_the_most_confident_share_of_each_predicted_class() -> None:
    proba = np.array([[0.9, 0.1, 0.0], [0.6, 0.4, 0.0], [0.7, 0.3, 0.0], [0.8, 0.2, 0.0],  # 4 x class 0
                      [0.2, 0.8, 0.0], [0.45, 0.55, 0.0]])  # 2 x class 1, no class 2
    idx, lab = selftrain.pseudo_labels(proba, 0.5)
    assert idx.tolist() == [0, 3, 4] and lab.tolist() == [0, 0, 1]  # 2 of 4, 1 of 2: the majority cannot take over
    idx, lab = selftrain.pseudo_labels(proba, 0.1)
    assert idx.tolist() == [0, 4]  # at least one per predicted class
    idx, _ = selftrain.pseudo_labels(proba, 1.0)
    assert idx.tolist() == list(range(6))
    for bad in (0.0, 1.5):
        with pytest.raises(CropGlobeError, match="portion"):
            selftrain.pseudo_labels(proba, bad)
    with pytest.raises(CropGlobeError, match=r"\(N, C\)"):
        selftrain.pseudo_labels(proba[0], 0.5)


def test_self_train_fine_tunes_a_copy_on_source_and_pseudo_labelled_target(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3, 8)).astype(np.float32)
    y = (x[:, 0].mean(1) > 0).astype(np.int64)
    x_target = x[:20] + 0.5  # shifted domain, no labels
    settings = TrainSettings(epochs=2, batch_size=16, lr=1e-3, seed=0, progress=False, precision="32-true")
    clf = TorchClassifier("tempcnn", 3, 8, 2, {}, settings).fit(x[20:50], y[20:50], x[50:], y[50:], tmp_path / "fit")
    before = {k: v.clone() for k, v in clf.net.state_dict().items()}
    seen: list[np.ndarray] = []

    def inputs(model):
        seen.append(x_target)
        return x_target

    spec = selftrain.SelfTrainSpec(portions=[0.3, 0.6], epochs=2, lr_factor=0.5)
    adapted, record = selftrain.self_train(clf, selftrain.SourceData(x[20:50], y[20:50], x[50:], y[50:]), x_target,
                                           inputs, spec, tmp_path / "st")
    assert adapted is not clf and len(seen) == 2  # one pseudo-labelling per round
    for k, v in clf.net.state_dict().items():  # the input model is unchanged
        torch.testing.assert_close(v, before[k])
    assert any(not torch.equal(v, adapted.net.state_dict()[k]) for k, v in before.items())
    assert adapted.settings.lr == pytest.approx(5e-4) and adapted.settings.epochs == 2
    assert record["selftrain_best_epochs"].count(",") == 1 and 0 < record["selftrain_pseudo"] <= 20
    assert (tmp_path / "st" / "round0").is_dir() and (tmp_path / "st" / "round1").is_dir()

    class Tabular:  # not a torch model: needs a refit
        def predict_proba(self, x: np.ndarray) -> np.ndarray:
            return np.full((len(x), 2), 0.5)

    with pytest.raises(CropGlobeError, match="no refit"):
        selftrain.self_train(Tabular(), selftrain.SourceData(x, y, x, y), x_target, lambda m: x_target, spec,
                             tmp_path / "x")
