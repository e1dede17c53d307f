"""One cell of a study as one object (:class:`CellJob`), and the study's feature cache (:class:`FeatureCache`).

A study cell is trained, scored, adapted and self-trained with the same things at hand: the
prepared data, the spec, the feature cache, the source group, the cell, the seed, the fold and its
train / val (/ test) split. :class:`CellJob` carries them together, so the runner, ``cropglobe
adapt`` (:mod:`cropglobe.experiment.posthoc`) and ``adapt-cell`` pass one object instead of a
bundle of parameters, and answers what each of them asked on its own: the cell's targets, the
layout its model trains on, the source's classes for ``absent_classes: other``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cropglobe import samples, taxonomy
from cropglobe.cells.cell import trains_on_series
from cropglobe.experiment.data import Prepared
from cropglobe.features import families as features
from cropglobe.study.spec import CellSpec, ExperimentSpec

N_CLASSES = len(taxonomy.CLASSES)  # the default legend's; a study's cells have len(prepared.classes)


class FeatureCache:
    """Feature arrays of the study, computed once per family."""

    def __init__(self, prepared: Prepared, options: dict[str, dict[str, Any]]) -> None:
        self.prepared, self.options = prepared, options
        self.labels = samples.label_codes(prepared.full, prepared.classes)
        self._features: dict[str, np.ndarray] = {}
        self._full: np.ndarray | None = None

    def full_series(self) -> np.ndarray:
        """Gap-filled full-year composite values (N, B, T_full)."""
        if self._full is None:
            self._full = np.nan_to_num(self.prepared.full["reflectance"].values).astype(np.float32)
        return self._full

    def features(self, family: str) -> np.ndarray:
        """Model-ready features of ``family`` on the season window (N, ...)."""
        if family not in self._features:
            spec = features.get_feature(family)
            self._features[family] = np.asarray(spec.fn(self.prepared.windowed(), **self.options.get(family, {})),
                                                dtype=np.float32)
        return self._features[family]


@dataclass
class CellJob:
    """One cell of a study: what training, scoring and adapting it need.

    Attributes:
        prepared: The study's composited data.
        spec: The study's spec.
        cache: The study's feature cache.
        group: The source (its units, pooled).
        cell: The cell (feature, model, augmentation).
        seed: The seed.
        parts: Sample indices of the source's ``train`` / ``val`` (/ in-region ``test``) split.
        fold: The fold's tag (``""`` without folds).
    """

    prepared: Prepared
    spec: ExperimentSpec
    cache: FeatureCache
    group: list[str]
    cell: CellSpec
    seed: int
    parts: dict[str, np.ndarray]
    fold: str = ""

    @property
    def labels(self) -> np.ndarray:
        """Class indices of every sample of the study (the source's train / val labels are read from them)."""
        return self.cache.labels

    @property
    def window(self) -> tuple[int, int]:
        """The season window ``(start, count)`` on the full-year axis."""
        return self.prepared.window

    @property
    def bin_days(self) -> float:
        """The composite's bin width in days."""
        return self.prepared.bin_days

    @property
    def classes(self) -> list[str]:
        """The study's legend: the classes its cells predict, in the order of their outputs."""
        return list(self.prepared.classes)

    @property
    def bands(self) -> list[str]:
        """The study's band names, in order."""
        return [str(b) for b in self.prepared.full["band"].values]

    @property
    def source(self) -> str:
        """The source's name (``+``-joined units)."""
        return "+".join(self.group)

    @property
    def model_options(self) -> dict[str, Any]:
        """The spec's options of the cell's model."""
        return dict(self.spec.model_options.get(self.cell.model, {}))

    @property
    def methods(self) -> list[str]:
        """The single-model adaptation methods of the spec (``["none"]`` without ``adaptation:``)."""
        return self.spec.adaptation.single_methods() if self.spec.adaptation is not None else ["none"]

    @property
    def max_shift_days(self) -> float:
        """The largest season move of ``phenoshift`` / ``align`` (days)."""
        return self.spec.adaptation.max_shift_days if self.spec.adaptation is not None else 60.0

    @property
    def trains_on_series(self) -> bool:
        """True when the cell's model trains on full-year series cut to the window (torch on windowed families)."""
        return trains_on_series(self.cell.model, self.cell.feature)

    def training_data(self) -> np.ndarray:
        """Every sample in the layout the cell's model trains on (full-year series or the family's features)."""
        return self.cache.full_series() if self.trains_on_series else self.cache.features(self.cell.feature)

    def targets(self) -> list[tuple[str, np.ndarray]]:
        """The targets the cell is scored on: the in-region hold-out (if any), then every non-overlapping unit."""
        out = []
        if "test" in self.parts:
            out.append((self.source, self.parts["test"]))
        for unit in self.prepared.targets:
            if not self.prepared.overlaps(unit, self.group):
                out.append((unit, self.prepared.indices(unit)))
        return out

    def training_classes(self) -> list[str]:
        """The classes of the source group's samples, in legend order (the recipe's ``source_classes``)."""
        return self.prepared.classes_held(self.group)

    def source_classes(self) -> list[str] | None:
        """The classes of the source's samples when ``absent_classes: other`` (else None: scores keep all)."""
        return self.training_classes() if self.spec.absent_classes == "other" else None
