"""A user's own legend for WorldCereal imports: ``classes:`` and a crop-code -> class ``map`` (issue 27).

By default the WorldCereal reader decodes crop codes into the paper's seven classes with the shipped
table (:mod:`cropglobe.sources.readers.labels`). A legend file replaces that decision::

    classes: [cereal/maize, cereal/wheat, cereal/barley, oilseed/rapeseed, oilseed/sunflower, grassland, other]
    map:                       # WorldCereal code -> class of the legend
      1101060*: cereal/maize   # a code group: every code that starts with 1101060 (ewoc 11-01-06, maize)
      1101010*: cereal/wheat
      1106000010: oilseed/sunflower   # one code
      "*": other               # everything else (leave it out to have unmapped codes reported)

``classes`` is the legend of a table mapping's ``classes:`` (:func:`cropglobe.legend.check_classes`: any
names with the catch-all ``other``, ``/`` between hierarchy levels); ``map`` is like a table mapping's
``label.map``, keyed by the file's label codes: ``ewoc_code`` (compared as 10-digit strings, so
``1101060000`` and ``01101060000``-style zero padding agree) or legacy ``CROPTYPE_LABEL``. A key ending
in ``*`` matches every code starting with the digits before it, the longest such prefix winning over
shorter ones and an exact key over any prefix; ``"*"`` alone matches every code. Map values resolve as
legend names do (:func:`cropglobe.legend.normalize`: the class, its last level or a taxonomy alias).
A code that no key matches is an unknown label (the reader's ``unknown`` policy: an error listing the
codes, ``other`` or ``drop``); nothing goes to ``other`` unless the map says so. Codes the WorldCereal
legend itself calls unknown (0, legacy 991 and 9700) are still dropped first by default.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
from pydantic import Field, field_validator, model_validator

from cropglobe import legend, yamlfile
from cropglobe.checks import Strict

_KEY = re.compile(r"^(\d+\*?|\*)$")


def _code(value: Any, scheme: str) -> str:
    """A label code as text (``12.0`` -> ``12``; ewoc codes zero-padded to 10 digits)."""
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if scheme == "ewoc" and text.isdigit():
        text = text.zfill(10)
    return text


class WorldCerealLegend(Strict):
    """A legend file for ``cropglobe data import worldcereal --legend`` (see the module docstring).

    Attributes:
        description: Free text.
        classes: The legend (ordered; ``other`` required).
        map: ``{code or code prefix*: class}``.
    """

    description: str = ""
    classes: list[str]
    map: dict[str, str] = Field(min_length=1)

    _legend = field_validator("classes")(lambda v: legend.field(v))

    @field_validator("map", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out = {}
        for k, x in v.items():
            key = _code(k, "")
            if not _KEY.match(key):
                raise ValueError(f"key {k!r}: expected a crop code (digits), a code prefix ending in '*' "
                                 "(1101060*) or '*' for every other code")
            out[key] = str(x)
        return out

    @model_validator(mode="after")
    def _values(self) -> WorldCerealLegend:
        resolved = {}
        for k, v in self.map.items():
            found = legend.resolve(v, self.classes)
            if found is None:
                raise ValueError(f"map: {k} -> {v!r} is not a class of the legend ({', '.join(self.classes)})")
            resolved[k] = found
        object.__setattr__(self, "map", resolved)
        return self

    def decode(self, codes: np.ndarray, scheme: str) -> np.ndarray:
        """The class of each code ('' where no key matches): exact key, else the longest ``prefix*`` key.

        Args:
            codes: Raw codes per sample (``ewoc_code`` or legacy ``CROPTYPE_LABEL``).
            scheme: ``"ewoc"`` (codes padded to 10 digits) or ``"legacy"``.
        """
        exact = {_code(k, scheme): v for k, v in self.map.items() if not k.endswith("*")}
        prefixes = sorted(((k[:-1], v) for k, v in self.map.items() if k.endswith("*")), key=lambda kv: -len(kv[0]))
        values = np.asarray(codes, dtype=object)
        uniq, inv = np.unique(np.array([_code(c, scheme) for c in values], dtype=str), return_inverse=True)
        decided = []
        for code in uniq:
            found = exact.get(str(code))
            if found is None:
                found = next((v for pre, v in prefixes if str(code).startswith(pre)), "")
            decided.append(found)
        return np.asarray(decided, dtype=object)[inv] if len(values) else np.empty(0, dtype=object)

    def record(self) -> dict[str, Any]:
        """What a SampleSet records of the legend (``attrs["label_legend_map"]``): the map as given."""
        return dict(self.map)


def load_legend(path: str | os.PathLike) -> WorldCerealLegend:
    """Read and validate a WorldCereal legend file.

    Raises:
        CropGlobeError: Unreadable file or YAML, or fields that do not fit :class:`WorldCerealLegend`
            (naming the field).
    """
    return yamlfile.load_model(path, WorldCerealLegend, "WorldCereal legend",
                               lambda _err: "; expected 'classes: [...]' (with 'other') and "
                                            "'map: {code or prefix*: class}'")
