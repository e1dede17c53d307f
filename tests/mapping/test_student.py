"""The ``map --fast`` student's pieces (mirrors src/cropglobe/mapping/student.py); SIMULATED data.

The whole distillation (teacher -> student -> map) runs in tests/mapping/test_fastmap.py; here: the
settings' checks, the seeded pixel subset, a fitted student's output and :func:`accuracy`.
"""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import student


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": "svm"}, "student kind 'svm'"),
    ({"augmentation": "nope"}, "student augmentation 'nope'"),
    ({"views": -1}, "views"),
    ({"mixup": -1}, "mixup"),
    ({"num_leaves": 1}, "num_leaves"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"min_share": 1.0}, "min_share"),
    ({"layers": 0}, "layers"),
    ({"filters": 0}, "filters"),
])
def test_settings_refuse_bad_values(change, message):
    with pytest.raises(CropGlobeError, match=message):
        student.StudentSettings(**change).check()


def test_settings_describe_the_student():
    s = student.StudentSettings().check()
    assert s == student.preset(student.DEFAULT_STUDENT) == student.preset("tempcnn")
    assert s.describe() == ("TempCNN 3 x 16 filters, 128 dense units on soft targets, 60 epochs; 4 season-wide "
                            "views, 4 mixup inputs per pixel; seed 0")
    mlp = student.preset("mlp").check()
    assert mlp.describe() == "MLP 2 x 256 on soft targets, 60 epochs; 8 season-wide views per pixel; seed 0"
    lgbm = student.StudentSettings(kind="lightgbm", n_estimators=7, num_leaves=3, views=0).check()
    assert lgbm.describe().startswith("LightGBM 7 trees x 3 leaves on soft targets; 0 season-wide views")
    tcnn = student.StudentSettings(kind="tempcnn", filters=8, hidden=32).check()
    assert tcnn.describe().startswith("TempCNN 3 x 8 filters, 32 dense units on soft targets, 60 epochs; 4 season")


def test_mixup_inputs_are_seeded_convex_mixes_of_the_pixels_and_their_views():
    # two pixels, constant 0 and constant 1 over 4 bands x 12 bins: a mix of them is constant at its weight
    series = np.stack([np.zeros((4, 12)), np.ones((4, 12))]).astype(np.float32)
    s = student.StudentSettings(views=0, mixup=50).check()
    out = student.views(series, (2, 8), 10.0, s, seed=3)
    assert out.shape == (2 + 2 * 50, 4, 8) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:2], series[..., 2:10])  # the pixels first, as they are
    mixed = out[2:]
    level = mixed[:, 0, 0]
    np.testing.assert_allclose(mixed, np.broadcast_to(level[:, None, None], mixed.shape), atol=1e-6)
    assert level.min() >= 0 and level.max() <= 1 and np.ptp(level) > 0.5  # weights spread over [0, 1]
    np.testing.assert_array_equal(out, student.views(series, (2, 8), 10.0, s, seed=3))
    assert not np.array_equal(out, student.views(series, (2, 8), 10.0, s, seed=4))
    # with views, the pool mixed from holds the augmented copies too; no mixup leaves the views as they were
    with_views = student.views(series, (2, 8), 10.0, student.StudentSettings(views=2, mixup=1), seed=3)
    assert with_views.shape == (2 * 4, 4, 8)
    np.testing.assert_array_equal(
        with_views[:6], student.views(series, (2, 8), 10.0, student.StudentSettings(views=2, mixup=0), seed=3))
    assert "1 mixup inputs per pixel" in student.StudentSettings(mixup=1).describe()


def test_folding_the_standardisation_keeps_the_outputs():
    import torch

    rng = np.random.default_rng(1)
    x = (rng.random((64, 12)) * rng.random(12) * 5 + rng.random(12)).astype(np.float32)
    x[:, 3] = 0.25  # a constant feature: scale 1
    mean, scale = student._moments(x)
    assert scale[3] == 1.0
    layer = torch.nn.Linear(12, 5)
    with torch.no_grad():
        expected = layer(torch.from_numpy(((x - mean) / scale).astype(np.float32))).numpy()
    student._fold(layer, mean, scale)
    with torch.no_grad():
        np.testing.assert_allclose(layer(torch.from_numpy(x)).numpy(), expected, rtol=1e-4, atol=1e-4)


def test_a_standardised_mlp_student_takes_raw_inputs():
    import torch

    rng = np.random.default_rng(0)
    windows = (rng.random((200, 3, 6), dtype=np.float32) * 0.01 + 1000.0).astype(np.float32)  # far from 0, narrow
    cls = (windows[:, 0, :].mean(1) > 1000.005).astype(int)
    soft = np.full((200, 3), 0.05)
    soft[np.arange(200), cls] = 0.9
    settings = student.StudentSettings(kind="mlp", views=0, hidden=16, layers=3, standardize=True,
                                       epochs=30).check()
    assert settings.describe().startswith("MLP 3 x 16, standardised inputs on soft targets, 30 epochs")
    net = student.fit(windows, soft, settings)
    assert sum(isinstance(m, torch.nn.Linear) for m in net.modules()) == 4  # 3 hidden + head
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in net.modules())  # folded into the linears
    assert net.cropglobe_spec.options["batch_norm"] is False
    with torch.no_grad():
        pred = net(torch.from_numpy(windows.reshape(200, -1))).argmax(1).numpy()
    assert (pred == cls).mean() > 0.75  # raw inputs: the scaling is in the first layer (unstandardised: 0.46)


def test_the_subset_is_seeded_sorted_and_bounded():
    a = student.subset(1000, 50, seed=3)
    assert a.size == 50 and np.all(np.diff(a) > 0) and a.max() < 1000
    np.testing.assert_array_equal(a, student.subset(1000, 50, seed=3))
    assert not np.array_equal(a, student.subset(1000, 50, seed=4))
    np.testing.assert_array_equal(student.subset(20, 50, seed=3), np.arange(20))  # fewer pixels: all of them


def test_a_lightgbm_student_learns_the_teachers_classes():
    rng = np.random.default_rng(0)
    windows = rng.random((120, 3, 6), dtype=np.float32)
    cls = (windows[:, 0, :].mean(1) > 0.5).astype(int)  # a rule the student can learn
    soft = np.full((120, 3), 0.05)
    soft[np.arange(120), cls] = 0.9
    settings = student.StudentSettings(kind="lightgbm", n_estimators=20, num_leaves=4, min_share=0.1).check()
    model = student.fit(windows, soft, settings)
    proba = model.predict_proba(windows.reshape(120, -1))
    assert proba.shape == (120, 3)
    assert (proba.argmax(1) == cls).mean() > 0.9
    assert proba[:, 2].max() < 0.5  # a class the teacher never favours stays unlikely


def test_accuracy_scores_a_cell_on_a_labelled_set(cell):
    from cropglobe.sources import simulate

    target = simulate.simulate(["FRA"], samples_per_class=10, seed=4)
    scores = student.accuracy(cell, target)
    assert set(scores) == {"oa", "macro_f1"}
    assert 0.5 < scores["oa"] <= 1.0 and 0.0 < scores["macro_f1"] <= scores["oa"] + 0.2
    assert student.accuracy(cell, target) == scores  # deterministic
    relabelled = target.assign_coords(label=("sample", np.roll(target["label"].values, 7)))
    assert student.accuracy(cell, relabelled)["oa"] < scores["oa"]  # it reads the labels


def _recipe(model: str, options: dict):
    from types import SimpleNamespace

    return SimpleNamespace(model=model, model_options=options)  # the two fields architecture() reads


def test_a_tempcnn_student_of_an_anchored_teacher_sits_behind_the_teachers_anchor():
    s = student.StudentSettings(filters=4, hidden=8)
    plain = student.architecture(s, _recipe("tempcnn", {"seed": 0}))
    assert plain.model == "tempcnn" and plain.options == {"filters": 4, "hidden": 8, "dropout": 0.0}
    anchored = student.architecture(s, _recipe("tempcnn-anchored", {"seed": 2, "red": 1, "nir": 4, "level": 0.4}))
    assert anchored.model == "tempcnn-anchored"
    net = {"filters": 4, "hidden": 8, "dropout": 0.0}
    assert anchored.options == {"red": 1, "nir": 4, "level": 0.4, "tempcnn": net}
    assert anchored.folded["tempcnn"]["batch_norm"] is False and "seed" not in anchored.options
    # an MLP student has no time axis to anchor
    assert student.architecture(student.preset("mlp"), _recipe("tempcnn-anchored", {})).model == "mlp"


def test_an_anchored_student_is_fitted_folded_and_keeps_the_teachers_anchor():
    import torch

    from cropglobe.models.anchor import Anchored

    rng = np.random.default_rng(0)
    t = np.arange(20, dtype=np.float32)
    n = 768
    peaks = rng.uniform(5, 15, n)
    green = np.exp(-0.5 * ((t - peaks[:, None]) / 3.0) ** 2)
    windows = np.full((n, 5, 20), 0.1, dtype=np.float32)
    cls = (rng.random(n) < 0.5).astype(int)
    windows[:, 1] = 0.1 - 0.06 * green  # red
    windows[:, 3] = 0.2 + np.where(cls[:, None] == 1, 0.4, 0.2) * green  # NIR: the class is the amplitude
    soft = np.full((n, 3), 0.05)
    soft[np.arange(n), cls] = 0.9
    settings = student.StudentSettings(filters=4, hidden=8, views=0, epochs=40).check()
    net = student.fit(windows, soft, settings, _recipe("tempcnn-anchored", {"red": 1, "nir": 3}))
    assert isinstance(net, Anchored) and (net.anchor.red, net.anchor.nir) == (1, 3)
    assert net.cropglobe_spec.name == "tempcnn-anchored"
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in net.modules())
    with torch.no_grad():
        pred = net(torch.from_numpy(windows)).argmax(1).numpy()
    assert (pred == cls).mean() > 0.9
