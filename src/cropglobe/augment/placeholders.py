"""Open-set placeholders: synthetic "new crops" added to each training batch under the ``other`` class.

Source: Zhou, Ye & Zhan, "Learning Placeholders for Open-Set Recognition" (PROSER, CVPR 2021,
doi:10.1109/CVPR46437.2021.00438), which trains a classifier with *data placeholders*: mixtures
of samples of two different known classes, labelled as an extra "unknown" class, so that the
space between the known classes is not claimed by any of them.

Here the placeholder class is the legend's ``other`` catch-all, since a study scores the classes a
source never saw as ``other``. A placeholder is made from two training samples of different known
classes (neither ``other``), on their augmented season windows (N, B, count):

- a **blend** ``λ x_i + (1 - λ) x_j`` with ``λ ~ U[mix]``, as in PROSER's data placeholders
  (input-space mixup instead of manifold mixup: the models here are small); or
- a **splice** in time: the first part of ``x_i``'s season and the rest of ``x_j``'s, cut at a
  uniform point in the middle half of the window, a crop whose early and late season belong
  to two different known crops.

The motivation is the season-shift study (issue 28): with wide time augmentation a source model
calls the target's new crops (Arkansas rice and cotton, for a Canada-trained model) corn, wheat
or soybean, whereas the target scores them as ``other``. The fraction, mixing range and splice
probability were fixed before any measurement (``season-wide-open`` in
``data/augment_presets.yaml``).
"""

from __future__ import annotations

import torch
from pydantic import Field, model_validator

from cropglobe.augment.strict import _Strict
from cropglobe.errors import CropGlobeError


class OpenSetPlaceholders(_Strict):
    """Append ``round(fraction * N)`` synthetic placeholders, labelled ``label``, to a training batch.

    Args:
        fraction: Placeholders per batch, as a fraction of the batch size.
        mix: Range of the blend weight ``λ`` (both ends inside (0, 1)).
        splice_p: Probability that a placeholder is a time splice rather than a blend.
        label: Class index of the placeholders (the cell's ``other``); None in a preset, set by
            the trainer from the cell's classes (:meth:`for_label`).
    """

    fraction: float = Field(0.25, gt=0, le=1)
    mix: tuple[float, float] = (0.35, 0.65)
    splice_p: float = Field(0.5, ge=0, le=1)
    label: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _mix_range(self) -> OpenSetPlaceholders:
        lo, hi = self.mix
        if not 0 < lo <= hi < 1:
            raise ValueError(f"mix must satisfy 0 < low <= high < 1 (got {list(self.mix)})")
        return self

    def for_label(self, classes: list[str] | tuple[str, ...],
                  where: str = "augmentation unknowns") -> OpenSetPlaceholders:
        """A copy whose placeholders get the index of ``other`` in ``classes``.

        Raises:
            CropGlobeError: When the legend has no ``other`` class to hold the placeholders.
        """
        if "other" not in classes:
            raise CropGlobeError(f"{where}: the placeholders are labelled 'other', but the cell's classes "
                                 f"{list(classes)} have no 'other'; expected a legend with an 'other' catch-all")
        return self.model_copy(update={"label": list(classes).index("other")})

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the batch with placeholders appended.

        Args:
            x: Season windows (N, B, count), already time-augmented.
            y: Class indices (N,).
            generator: ``torch.Generator`` on ``x``'s device (None: torch's global RNG).

        Returns:
            ``(x', y')`` with up to ``round(fraction * N)`` rows appended; fewer when the batch has
            fewer pairs of different known classes (none when it has one known class only).

        Raises:
            CropGlobeError: When ``label`` is unset (see :meth:`for_label`) or ``x`` is not 3-D.
        """
        if self.label is None:
            raise CropGlobeError("augmentation unknowns: the placeholder class is not set; expected "
                                 "OpenSetPlaceholders.for_label(classes) before training")
        if x.ndim != 3 or y.shape[0] != x.shape[0]:
            raise CropGlobeError(f"augmentation unknowns: expected windows (N, B, T) and N labels, got "
                                 f"{tuple(x.shape)} and {tuple(y.shape)}")
        n, count = x.shape[0], x.shape[-1]
        k = round(self.fraction * n)
        if k == 0 or n < 2:
            return x, y
        opts = {"generator": generator, "device": x.device}
        i = torch.randint(0, n, (k,), **opts)
        j = torch.randint(0, n, (k,), **opts)
        u = torch.rand(k, 3, **opts)
        keep = (y[i] != y[j]) & (y[i] != self.label) & (y[j] != self.label)
        lo, hi = self.mix
        lam = (lo + (hi - lo) * u[:, 0]).to(x.dtype)
        blend = lam[:, None, None] * x[i] + (1 - lam[:, None, None]) * x[j]
        cut = (count * (0.25 + 0.5 * u[:, 1])).long()  # the middle half of the window
        first = torch.arange(count, device=x.device)[None, None, :] < cut[:, None, None]
        splice = torch.where(first, x[i], x[j])
        made = torch.where((u[:, 2] < self.splice_p)[:, None, None], splice, blend)[keep]
        labels = torch.full((made.shape[0],), self.label, dtype=y.dtype, device=y.device)
        return torch.cat([x, made]), torch.cat([y, labels])
