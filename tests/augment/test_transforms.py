"""Time shift, time scale, magnitude warp and their composition on full-year tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cropglobe.augment import (
    MagnitudeWarp,
    PhenologyAugment,
    TimeScale,
    TimeShift,
    get_preset,
    read_window,
)
from cropglobe.errors import CropGlobeError

WINDOW, BIN_DAYS, T_FULL = (24, 43), 5, 73


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def peaks(centres: np.ndarray, t: int = T_FULL, bands: int = 3, width: float = 1.5) -> torch.Tensor:
    """(N, bands, t) series with one Gaussian peak per listed centre (rows: samples)."""
    grid = np.arange(t)[None, None, :]
    c = np.atleast_2d(centres.T).T[:, :, None]  # (N, P, 1)
    series = np.exp(-0.5 * ((grid - c) / width) ** 2).sum(1)  # (N, t)
    scale = np.linspace(0.5, 1.0, bands)[None, :, None]
    return torch.tensor(series[:, None, :] * scale, dtype=torch.float32)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), max_days=st.floats(5, 60))
def test_shift_moves_a_single_peak_by_the_drawn_offset(seed: int, max_days: float) -> None:
    rng = np.random.default_rng(seed)
    centre = rng.integers(WINDOW[0] + 3, WINDOW[0] + WINDOW[1] - 3, 48)
    x = peaks(centre)
    shift = TimeShift(max_days=max_days, p=1.0)
    offset = PhenologyAugment(shift=shift).sample(48, WINDOW[1], BIN_DAYS, gen(seed), x).shift
    out = shift(x, WINDOW, BIN_DAYS, gen(seed))
    assert out.shape == (48, 3, WINDOW[1])
    expected = centre - WINDOW[0] - offset.numpy()  # the window moves by +o, the peak by -o
    inside = (expected >= 1) & (expected <= WINDOW[1] - 2)
    assert inside.sum() > 0
    got = out[:, 0].argmax(1).numpy()
    assert np.all(np.abs(got[inside] - expected[inside]) <= 1.0)
    assert np.all(np.abs(offset.numpy()) <= max_days / BIN_DAYS + 1e-5)


@settings(max_examples=25, deadline=None)
@given(start=st.integers(0, 60), count=st.integers(1, 40), seed=st.integers(0, 1000))
def test_scale_with_zero_offsets_is_the_identity(start: int, count: int, seed: int) -> None:
    count = min(count, T_FULL - start)
    x = torch.rand(6, 4, T_FULL, generator=gen(seed))
    out = TimeScale(start_days=(0, 0), end_days=(0, 0), p=1.0)(x, (start, count), BIN_DAYS, gen(1))
    assert torch.equal(out, x[..., start:start + count])


@pytest.mark.parametrize(("a", "b", "longer"), [(20.0, -20.0, True), (-20.0, 20.0, False)])
def test_scale_stretches_or_compresses_peak_distance(a: float, b: float, longer: bool) -> None:
    x = peaks(np.array([[WINDOW[0] + 15, WINDOW[0] + 28]]))
    scale = TimeScale(start_days=(a, a), end_days=(b, b), p=1.0)
    out = scale(x, WINDOW, BIN_DAYS, gen(0))[0, 0].numpy()
    split = 22  # the peaks land near bins 13.5/29.5 (stretch) or 16/27 (compress): one each side
    distance = (split + out[split:].argmax()) - out[:split].argmax()
    new_length = WINDOW[1] + (b - a) / BIN_DAYS  # bins the moved window spans
    assert abs(distance - 13 * WINDOW[1] / new_length) <= 1.0, distance
    assert (distance > 13) if longer else (distance < 13)


@pytest.mark.parametrize("boundary", ["not-a-knot", "natural"])
def test_warp_curves_are_smooth_with_mean_one(boundary: str) -> None:
    warp = MagnitudeWarp(sigma=0.2, knots=5, p=1.0, boundary=boundary)  # type: ignore[arg-type]
    knots, curves = warp.sample(20000, 43, gen(3), torch.empty(0))
    h = 42 / 4  # knot spacing in bins
    # A C2 spline's second difference is S'' somewhere nearby, bounded by the knots' curvature;
    # white noise of the same sigma exceeds this bound by ~6x or more.
    bound = 6.0 * knots.diff(n=2, dim=1).abs().amax(1) / h**2
    assert torch.all(curves.diff(n=2, dim=1).abs().amax(1) <= bound)
    noise = 1 + 0.2 * torch.randn(20000, 43, generator=gen(4))
    assert torch.all(noise.diff(n=2, dim=1).abs().amax(1) > bound)
    assert abs(curves.mean().item() - 1.0) < 0.005
    assert (curves.mean(0) - 1.0).abs().max().item() < 0.01
    assert abs(knots.std().item() - 0.2) < 0.005
    np.testing.assert_allclose(curves[:, 0].numpy(), knots[:, 0].numpy(), atol=1e-5)
    np.testing.assert_allclose(curves[:, -1].numpy(), knots[:, -1].numpy(), atol=1e-5)


def test_warp_multiplies_all_bands_by_one_curve() -> None:
    x = 0.2 + torch.rand(16, 5, T_FULL, generator=gen(0))
    out = MagnitudeWarp(sigma=0.3, p=1.0)(x, WINDOW, BIN_DAYS, gen(1))
    ratio = out / x[..., WINDOW[0]:WINDOW[0] + WINDOW[1]]
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio))
    assert ratio.std() > 0.05


def test_same_seed_same_batch_different_seed_differs() -> None:
    x = torch.rand(64, 10, T_FULL, generator=gen(0))
    aug = get_preset("paper")
    first, again = aug(x, WINDOW, BIN_DAYS, gen(11)), aug(x, WINDOW, BIN_DAYS, gen(11))
    assert torch.equal(first, again)
    assert not torch.equal(first, aug(x, WINDOW, BIN_DAYS, gen(12)))


@settings(max_examples=20, deadline=None)
@given(start=st.integers(0, 50), count=st.integers(1, 23), seed=st.integers(0, 1000))
def test_identity_when_every_p_is_zero(start: int, count: int, seed: int) -> None:
    x = torch.randn(5, 3, T_FULL, generator=gen(seed))
    off = PhenologyAugment(shift=TimeShift(max_days=50, p=0), scale=TimeScale(p=0),
                           warp=MagnitudeWarp(sigma=1.0, p=0))
    for aug in (off, PhenologyAugment(), get_preset("none")):
        assert aug.is_identity
        assert torch.equal(aug(x, (start, count), BIN_DAYS, gen(seed)), x[..., start:start + count])


def test_scale_composes_with_shift_instead_of_discarding_it() -> None:
    x = torch.rand(128, 4, T_FULL, generator=gen(0))
    shift = TimeShift(max_days=40, p=1.0)
    alone = PhenologyAugment(shift=shift)(x, WINDOW, BIN_DAYS, gen(5))
    zero_scale = PhenologyAugment(shift=shift, scale=TimeScale(start_days=(0, 0), end_days=(0, 0), p=1.0))
    assert torch.equal(zero_scale(x, WINDOW, BIN_DAYS, gen(5)), alone)
    assert not torch.equal(alone, x[..., WINDOW[0]:WINDOW[0] + WINDOW[1]])

    both = PhenologyAugment(shift=shift, scale=TimeScale(p=1.0))
    draw = both.sample(128, WINDOW[1], BIN_DAYS, gen(6), x)
    start_off, end_off = draw.offsets(128, x)
    torch.testing.assert_close(start_off, draw.shift + draw.scale_start)
    torch.testing.assert_close(end_off, draw.shift + draw.scale_end)
    out = both(x, WINDOW, BIN_DAYS, gen(6))
    assert torch.equal(out, read_window(x, WINDOW, start_off, end_off))
    scale_only = read_window(x, WINDOW, draw.scale_start, draw.scale_end)  # the reference-code bug
    assert (out - scale_only).abs().amax(dim=(1, 2)).gt(1e-3).float().mean() > 0.9


def test_probabilities_apply_per_sample() -> None:
    x = torch.rand(4000, 2, T_FULL, generator=gen(0))
    aug = get_preset("paper")
    draw = aug.sample(4000, WINDOW[1], BIN_DAYS, gen(1), x)
    assert abs((draw.shift != 0).float().mean().item() - 0.5) < 0.05
    assert abs((draw.scale_start != 0).float().mean().item() - 0.5) < 0.05
    assert abs((draw.curves != 1).any(1).float().mean().item() - 0.5) < 0.05
    out = aug.apply(x, WINDOW, draw)
    untouched = (draw.shift == 0) & (draw.scale_start == 0) & (draw.curves == 1).all(1)
    assert 0.08 < untouched.float().mean().item() < 0.17  # 1/8 expected
    assert torch.equal(out[untouched], x[untouched][..., WINDOW[0]:WINDOW[0] + WINDOW[1]])


def test_window_is_clamped_at_the_series_ends() -> None:
    x = torch.arange(T_FULL, dtype=torch.float32).expand(2, 1, T_FULL).contiguous()
    out = read_window(x, (60, 13), torch.tensor([20.0, -80.0]), torch.tensor([20.0, -80.0]))
    assert torch.all(out[0] == T_FULL - 1) and torch.all(out[1] == 0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), t=st.integers(2, 80), bin_days=st.floats(0.5, 30),
       shift=st.floats(0, 400), lo=st.floats(-400, 0), hi=st.floats(0, 400),
       sigma=st.floats(0, 3), magnitude=st.floats(1e-3, 1e4))
def test_never_nan_or_inf(seed: int, t: int, bin_days: float, shift: float, lo: float, hi: float,
                          sigma: float, magnitude: float) -> None:
    rng = np.random.default_rng(seed)
    start = int(rng.integers(0, t))
    count = int(rng.integers(1, t - start + 1))
    hi_start = min(hi, count * bin_days / 2 - 0.01)  # keep the shortest window above 0 days
    scale = TimeScale(start_days=(min(lo, hi_start), hi_start), end_days=(-hi_start, max(hi, -hi_start)), p=1)
    aug = PhenologyAugment(shift=TimeShift(max_days=shift, p=1.0), scale=scale,
                           warp=MagnitudeWarp(sigma=sigma, knots=4 + seed % 4, p=1.0))
    x = torch.tensor(rng.normal(0, magnitude, (7, 2, t)), dtype=torch.float32)
    out = aug(x, (start, count), bin_days, gen(seed))
    assert out.shape == (7, 2, count)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_and_device_preserved_on_cpu(dtype: torch.dtype) -> None:
    x = torch.rand(8, 3, T_FULL, dtype=dtype)
    out = get_preset("reference-code")(x, WINDOW, BIN_DAYS, gen(0))
    assert out.dtype == dtype and out.device == x.device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_device_and_checks_the_generator() -> None:
    x = torch.rand(64, 10, T_FULL, device="cuda")
    aug = get_preset("paper")
    g = torch.Generator(device="cuda").manual_seed(0)
    out = aug(x, WINDOW, BIN_DAYS, g)
    assert out.device == x.device and out.dtype == torch.float32 and torch.isfinite(out).all()
    with pytest.raises(CropGlobeError, match="generator is on cpu"):
        aug(x, WINDOW, BIN_DAYS, gen(0))


@pytest.mark.parametrize(("x", "window", "bin_days", "match"), [
    (np.zeros((2, 3, 73), np.float32), WINDOW, 5, "must be a floating torch tensor"),
    (torch.zeros(3, 73), WINDOW, 5, "must be a floating torch tensor"),
    (torch.zeros(2, 3, 73, dtype=torch.int32), WINDOW, 5, "must be a floating torch tensor"),
    (torch.zeros(2, 3, 73), (40, 43), 5, "must lie inside the 73 bins"),
    (torch.zeros(2, 3, 73), (-1, 10), 5, "must lie inside"),
    (torch.zeros(2, 3, 73), (0, 0), 5, "must lie inside"),
    (torch.zeros(2, 3, 73), (2.5, 10), 5, "window must be"),
    (torch.zeros(2, 3, 73), (24,), 5, "window must be"),
    (torch.zeros(2, 3, 73), WINDOW, 0, "bin_days must be a positive"),
    (torch.zeros(2, 3, 73), WINDOW, math.nan, "bin_days must be a positive"),
    (torch.zeros(2, 3, 73), WINDOW, "5", "bin_days must be a positive"),
])
def test_bad_call_arguments(x: object, window: tuple, bin_days: object, match: str) -> None:
    with pytest.raises(CropGlobeError, match=match):
        get_preset("paper")(x, window, bin_days, gen(0))  # type: ignore[arg-type]


def test_scale_that_could_collapse_the_window_is_rejected() -> None:
    aug = PhenologyAugment(scale=TimeScale(start_days=(0, 60), end_days=(-60, 0), p=0.5))
    with pytest.raises(CropGlobeError, match=r"shrink the 100-day window to -20 days"):
        aug(torch.zeros(2, 1, 73), (0, 20), 5, gen(0))


@pytest.mark.parametrize(("build", "match"), [
    (lambda: TimeShift(p=1.5), r"TimeShift: field p: .*less than or equal to 1"),
    (lambda: TimeShift(max_days=-1), r"TimeShift: field max_days"),
    (lambda: TimeShift(max_days=math.inf), r"TimeShift: field max_days"),
    (lambda: TimeScale(start_days=(10, -10)), r"TimeScale: .*start_days must be finite \[low, high\]"),
    (lambda: MagnitudeWarp(knots=3), r"MagnitudeWarp: field knots"),
    (lambda: MagnitudeWarp(sigma=math.nan), r"MagnitudeWarp: field sigma"),
    (lambda: MagnitudeWarp(boundary="clamped"), r"MagnitudeWarp: field boundary"),
    (lambda: PhenologyAugment(jitter={}), r"PhenologyAugment: field jitter: Extra inputs"),
    (lambda: PhenologyAugment(warp={"sigma": -0.1}), r"PhenologyAugment: field warp.sigma"),
])
def test_bad_transform_parameters(build, match: str) -> None:
    with pytest.raises(CropGlobeError, match=match):
        build()
