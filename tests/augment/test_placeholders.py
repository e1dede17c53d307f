"""Open-set placeholders (cropglobe.augment.placeholders): synthetic new crops labelled ``other``."""

from __future__ import annotations

import pytest
import torch

from cropglobe import augment
from cropglobe.augment.placeholders import OpenSetPlaceholders
from cropglobe.errors import CropGlobeError

OTHER = 3


def _batch(n_per_class: int = 8, classes: tuple[int, ...] = (0, 1, 2, OTHER), count: int = 12):
    """Each class c has the constant series c + 1 in every band (parents are easy to recognise)."""
    y = torch.tensor([c for c in classes for _ in range(n_per_class)])
    x = (y.float() + 1)[:, None, None].expand(-1, 4, count).clone()
    return x, y


def test_placeholders_are_appended_with_the_other_label_and_leave_the_batch_untouched():
    x, y = _batch()
    ph = OpenSetPlaceholders(fraction=1.0, label=OTHER)
    out_x, out_y = ph(x, y, torch.Generator().manual_seed(0))
    n = len(y)
    assert torch.equal(out_x[:n], x) and torch.equal(out_y[:n], y)
    made = out_x[n:]
    assert 0 < len(made) <= n and (out_y[n:] == OTHER).all()
    # neither parent is 'other' (value 4): every placeholder value lies within the known classes' 1..3
    assert made.min() >= 1 and made.max() <= 3


def test_blends_lie_strictly_between_two_different_parents():
    x, y = _batch(classes=(0, 2, OTHER))  # parents have values 1 and 3
    ph = OpenSetPlaceholders(fraction=1.0, splice_p=0.0, mix=(0.4, 0.6), label=OTHER)
    made = ph(x, y, torch.Generator().manual_seed(1))[0][len(y):]
    assert len(made) > 0
    # a blend of 1 and 3 with λ in [0.4, 0.6] is in [1.8, 2.2] and constant over time
    assert made.min() >= 1.8 - 1e-6 and made.max() <= 2.2 + 1e-6
    assert torch.allclose(made, made[..., :1].expand_as(made))


def test_splices_join_the_early_season_of_one_crop_to_the_late_season_of_another():
    x, y = _batch(classes=(0, 2, OTHER), count=20)
    ph = OpenSetPlaceholders(fraction=1.0, splice_p=1.0, label=OTHER)
    made = ph(x, y, torch.Generator().manual_seed(2))[0][len(y):]
    assert len(made) > 0
    for series in made[:, 0]:
        first, last = series[0].item(), series[-1].item()
        assert {first, last} == {1.0, 3.0}
        cut = int((series != first).nonzero()[0])
        assert 5 <= cut <= 15  # the middle half of the 20-bin window
        assert (series[:cut] == first).all() and (series[cut:] == last).all()


def test_a_batch_with_one_known_class_gets_no_placeholder():
    x, y = _batch(classes=(1, OTHER))
    out_x, out_y = OpenSetPlaceholders(fraction=1.0, label=OTHER)(x, y, torch.Generator().manual_seed(0))
    assert torch.equal(out_x, x) and torch.equal(out_y, y)


def test_the_same_generator_state_gives_the_same_placeholders():
    x, y = _batch()
    ph = OpenSetPlaceholders(label=OTHER)
    a = ph(x, y, torch.Generator().manual_seed(5))
    b = ph(x, y, torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_the_label_comes_from_the_cells_legend():
    ph = OpenSetPlaceholders()
    assert ph.for_label(["maize", "other", "wheat"]).label == 1
    with pytest.raises(CropGlobeError, match="no 'other'"):
        ph.for_label(["corn", "soybean"])
    x, y = _batch()
    with pytest.raises(CropGlobeError, match="placeholder class is not set"):
        ph(x, y)


def test_invalid_parameters_name_their_field():
    with pytest.raises(CropGlobeError, match="mix"):
        OpenSetPlaceholders(mix=(0.0, 0.5))
    with pytest.raises(CropGlobeError, match="fraction"):
        OpenSetPlaceholders(fraction=0)


def test_the_open_set_preset_carries_season_wide_and_placeholders():
    aug = augment.get_preset("season-wide-open")
    wide = augment.get_preset("season-wide")
    assert aug.shift == wide.shift and aug.scale == wide.scale and aug.warp is None
    assert aug.unknowns == OpenSetPlaceholders(fraction=0.25, mix=(0.35, 0.65), splice_p=0.5)
    assert not aug.is_identity
    # placeholders alone move no window: calling the augmenter cuts the window, the trainer adds them
    only = augment.resolve({"unknowns": {"fraction": 0.5}})
    assert only.moves_nothing and not only.is_identity
    x = torch.rand(4, 3, 30)
    assert torch.equal(only(x, (5, 10), 5.0), x[..., 5:15])
    assert augment.label({"preset": "season-wide", "unknowns": {"fraction": 0.5}}) == \
        "season-wide+unknowns-fraction0.5"
