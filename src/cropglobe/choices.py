"""The fixed vocabularies of cropglobe's settings: each list of allowed values defined once (issue 27).

A vocabulary is a :class:`enum.StrEnum` (:class:`Precision`) or a ``Literal`` alias (``Coverage``,
``UnknownPolicy`` ...) that the pydantic models and readers use as their type; :func:`choice_enum`
turns a ``Literal`` (or any registry of names) into the ``StrEnum`` that a Typer option takes, so
``--help`` lists the values and a wrong value is a usage error (exit 2). This module imports the
standard library only: the command line reads it when it starts, without pydantic, numpy or torch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Literal, get_args


class Precision(StrEnum):
    """Numeric precision of torch training and inference, in Lightning's names: the one list of the values.

    A member is a ``str`` (``Precision.FP32 == "32-true"``, ``f"{Precision.FP32}"`` is ``32-true``).
    Training takes every member (:data:`PRECISIONS`); ``cropglobe map`` / ``cropglobe predict``
    take :data:`INFERENCE_CHOICES`; a forward pass runs at one of :data:`RESOLVED_INFERENCE`.
    Also importable from :mod:`cropglobe.training.settings`.
    """

    #: bf16-mixed where the hardware runs bfloat16 well, else 32-true (``lightning.resolve_precision``).
    AUTO = "auto"
    #: bfloat16 autocast, float32 weights (near-ties may flip).
    BF16_MIXED = "bf16-mixed"
    #: float16 autocast (training only).
    FP16_MIXED = "16-mixed"
    #: float32 throughout (the default of inference).
    FP32 = "32-true"


#: Lightning precision settings of training (``"auto"`` picks one of the others, see ``lightning.resolve_precision``).
PRECISIONS: tuple[Precision, ...] = tuple(Precision)
#: ``--precision`` of ``cropglobe map`` / ``cropglobe predict`` (``mapping.predict.inference_precision``).
INFERENCE_CHOICES: tuple[Precision, ...] = (Precision.AUTO, Precision.BF16_MIXED, Precision.FP32)
#: What a forward pass runs at once ``auto`` is resolved (``lightning.predict_proba_torch``).
RESOLVED_INFERENCE: tuple[Precision, ...] = (Precision.FP32, Precision.BF16_MIXED)

#: Samples whose data do not span the season window: drop them, stop with an error, or fill short edge gaps
#: (``CompositeSettings.coverage``, ``--coverage`` of ``data composite`` / ``data features``).
Coverage = Literal["drop", "error", "fill"]
#: Label codes outside the legend: stop with an error, map them to ``other``, or drop their samples.
UnknownPolicy = Literal["error", "other", "drop"]
#: Which year names a southern season (it crosses the new year): the year it starts in or the one it ends in.
SeasonYear = Literal["start", "end"]
#: Order of the flattened (N, 10*T) rows of the CropGlobe release.
Flatten = Literal["band-major", "time-major"]
#: Season windows of the CropGlobe release, as its file names tag them (``cropglobe_npz.WINDOWS`` holds their bins).
ReleaseWindow = Literal["month1-12", "month5-11"]
#: Single-model adaptation methods of a study's ``adaptation.methods`` and of ``study adapt --method``
#: (``none``, the unadapted model, is always scored).
AdaptationMethod = Literal["none", "adabn", "phenoshift", "prior", "selftrain", "align"]
#: Methods of ``study adapt-cell``: they write a new cell folder (:mod:`cropglobe.experiment.adapt_cell`).
CellAdaptationMethod = Literal["adabn", "selftrain"]
#: ``--adapt`` of ``cropglobe predict`` / ``cropglobe map``: the library's inference-time methods
#: (``cropglobe.models.ensemble.ADAPT``: none, prior, align; a test keeps them equal) and ``selftrain``,
#: which retrains the cells first (``cropglobe.cli._selftrain``).
PredictAdaptation = Literal["none", "prior", "align", "selftrain"]
#: Feature families of ``data features --family`` (the names of ``features.families.FEATURES``, the registry that
#: computes them; a test keeps the two equal).
FeatureFamily = Literal["median2d", "median1d", "harmonic", "emit", "presto", "presto-input"]
#: ``--student`` of ``cropglobe map --fast``: the student presets (``cropglobe.mapping.student.PRESETS``; a test keeps
#: them equal).
FastStudent = Literal["tempcnn", "mlp"]
#: Devices of ``cropglobe bench --device``.
BenchDevice = Literal["cpu", "cuda"]
#: What ``cropglobe data download`` fetches: the CropGlobe release or Presto's weights.
Download = Literal["cropglobe", "presto"]


def values(vocabulary: Any) -> tuple[str, ...]:
    """The allowed values of ``vocabulary``: a ``Literal`` alias, a ``StrEnum`` or an iterable of names."""
    args = get_args(vocabulary)
    if args:
        return tuple(str(a) for a in args)
    return tuple(str(getattr(v, "value", v)) for v in vocabulary)


def _member_name(value: str) -> str:
    name = re.sub(r"\W", "_", value).upper()
    return name if name.isidentifier() else f"V_{name}"


def choice_enum(name: str, vocabulary: Any | Iterable[str]) -> type[StrEnum]:
    """A ``StrEnum`` named ``name`` whose members are the values of ``vocabulary``, in its order.

    Args:
        name: The class name (shown by nothing but ``repr``).
        vocabulary: A ``Literal`` alias, a ``StrEnum`` (a subset of its members: a tuple of them) or an
            iterable of names (a registry's keys).

    Returns:
        The enum; its members are ``str`` and equal to the values (``Coverage("drop") == "drop"``).
    """
    return StrEnum(name, [(_member_name(v), v) for v in values(vocabulary)])  # type: ignore[return-value]
