"""The offline "×k copies" mode: numpy in, numpy out, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.augment import augment_copies
from cropglobe.errors import CropGlobeError

WINDOW = (24, 43)


@pytest.fixture()
def x_full() -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 0.6, (10, 4, 73)).astype(np.float32)


def test_copies_shape_order_source_and_seed(x_full: np.ndarray) -> None:
    out, source = augment_copies(x_full, WINDOW, 5, k=3, augment="paper", seed=4, batch_size=4)
    assert out.shape == (30, 4, 43) and out.dtype == np.float32
    np.testing.assert_array_equal(source, np.tile(np.arange(10), 3))
    again, _ = augment_copies(x_full, WINDOW, 5, k=3, augment="paper", seed=4, batch_size=4)
    np.testing.assert_array_equal(out, again)
    other, _ = augment_copies(x_full, WINDOW, 5, k=3, augment="paper", seed=5, batch_size=4)
    assert not np.array_equal(out, other)
    assert not np.array_equal(out[:10], out[10:20])  # copies differ from each other
    assert np.isfinite(out).all()


def test_include_original_puts_the_plain_windows_first(x_full: np.ndarray) -> None:
    out, source = augment_copies(x_full.astype(np.float64), WINDOW, 5, k=2, include_original=True)
    assert out.shape == (30, 4, 43) and source.shape == (30,)
    np.testing.assert_array_equal(out[:10], x_full[..., 24:67])
    assert not np.array_equal(out[10:20], out[:10])


def test_identity_config_copies_the_window(x_full: np.ndarray) -> None:
    out, _ = augment_copies(x_full, WINDOW, 5, k=2, augment={"preset": "none"})
    np.testing.assert_array_equal(out, np.concatenate([x_full[..., 24:67]] * 2))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"k": 0}, "k must be an integer >= 1, got 0"),
    ({"k": 2.5}, "k must be an integer >= 1"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"augment": "paperr"}, "preset 'paperr' is unknown"),
    ({"window": (60, 43)}, "must lie inside the 73 bins"),
])
def test_bad_arguments(x_full: np.ndarray, kwargs: dict, match: str) -> None:
    args = {"window": WINDOW, "bin_days": 5, "k": 2} | kwargs
    with pytest.raises(CropGlobeError, match=match):
        augment_copies(x_full, **args)


def test_non_finite_or_non_float_input(x_full: np.ndarray) -> None:
    x_full[3, 1, 50] = np.nan
    with pytest.raises(CropGlobeError, match="1 NaN/inf value\\(s\\), first at sample 3, band 1, bin 50"):
        augment_copies(x_full, WINDOW, 5, k=1)
    with pytest.raises(CropGlobeError, match="must be a float numpy array"):
        augment_copies(np.zeros((2, 3, 73), dtype=np.int16), WINDOW, 5, k=1)
