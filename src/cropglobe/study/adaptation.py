"""The ``adaptation:`` block of a transfer spec (:class:`AdaptationSpec`, :class:`SelfTrainSpec`).

The settings only; the methods are :mod:`cropglobe.experiment.adapt` and
:mod:`cropglobe.experiment.selftrain` (which re-export these classes). They live with the spec
(:mod:`cropglobe.study.spec`) so that a run folder's ``config.yaml`` is read without importing
the experiment.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cropglobe.checks import Strict, WholeNumber
from cropglobe.choices import AdaptationMethod


class SelfTrainSpec(Strict):
    """Settings of ``selftrain`` (``adaptation.selftrain`` in an experiment spec).

    Attributes:
        portions: Share of each predicted class kept as pseudo-labels, one per round (growing).
        epochs: Fine-tuning epochs per round (torch models; tabular models are refitted).
        lr_factor: Fine-tuning learning rate as a fraction of the spec's ``train.lr``.
    """

    portions: list[float] = Field(default_factory=lambda: [0.3, 0.6], min_length=1)
    epochs: WholeNumber = Field(8, gt=0)
    lr_factor: float = Field(0.3, gt=0, le=1)

    def model_post_init(self, _context: Any) -> None:
        """Check that every portion lies in (0, 1]."""
        bad = [p for p in self.portions if not 0 < p <= 1]
        if bad:
            raise ValueError(f"selftrain.portions: each must lie in (0, 1], got {bad}")


class AdaptationSpec(Strict):
    """The ``adaptation:`` block of an experiment spec.

    Attributes:
        methods: Single-model methods evaluated on every target in addition to the unadapted
            model (``none`` is always evaluated): ``adabn`` re-estimates BatchNorm statistics on
            the target's inputs (torch models with BatchNorm layers; skipped for others);
            ``phenoshift`` reads the target's window moved by the NDVI-peak offset (median
            feature families only; see :func:`cropglobe.experiment.adapt.phenology_offset`);
            ``prior`` re-weights the probabilities by the target's class prior estimated by EM
            (:func:`cropglobe.models.ensemble.prior_shift`);
            ``selftrain`` fine-tunes the model on the source plus class-balanced pseudo-labels of
            the target (:mod:`cropglobe.experiment.selftrain`; retrains, so it costs a few epochs
            per cell and target); ``align`` reads the target's window at the offset / stretch that
            maximises the information of the model's own predictions (:mod:`cropglobe.augment.align`;
            median feature families only).
        ensemble: Also score the mean of the seeds' probabilities, one row per cell, target and
            method, with ``adaptation`` = ``ensemble`` or ``adabn+ensemble`` and ``seed`` = -1.
            Only on targets whose samples are the same for every seed (the other countries; the
            in-region hold-out changes with the seed and is skipped).
        batch_size: Batch size of the AdaBN statistics pass.
        selftrain: Settings of ``selftrain`` (rounds, epochs, learning rate), fixed in advance.
    """

    methods: list[AdaptationMethod] = Field(
        default_factory=lambda: ["adabn"])
    ensemble: bool = True
    batch_size: int = Field(512, gt=0)
    max_shift_days: float = Field(60.0, ge=0, description="limit of the phenoshift and align offsets")
    selftrain: SelfTrainSpec = Field(default_factory=SelfTrainSpec)

    def single_methods(self) -> list[str]:
        """``none`` first, then the configured methods without repeats."""
        return list(dict.fromkeys(["none", *self.methods]))
