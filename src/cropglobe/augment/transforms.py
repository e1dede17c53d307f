"""Phenology augmentation: time shift, time scale and magnitude warping as batched torch transforms.

Source: Tong & Wang, "Invariant Features for Global Crop Type Classification" (arXiv:2509.03497),
which simulates regional phenology differences with a time shift of the season window (o ~ U[-s, s]
days), a time scale that moves the window's start by ``a`` and its end by ``b`` days, and magnitude
warping (Um et al., "Data augmentation of wearable sensor data for Parkinson's disease monitoring
using convolutional neural networks", ICMI 2017, doi:10.1145/3136755.3136817): multiplication by a
smooth cubic spline through K knots drawn from N(1, σ).

Every transform reads the *full-year* composite ``x_full`` (N, B, T_full) and returns the season
window (N, B, count) for ``window=(start, count)`` in bins. Shift and scale compose into ONE moved
window per sample, ``start' = start + shift + a`` and ``end' = start + count + shift + b`` (bins,
end exclusive), read from the full series by linear interpolation at
``start' + j (end' - start') / count`` for ``j = 0 .. count-1`` (positions clamped to the series
ends), so values outside the original window come from real observations. The reference code's
time scale re-slices the raw series and silently discards the shift; here it does not.

Random draws happen in a fixed order (shift, scale, warp) from the given ``torch.Generator``, each
transform with its own per-sample probability; a transform with ``p == 0`` draws nothing and the
whole augmenter with every ``p == 0`` returns ``x_full[..., start:start+count]`` exactly.
"""

from __future__ import annotations

import math
import numbers
import operator
from dataclasses import dataclass

import torch
from pydantic import Field, model_validator

from cropglobe.augment.placeholders import OpenSetPlaceholders
from cropglobe.augment.spline import Boundary, uniform_knots_basis
from cropglobe.augment.strict import _Strict
from cropglobe.errors import CropGlobeError


def check_window(x_full: torch.Tensor, window: tuple[int, int], bin_days: float) -> tuple[int, int]:
    """Validate the input tensor, window and bin width; return ``(start, count)`` as ints.

    Raises:
        CropGlobeError: If ``x_full`` is not a floating (N, B, T) tensor, the window does not fit
            in T bins, or ``bin_days`` is not a positive number.
    """
    if not isinstance(x_full, torch.Tensor) or x_full.ndim != 3 or not x_full.is_floating_point():
        what = f"{type(x_full).__name__} of shape {tuple(getattr(x_full, 'shape', ()))}"
        raise CropGlobeError(f"augment: x_full must be a floating torch tensor (N, B, T), got {what}")
    try:
        start, count = (operator.index(v) for v in window)
    except (TypeError, ValueError):
        raise CropGlobeError(f"augment: window must be (start, count) in bins, got {window!r}") from None
    t = x_full.shape[-1]
    if start < 0 or count < 1 or start + count > t:
        raise CropGlobeError(f"augment: window (start={start}, count={count}) must lie inside the "
                             f"{t} bins of x_full (start >= 0, count >= 1, start + count <= {t})")
    if isinstance(bin_days, bool) or not isinstance(bin_days, numbers.Real) \
            or not math.isfinite(bin_days) or bin_days <= 0:
        raise CropGlobeError(f"augment: bin_days must be a positive number of days, got {bin_days!r}")
    return start, count


def check_generator(generator: torch.Generator | None, device: torch.device) -> None:
    """Raise CropGlobeError unless the generator lives on ``device`` (None = torch's global RNG)."""
    if generator is None:
        return
    gdev = generator.device
    same_index = gdev.index is None or device.index is None or gdev.index == device.index
    if gdev.type != device.type or not same_index:
        raise CropGlobeError(f"augment: the generator is on {gdev} but x_full is on {device}; "
                             f"create it with torch.Generator(device=x_full.device)")


def read_window(x_full: torch.Tensor, window: tuple[int, int], start_offset: torch.Tensor,
                end_offset: torch.Tensor) -> torch.Tensor:
    """Read each sample's moved window from the full series, resampled to the window's length.

    Args:
        x_full: Full-year series (N, B, T).
        window: ``(start, count)`` in bins.
        start_offset: Per-sample offset of the window start in bins (N,), fractional allowed.
        end_offset: Per-sample offset of the (exclusive) window end in bins (N,).

    Returns:
        (N, B, count): linear interpolation at ``start' + j (end' - start') / count``, positions
        clamped to ``[0, T-1]``; zero offsets give ``x_full[..., start:start+count]`` exactly.
    """
    start, count = window
    n, b, t = x_full.shape
    j = torch.arange(count, device=x_full.device, dtype=x_full.dtype)
    first = start + start_offset.to(x_full.dtype)
    step = (count + end_offset.to(x_full.dtype) - start_offset.to(x_full.dtype)) / count
    pos = torch.addcmul(first[:, None], j[None, :], step[:, None]).clamp_(0, t - 1)
    lo = pos.floor()
    frac = (pos - lo).unsqueeze(1)
    i0 = lo.long()
    i1 = (i0 + 1).clamp_(max=t - 1)
    x0 = x_full.gather(2, i0.unsqueeze(1).expand(n, b, count))
    x1 = x_full.gather(2, i1.unsqueeze(1).expand(n, b, count))
    return torch.lerp(x0, x1, frac)


def _uniform(n: int, columns: int, generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, columns, generator=generator, device=like.device, dtype=like.dtype)


class TimeShift(_Strict):
    """Move the season window by o ~ U[-max_days, max_days] days with probability ``p`` per sample.

    Source: Tong & Wang (arXiv:2509.03497), time shift (paper: 10 days; reference code: 50 days).
    """

    max_days: float = Field(10.0, ge=0, allow_inf_nan=False)
    p: float = Field(0.5, ge=0, le=1)

    def sample(self, n: int, bin_days: float, generator: torch.Generator | None,
               like: torch.Tensor) -> torch.Tensor:
        """Draw per-sample shifts in bins, shape (n,), zero where the shift is not applied."""
        u = _uniform(n, 2, generator, like)
        shift = (2 * u[:, 1] - 1) * (self.max_days / bin_days)
        return shift if self.p >= 1 else torch.where(u[:, 0] < self.p, shift, 0.0)

    def __call__(self, x_full: torch.Tensor, window: tuple[int, int], bin_days: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Apply this transform alone (see :class:`PhenologyAugment`)."""
        return PhenologyAugment(shift=self)(x_full, window, bin_days, generator)


class TimeScale(_Strict):
    """Move the window start by a and its end by b days (independent uniforms), probability ``p``.

    Source: Tong & Wang (arXiv:2509.03497), time scale (paper: a, b in [-30, +10] days; reference
    code: ±50 days). The moved window is resampled to the original length (stretch / compress).
    """

    start_days: tuple[float, float] = (-30.0, 10.0)
    end_days: tuple[float, float] = (-30.0, 10.0)
    p: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _ranges(self) -> TimeScale:
        for name in ("start_days", "end_days"):
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise ValueError(f"{name} must be finite [low, high] with low <= high, got {[lo, hi]}")
        return self

    def sample(self, n: int, bin_days: float, generator: torch.Generator | None,
               like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw per-sample (a, b) in bins, each shape (n,), zero where the scale is not applied."""
        u = _uniform(n, 3, generator, like)
        (alo, ahi), (blo, bhi) = self.start_days, self.end_days
        a = (alo + u[:, 1] * (ahi - alo)) / bin_days
        b = (blo + u[:, 2] * (bhi - blo)) / bin_days
        if self.p >= 1:
            return a, b
        keep = u[:, 0] < self.p
        return torch.where(keep, a, 0.0), torch.where(keep, b, 0.0)

    def min_length_days(self, count: int, bin_days: float) -> float:
        """Shortest window (days) this scale can produce from a window of ``count`` bins."""
        return count * bin_days + self.end_days[0] - self.start_days[1]

    def __call__(self, x_full: torch.Tensor, window: tuple[int, int], bin_days: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Apply this transform alone (see :class:`PhenologyAugment`)."""
        return PhenologyAugment(scale=self)(x_full, window, bin_days, generator)


class MagnitudeWarp(_Strict):
    """Multiply each sample by a cubic spline through ``knots`` values ~ N(1, sigma), probability ``p``.

    Source: Um et al., ICMI 2017 (doi:10.1145/3136755.3136817), as used by Tong & Wang
    (arXiv:2509.03497; paper σ = 0.2, K = 5; reference code σ = 0.1). Knots are spread evenly over
    the output window (first and last on its end bins); one curve is shared by all bands of a
    sample. Spline evaluation: :mod:`cropglobe.augment.spline`.
    """

    sigma: float = Field(0.2, ge=0, allow_inf_nan=False)
    knots: int = Field(5, ge=4, le=366)
    p: float = Field(0.5, ge=0, le=1)
    boundary: Boundary = "not-a-knot"

    def sample(self, n: int, count: int, generator: torch.Generator | None,
               like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw per-sample knot values (n, K) and warp curves (n, count); both exactly 1 where off."""
        u = _uniform(n, 1, generator, like)[:, 0]
        z = torch.randn(n, self.knots, generator=generator, device=like.device, dtype=like.dtype)
        basis = uniform_knots_basis(self.knots, count, self.boundary, like.device, like.dtype)
        curves = (z @ basis).mul_(self.sigma).add_(1.0)  # spline of 1 + σ z; spline(1) == 1
        knots = z.mul_(self.sigma).add_(1.0)
        if self.p >= 1:
            return knots, curves
        keep = (u < self.p)[:, None]
        return torch.where(keep, knots, 1.0), torch.where(keep, curves, 1.0)

    def __call__(self, x_full: torch.Tensor, window: tuple[int, int], bin_days: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Apply this transform alone (see :class:`PhenologyAugment`)."""
        return PhenologyAugment(warp=self)(x_full, window, bin_days, generator)


@dataclass(frozen=True)
class AugmentDraw:
    """The random parameters of one batch: shifts and scale offsets in bins, warp knots and curves."""

    shift: torch.Tensor | None  # (N,) bins
    scale_start: torch.Tensor | None  # (N,) bins, a
    scale_end: torch.Tensor | None  # (N,) bins, b
    knots: torch.Tensor | None  # (N, K) knot values ~ N(1, σ), 1 where not warped
    curves: torch.Tensor | None  # (N, count) spline through the knots

    def offsets(self, n: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Composed (start, end) offsets in bins: shift + a and shift + b; None when neither applies."""
        if self.shift is None and self.scale_start is None:
            return None
        zero = torch.zeros(n, device=like.device, dtype=like.dtype)
        shift = zero if self.shift is None else self.shift
        if self.scale_start is None or self.scale_end is None:
            return shift, shift
        return shift + self.scale_start, shift + self.scale_end


class PhenologyAugment(_Strict):
    """Shift, scale and warp composed: one moved window per sample, then one warp curve.

    Source: Tong & Wang (arXiv:2509.03497), phenology augmentation; composition fixed as described
    in this module's docstring. A missing transform (None) is not applied.

    Example:
        >>> from cropglobe.augment import get_preset
        >>> aug = get_preset("paper")  # presets are built in cropglobe.augment.presets
        >>> g = torch.Generator().manual_seed(0)
        >>> aug(torch.rand(8, 10, 73), window=(24, 43), bin_days=5, generator=g).shape
        torch.Size([8, 10, 43])
    """

    shift: TimeShift | None = None
    scale: TimeScale | None = None
    warp: MagnitudeWarp | None = None
    #: Open-set placeholders appended to each training batch after the time transforms (labelled
    #: ``other``; see :mod:`cropglobe.augment.placeholders`). Calling the augmenter ignores them:
    #: the trainer applies them, since they need the batch's labels.
    unknowns: OpenSetPlaceholders | None = None

    @property
    def is_identity(self) -> bool:
        """True when no transform can change the batch (all absent or at p = 0, no placeholders)."""
        return self.unknowns is None and self.moves_nothing

    @property
    def moves_nothing(self) -> bool:
        """True when no time or magnitude transform can change the window (all absent or at p = 0)."""
        return all(t is None or t.p == 0 for t in (self.shift, self.scale, self.warp))

    def sample(self, n: int, count: int, bin_days: float, generator: torch.Generator | None,
               like: torch.Tensor) -> AugmentDraw:
        """Draw a batch's random parameters in the fixed order shift, scale, warp."""
        def on(t: TimeShift | TimeScale | MagnitudeWarp | None) -> bool:
            return t is not None and t.p > 0

        shift = self.shift.sample(n, bin_days, generator, like) if on(self.shift) else None
        a, b = self.scale.sample(n, bin_days, generator, like) if on(self.scale) else (None, None)
        knots, curves = (self.warp.sample(n, count, generator, like) if on(self.warp)
                         else (None, None))
        return AugmentDraw(shift, a, b, knots, curves)

    def apply(self, x_full: torch.Tensor, window: tuple[int, int], draw: AugmentDraw) -> torch.Tensor:
        """Apply drawn parameters: read the composed window, then multiply by the warp curves."""
        start, count = window
        offsets = draw.offsets(x_full.shape[0], x_full)
        if offsets is None:
            out = x_full[..., start:start + count].clone()
        else:
            out = read_window(x_full, (start, count), *offsets)
        if draw.curves is not None:
            out.mul_(draw.curves.unsqueeze(1))
        return out

    def __call__(self, x_full: torch.Tensor, window: tuple[int, int], bin_days: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment a batch of full-year series and return its season windows.

        Args:
            x_full: Full-year composites (N, B, T_full), float (float32 in training), any device.
                Must be finite (composites are gap-filled); finite input gives finite output.
            window: ``(start, count)`` of the season window in bins, e.g. ``(24, 43)``.
            bin_days: Width of one bin in days (parameters in days are divided by it).
            generator: ``torch.Generator`` on ``x_full``'s device; None uses torch's global RNG.

        Returns:
            (N, B, count) on ``x_full``'s device and dtype.

        Raises:
            CropGlobeError: Bad tensor, window, bin width or generator device, or a time scale that
                could shrink the window to zero length.
        """
        start, count = check_window(x_full, window, bin_days)
        if self.moves_nothing:
            return x_full[..., start:start + count].clone()
        check_generator(generator, x_full.device)
        if self.scale is not None and self.scale.p > 0:
            shortest = self.scale.min_length_days(count, float(bin_days))
            if shortest <= 0:
                raise CropGlobeError(
                    f"augment: scale start_days={list(self.scale.start_days)} and end_days="
                    f"{list(self.scale.end_days)} can shrink the {count * bin_days:g}-day window to "
                    f"{shortest:g} days; expected ranges that keep it longer than 0 days")
        draw = self.sample(x_full.shape[0], count, float(bin_days), generator, x_full)
        return self.apply(x_full, (start, count), draw)
