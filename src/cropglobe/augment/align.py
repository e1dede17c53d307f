"""Test-time season alignment (``align``): read the target's window where the model is most decided.

The season moves with latitude by 4-6 weeks and by a different amount for each crop (Canadian corn
peaks in August, Arkansas corn at the end of June). A model trained on one calendar reads the
other calendar's window at the wrong phenological stage. ``align`` searches, on the *unlabelled*
target, the window offset ``a`` and end offset ``b`` (days; ``a == b`` is a shift, ``a != b`` a
stretch) at which the trained model's predictions carry the most information, and reads the whole
target there. The window is read from the target's full-year composite with
:func:`cropglobe.augment.read_window`, the same operator that the time shift / time scale
augmentations of Tong & Wang (arXiv:2509.03497) use in training.

Criterion: the information-maximisation objective of SHOT (Liang, Hu & Feng, "Do We Really Need
to Access the Source Data? Source Hypothesis Transfer for Unsupervised Domain Adaptation", ICML
2020, arXiv:2002.08546), ``IM = H(mean_x p(y|x)) - mean_x H(p(y|x))``: predictions must be
confident (low conditional entropy) *and* diverse (high entropy of the marginal), which rules out
the degenerate window where everything is called one class with confidence. Only predicted
probabilities are used, never a target label. A candidate replaces the unshifted window only when
it raises IM by more than ``min_gain`` nats (a prior for "no shift": the criterion is noisy on a
flat optimum).

The search uses a fixed, seeded subsample of the target (``search_samples``), in two stages: a
shift grid over ``[-max_days, max_days]`` in ``step_days``, then stretches around the best shift.
The criterion is checked label-free on the *source* validation split with known synthetic shifts
(:func:`recovery_check`): it must find the offset that undoes them.

Used by the transfer runner and ``cropglobe study adapt`` (``adaptation.methods: [align]``), and by
``cropglobe predict`` / ``cropglobe map`` (``--adapt align``), which record the offsets found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cropglobe.errors import CropGlobeError
from cropglobe.features import families

#: Families whose inputs are season windows of the composite (align applies to them only): their ``layout``.
WINDOW_FAMILIES = families.window_families()


@dataclass(frozen=True)
class AlignSettings:
    """Search settings of ``align`` (fixed in advance; not tuned on any target)."""

    max_days: float = 60.0
    step_days: float = 10.0
    stretch_days: tuple[float, ...] = (-30.0, -15.0, 15.0, 30.0)
    search_samples: int = 2000
    min_gain: float = 0.01
    seed: int = 0


def information(proba: np.ndarray) -> float:
    """SHOT's information-maximisation objective of predicted probabilities (nats; higher is better)."""
    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    marginal = p.mean(axis=0)
    return float(-(marginal * np.log(marginal)).sum() + (p * np.log(p)).sum(axis=1).mean())


def read(full: np.ndarray, window: tuple[int, int], bin_days: float, start_days: float,
         end_days: float) -> np.ndarray:
    """Season windows whose start and end are moved by ``start_days`` / ``end_days`` (N, B, count)."""
    import torch

    from cropglobe.augment.transforms import read_window

    x = torch.as_tensor(np.ascontiguousarray(full), dtype=torch.float32)
    a = torch.full((len(x),), start_days / bin_days, dtype=torch.float32)
    b = torch.full((len(x),), end_days / bin_days, dtype=torch.float32)
    return read_window(x, window, a, b).numpy()


def search(predict: Callable[[np.ndarray], np.ndarray], full: np.ndarray, window: tuple[int, int], bin_days: float,
           settings: AlignSettings = AlignSettings()) -> tuple[float, float, dict[str, float]]:
    """The start / end offsets (days) that maximise IM of ``predict`` on the unlabelled target.

    Args:
        predict: Class probabilities of season windows (N, B, count) -> (N, C); the caller shapes
            the windows into the model's inputs.
        full: The target's gap-filled full-year series (N, B, T_full).
        window: The season window ``(start, count)`` in bins.
        bin_days: Bin width in days.
        settings: The search settings.

    Returns:
        ``(start_days, end_days, record)``; the record holds the chosen offsets and IM values.
    """
    if len(full) == 0:
        raise CropGlobeError("align: the target has no samples")
    rng = np.random.default_rng(settings.seed)
    sub = full if len(full) <= settings.search_samples else full[np.sort(
        rng.choice(len(full), settings.search_samples, replace=False))]
    cache: dict[tuple[float, float], float] = {}

    def score(a: float, b: float) -> float:
        if (a, b) not in cache:
            cache[(a, b)] = information(predict(read(sub, window, bin_days, a, b)))
        return cache[(a, b)]

    base = score(0.0, 0.0)
    steps = int(settings.max_days // settings.step_days)
    shifts = [k * settings.step_days for k in range(-steps, steps + 1)]
    best = max(shifts, key=lambda d: (score(d, d), -abs(d)))
    cands = [(best, best)] + [(best - s / 2, best + s / 2) for s in settings.stretch_days]
    a, b = max(cands, key=lambda ab: (score(*ab), -abs(ab[0]) - abs(ab[1])))
    if score(a, b) - base <= settings.min_gain:
        a, b = 0.0, 0.0
    record = {"align_start_days": float(a), "align_end_days": float(b), "align_im": round(score(a, b), 4),
              "align_im_unshifted": round(base, 4)}
    return float(a), float(b), record


def window_inputs(windows: np.ndarray, feature: str) -> np.ndarray:
    """Model inputs of season windows (N, B, count) for a windowed family (:meth:`.FeatureSpec.window_inputs`).

    Raises:
        CropGlobeError: For a feature family whose inputs are not season windows.
    """
    try:
        return families.get_feature(feature).window_inputs(windows)
    except CropGlobeError as err:
        raise CropGlobeError(f"align: {err}") from None


def recovery_check(predict: Callable[[np.ndarray], np.ndarray], full: np.ndarray, window: tuple[int, int],
                   bin_days: float, shifts: tuple[float, ...] = (-40.0, -20.0, 20.0, 40.0),
                   settings: AlignSettings = AlignSettings()) -> list[dict[str, float]]:
    """Label-free check of the criterion on source data: shift the source's windows, see if align undoes it.

    The source's whole-year series are moved by each known ``shift`` (``x'(t) = x(t + shift)``: the
    season comes ``shift`` days earlier); a working criterion reads the moved series ``shift`` days
    earlier, i.e. answers ``-shift``. Returns one row per shift with the offset that undoes it, the
    found offset (mean of start and end offsets) and the error (days). Source labels are not used.
    """
    rows = []
    t = full.shape[-1]
    for s in shifts:
        k = int(round(s / bin_days))
        moved = np.roll(full, -k, axis=-1)
        if k > 0:
            moved[..., t - k:] = moved[..., [t - k - 1]]
        elif k < 0:
            moved[..., :-k] = moved[..., [-k]]
        a, b, _ = search(predict, moved, window, bin_days, settings)
        found = (a + b) / 2
        rows.append({"true_shift_days": float(-s), "found_days": float(found), "error_days": float(found + s)})
    return rows
