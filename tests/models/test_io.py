"""Safe persistence: torch and tabular round trips, mismatch errors, crafted payloads refused."""

from __future__ import annotations

import json
import os
import pickle
import shlex
import zipfile

import numpy as np
import pytest
import torch

from cropglobe.errors import CropGlobeError
from cropglobe.models import TabularClassifier, get_model, load_model, load_torch, save_model, save_torch
from cropglobe.models.io import FORMAT

from .conftest import train_losses

BANDS = ["B2", "B3", "B4", "B8"]
CLASSES = ["corn", "soybean", "rice", "other"]


class MarkerPayload:
    """Pickles to a call of os.system that creates ``marker`` when unpickled."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


class SkopsPayload:
    """A custom type whose reconstruction writes a marker file."""

    def __init__(self, marker: str = "") -> None:
        self.marker = marker

    def __setstate__(self, state):
        open(state["marker"], "w").close()
        self.__dict__.update(state)


@pytest.mark.parametrize("name,times", [("cropnet-lite", 12), ("tempcnn", 12), ("mlp", 3),
                                        ("cropnet1d", 12)])
def test_trained_torch_model_round_trips_and_predicts_identically(name, times, tmp_path, batch):
    model = get_model(name, 4, times, 4, seed=1)
    x, y = batch(8, 4, times, 4)
    train_losses(model, x, y, steps=2)
    path = save_model(model, tmp_path / "m.pt", bands=BANDS, class_names=CLASSES)
    again = load_model(path, expect_bands=BANDS, expect_classes=CLASSES)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
    assert not again.training and again.cropglobe_spec.class_names == tuple(CLASSES)


def test_save_torch_with_explicit_spec_and_options(tmp_path, batch):
    model = get_model("cropnet", 4, 12, 4, dropout=[0.1, 0.1, 0.2, 0.2])
    spec = model.cropglobe_spec.with_labels(BANDS, CLASSES)
    save_torch(model.eval(), spec, tmp_path / "m.pt")
    again = load_torch(tmp_path / "m.pt")
    assert again.cropglobe_spec == spec and again.features[3][-1].p == 0.2
    x, _ = batch(2, 4, 12)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))


def test_mismatched_bands_or_classes_fail_clearly(tmp_path):
    path = save_model(get_model("cropnet-lite", 4, 12, 4), tmp_path / "m.pt", BANDS, CLASSES)
    with pytest.raises(CropGlobeError, match=r"trained on bands \['B2', 'B3', 'B4', 'B8'\], "
                                             r"expected \['B2', 'B3', 'B4', 'B11'\]"):
        load_torch(path, expect_bands=["B2", "B3", "B4", "B11"])
    with pytest.raises(CropGlobeError, match="trained on 4 classes, the data has 7"):
        load_torch(path, expect_classes=7)
    with pytest.raises(CropGlobeError, match="trained on classes"):
        load_model(path, expect_classes=["corn", "wheat", "rice", "other"])


def test_weights_that_do_not_fit_the_spec_are_refused(tmp_path):
    model = get_model("tempcnn", 4, 12, 4)
    spec = model.cropglobe_spec
    bad = json.loads(spec.to_json()) | {"n_times": 13}
    torch.save({"format": FORMAT, "spec": json.dumps(bad), "state_dict": model.state_dict()},
               tmp_path / "m.pt")
    with pytest.raises(CropGlobeError, match="weights do not match a 'tempcnn' model"):
        load_torch(tmp_path / "m.pt")


def test_crafted_pickle_payload_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    spec = get_model("mlp", 4, 1, 4).cropglobe_spec
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "spec": spec.to_json(), "state_dict": {},
                "extra": MarkerPayload(marker)}, path)
    with pytest.raises(CropGlobeError, match="refusing to load"):
        load_model(path)
    assert not marker.exists()
    plain = tmp_path / "evil.pkl"
    plain.write_bytes(pickle.dumps(MarkerPayload(marker)))
    with pytest.raises(CropGlobeError, match="refusing to load|not a torch model file"):
        load_model(plain)
    assert not marker.exists()
    # The payload is real: an unrestricted unpickler does run it.
    pickle.loads(plain.read_bytes())
    assert marker.exists()


def test_crafted_skops_payload_is_refused_and_never_runs(tmp_path):
    import skops.io

    marker = tmp_path / "pwned"
    header = {"format": "cropglobe-tabular-v1", "classes_seen": [0, 1],
              "spec": json.loads(get_model("rf", 4, 1, 4).spec.to_json())}
    payload = skops.io.dumps(SkopsPayload(str(marker)))
    path = tmp_path / "evil.cgm"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("cropglobe.json", json.dumps(header))
        zf.writestr("model.skops", payload)
    with pytest.raises(CropGlobeError, match="untrusted types.*SkopsPayload"):
        load_model(path)
    assert not marker.exists()
    skops.io.loads(payload, trusted=skops.io.get_untrusted_types(data=payload))
    assert marker.exists()  # the payload is real when trusted blindly


def test_tabular_models_load_through_load_model(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)).astype(np.float32), np.arange(60) % 3
    model = get_model("lightgbm", 4, 1, 4, n_estimators=10, min_child_samples=5).fit(X, y)
    path = save_model(model, tmp_path / "m.cgm", BANDS, CLASSES)
    again = load_model(path, expect_bands=BANDS)
    assert isinstance(again, TabularClassifier)
    assert np.array_equal(again.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("content,match", [
    (b"", "not a torch model file"),
    (b"hello world", "not a torch model file"),
])
def test_garbage_files_are_refused(tmp_path, content, match):
    path = tmp_path / "m.pt"
    path.write_bytes(content)
    with pytest.raises(CropGlobeError, match=match):
        load_model(path)


def test_missing_file_and_foreign_torch_files(tmp_path):
    with pytest.raises(CropGlobeError, match="model file not found"):
        load_model(tmp_path / "nope.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(CropGlobeError, match="not a cropglobe torch model"):
        load_torch(tmp_path / "other.pt")
    with zipfile.ZipFile(tmp_path / "t.cgm", "w") as zf:
        zf.writestr("cropglobe.json", json.dumps({"format": "v0"}))
    with pytest.raises(CropGlobeError, match="format field must be"):
        load_model(tmp_path / "t.cgm")


def test_saving_leaves_nothing_partial_on_failure(tmp_path):
    with pytest.raises(CropGlobeError, match="not fitted"):
        get_model("rf", 4, 1, 4).save(tmp_path / "m.cgm")
    with pytest.raises(CropGlobeError, match="needs a ModelSpec"):
        save_torch(torch.nn.Linear(2, 2), None, tmp_path / "l.pt")
    assert list(tmp_path.iterdir()) == []
