"""The typed choices of the command line: each a ``StrEnum`` built from the library's one list of values (issue 27).

Typer shows an enum option's values in ``--help`` (``--coverage [drop|error|fill]``) and refuses any
other value with a usage error (exit 2) naming them. The values come from :mod:`cropglobe.choices`
(light: no pydantic, numpy or torch at start-up) or from a light registry (:data:`cropglobe.examples.CONFIG_SETS`);
the pydantic models and readers use the same lists, so an option and its config field cannot drift.
A command passes ``member.value`` on, so the library receives the same plain strings as before.
"""

from __future__ import annotations

from enum import StrEnum

from cropglobe import choices
from cropglobe.examples import CONFIG_SETS

#: ``--precision`` of ``cropglobe map`` / ``cropglobe predict``: :data:`cropglobe.choices.INFERENCE_CHOICES`.
InferencePrecision = choices.choice_enum("InferencePrecision", choices.INFERENCE_CHOICES)
#: ``--coverage`` of ``data composite`` / ``data features``.
Coverage = choices.choice_enum("Coverage", choices.Coverage)
#: ``--unknown`` of ``data import``.
UnknownPolicy = choices.choice_enum("UnknownPolicy", choices.UnknownPolicy)
#: ``--season-year`` of ``data import worldcereal`` / ``data import table``.
SeasonYear = choices.choice_enum("SeasonYear", choices.SeasonYear)
#: ``--flatten`` of ``data import cropglobe``.
Flatten = choices.choice_enum("Flatten", choices.Flatten)
#: ``--window`` of ``data import cropglobe``.
ReleaseWindow = choices.choice_enum("ReleaseWindow", choices.ReleaseWindow)
#: ``--method`` of ``study adapt`` (``none``, the plain model, is always scored).
AdaptationMethod = choices.choice_enum("AdaptationMethod", choices.AdaptationMethod)
#: ``--method`` of ``study adapt-cell``.
CellAdaptationMethod = choices.choice_enum("CellAdaptationMethod", choices.CellAdaptationMethod)
#: ``--adapt`` of ``cropglobe predict`` / ``cropglobe map``.
PredictAdaptation = choices.choice_enum("PredictAdaptation", choices.PredictAdaptation)
#: ``--student`` of ``cropglobe map --fast``.
FastStudent = choices.choice_enum("FastStudent", choices.FastStudent)
#: ``--family`` of ``data features``.
FeatureFamily = choices.choice_enum("FeatureFamily", choices.FeatureFamily)
#: ``--device`` of ``cropglobe bench``.
BenchDevice = choices.choice_enum("BenchDevice", choices.BenchDevice)
#: The WHAT argument of ``data download``.
Download = choices.choice_enum("Download", choices.Download)
#: ``--only`` of ``configs copy``: the sets of :data:`cropglobe.examples.CONFIG_SETS`.
ConfigSet = choices.choice_enum("ConfigSet", CONFIG_SETS)


def value(member: StrEnum | str | None) -> str | None:
    """The plain string of a choice (what the library took before the options were typed); ``None`` stays."""
    return None if member is None else str(getattr(member, "value", member))
