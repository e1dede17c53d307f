"""The green-season anchor (issue 28): each pixel's series re-read around the centre of its own season."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cropglobe.errors import CropGlobeError
from cropglobe.models import get_model
from cropglobe.models.anchor import GreenSeasonAnchor
from cropglobe.models.io import load_model, save_model

T = 31
BANDS = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B11", "B12"]


def _series(peaks: list[float], width: float = 4.0) -> torch.Tensor:
    """(N, 9, T) reflectances whose NDVI is a bump centred on each of ``peaks`` (bins)."""
    t = np.arange(T, dtype=np.float32)
    x = np.full((len(peaks), len(BANDS), T), 0.12, dtype=np.float32)
    for i, p in enumerate(peaks):
        green = np.exp(-0.5 * ((t - p) / width) ** 2)
        x[i, 2] = 0.10 - 0.07 * green  # red falls
        x[i, 6] = 0.20 + 0.30 * green  # nir rises
    return torch.from_numpy(x)


def test_each_pixel_is_moved_to_the_window_centre_and_its_shift_is_kept():
    anchor = GreenSeasonAnchor()
    x = _series([10.0, 15.0, 20.0])
    offsets = anchor.offsets(x)
    np.testing.assert_allclose(offsets.numpy(), [-5.0, 0.0, 5.0], atol=0.05)
    out = anchor(x)
    assert out.shape == (3, len(BANDS) + 1, T)
    nir = out[:, 6].numpy()
    assert (nir.argmax(1) == 15).all()  # every season now peaks on the centre bin
    # away from the clamped ends the three anchored series are the same curve
    np.testing.assert_allclose(nir[0, 6:25], nir[2, 6:25], atol=1e-3)
    np.testing.assert_allclose(out[:, -1, 0].numpy(), offsets.numpy() / T, atol=1e-6)
    assert torch.equal(out[1, :-1], x[1])  # a centred season is not moved


def test_a_pixel_without_a_season_is_left_where_it_is():
    x = torch.full((1, len(BANDS), T), 0.1)
    x[0, 6] = 0.3 + 0.01 * torch.sin(torch.arange(T) / 3.0)  # NDVI amplitude well below 0.1
    out = GreenSeasonAnchor()(x)
    assert torch.equal(out[:, :-1], x) and float(out[:, -1].abs().max()) == 0.0


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="odd"):
        GreenSeasonAnchor(smooth=2)
    with pytest.raises(ValueError, match="two different"):
        GreenSeasonAnchor(red=6, nir=6)
    with pytest.raises(CropGlobeError, match="must index the 4 input bands"):
        get_model("tempcnn-anchored", 4, T, 3)
    with pytest.raises(CropGlobeError, match=r"tempcnn options \['width'\] are not TempCNN's"):
        get_model("tempcnn-anchored", len(BANDS), T, 3, tempcnn={"width": 8})


def test_the_tempcnn_behind_the_anchor_takes_its_own_sizes():
    small = get_model("tempcnn-anchored", len(BANDS), T, 3, tempcnn={"filters": 4, "hidden": 8, "batch_norm": False})
    convs = [m for m in small.net.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [c.out_channels for c in convs] == [4, 4, 4] and convs[0].in_channels == len(BANDS) + 1
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in small.modules())
    assert small.cropglobe_spec.options["tempcnn"] == {"filters": 4, "hidden": 8, "batch_norm": False}


def test_the_registered_model_predicts_the_same_for_the_same_season_at_another_date(tmp_path):
    model = get_model("tempcnn-anchored", len(BANDS), T, 3, seed=0).eval()
    x = _series([12.0, 18.0])
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()
    path = save_model(model, tmp_path / "m.pt", bands=BANDS, class_names=["corn", "soybean", "other"])
    again = load_model(path, expect_bands=BANDS)
    with torch.no_grad():
        assert torch.equal(again(x), logits)
    # the network sees the same anchored bands for both dates: only the timing channel differs
    inner = model.anchor(x)
    np.testing.assert_allclose(inner[0, :-1, 8:23].numpy(), inner[1, :-1, 8:23].numpy(), atol=1e-3)
    assert float(inner[0, -1, 0]) < 0 < float(inner[1, -1, 0])
