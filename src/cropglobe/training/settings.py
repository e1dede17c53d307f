"""Optimisation settings of torch models: one definition for the YAML ``train:`` block and for a fit.

:class:`TrainSpec` is the validated ``train:`` block of a transfer spec (``cropglobe transfer``);
:class:`TrainSettings` is what :func:`cropglobe.training.lightning.fit_torch` takes: the same fields
plus the run's seed, progress bar, callbacks and log folder. ``TrainSettings.from_spec(spec, seed=...)`` turns
one into the other, so a new optimisation setting is added once, here. This module is light (no
torch), so parsing a spec does not import the training stack.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from cropglobe.checks import Strict, WholeNumber
from cropglobe.choices import INFERENCE_CHOICES as INFERENCE_CHOICES  # re-exported: the vocabulary is light
from cropglobe.choices import PRECISIONS as PRECISIONS
from cropglobe.choices import RESOLVED_INFERENCE as RESOLVED_INFERENCE
from cropglobe.choices import Precision


class TrainSpec(Strict):
    """Optimisation settings of torch models (defaults: the paper's protocol).

    ``batch_size`` is the global batch: under DDP each of the ``world_size`` processes takes
    ``ceil(batch_size / world_size)`` samples per step.
    """

    epochs: WholeNumber = Field(50, gt=0)
    batch_size: WholeNumber = Field(256, gt=0)
    lr: float = Field(1e-4, gt=0, allow_inf_nan=False)  # inf trained a NaN model (issue 29)
    weight_decay: float = Field(0.0, ge=0, allow_inf_nan=False)
    accelerator: str = "auto"
    devices: Any = "auto"
    strategy: str = "auto"
    precision: Precision = Field(
        Precision.AUTO, description="Lightning precision; auto = bf16-mixed where the CPU/GPU runs bfloat16 well")


class TrainSettings(TrainSpec):
    """The settings of one fit: a :class:`TrainSpec` plus the seed, progress, callbacks and the log folder.

    ``precision`` stays a plain string here (``lightning.resolve_precision`` checks it when the
    fit starts, so a typo fails where it is used).
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    precision: str = "auto"
    seed: int = 0
    progress: bool = True
    callbacks: list[Any] = Field(default_factory=list)
    #: Folder for Lightning's loggers (CSV; TensorBoard as well when installed): ``<log_dir>/logs/version_<k>``.
    log_dir: str | None = None

    @classmethod
    def from_spec(cls, spec: TrainSpec, **run: Any) -> TrainSettings:
        """The spec's fields plus the run's (``seed``, ``progress``, ``callbacks``, ``log_dir``)."""
        return cls(**{name: getattr(spec, name) for name in TrainSpec.model_fields}, **run)
