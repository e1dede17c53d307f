"""Crop classes, their aliases and per-target label remaps (the remaps are data, not code).

The seven classes and their order are those of the CropGlobe release (Tong & Wang,
arXiv:2509.03497): corn, soybean, rice, wheat, sugarcane, cotton, other. Aliases and the paper's
per-target remaps live in ``data/taxonomy.yaml``; experiment configs pass their own remaps in the
same ``{keep: [...]}`` form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources

import numpy as np

from cropglobe import yamlfile
from cropglobe.errors import CropGlobeError

OTHER = "other"


@lru_cache(maxsize=1)
def _table() -> dict:
    text = resources.files("cropglobe").joinpath("data/taxonomy.yaml").read_text("utf-8")
    return yamlfile.parse(text, "embedded taxonomy.yaml")


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name).strip().lower())


CLASSES: tuple[str, ...] = tuple(_table()["classes"])


@lru_cache(maxsize=1)
def _alias_index() -> dict[str, str]:
    index = {_key(c): c for c in CLASSES}
    for cls, names in _table()["aliases"].items():
        for name in names:
            index[_key(name)] = cls
    return index


def class_index(name: str) -> int:
    """Return the integer index of a class in :data:`CLASSES` (``corn`` = 0 ... ``other`` = 6)."""
    return CLASSES.index(normalize_label(name))


def normalize_label(name: str) -> str:
    """Map a crop name or alias to one of the seven classes.

    Args:
        name: A class name or alias, e.g. ``"Maize"``, ``"soya beans"``, ``"winter_wheat"``.

    Returns:
        The class name from :data:`CLASSES`.

    Raises:
        CropGlobeError: If the name is neither a class nor a known alias.
    """
    found = _alias_index().get(_key(name))
    if found is None:
        raise CropGlobeError(
            f"unknown crop label {str(name)!r}: expected one of {', '.join(CLASSES)} or an alias "
            "such as 'maize' or 'soya' (aliases are listed in cropglobe/data/taxonomy.yaml)"
        )
    return found


def check_labels(labels: Iterable[str], where: str = "labels", classes: Iterable[str] = CLASSES) -> None:
    """Raise one error listing every label outside the taxonomy (or the legend ``classes``), with counts.

    Args:
        labels: Class names to check (already normalised; aliases are not accepted here).
        where: Where the labels came from, for the message.
        classes: The legend (default: the seven classes; :mod:`cropglobe.legend`).

    Raises:
        CropGlobeError: If any label is not in ``classes``.
    """
    classes = tuple(classes)
    values, counts = np.unique(np.asarray(list(labels), dtype=str), return_counts=True)
    bad = {str(v): int(c) for v, c in zip(values, counts, strict=True) if v not in classes}
    if bad:
        listing = ", ".join(f"{k!r} ({v})" for k, v in sorted(bad.items()))
        what = "the taxonomy" if classes == CLASSES else "the legend"
        raise CropGlobeError(
            f"{where}: labels outside {what}: {listing}; expected one of {', '.join(classes)}"
        )


def paper_remaps() -> dict[str, dict[str, list[str]]]:
    """Return the paper's per-target remaps ``{ISO3: {"keep": [classes]}}`` from the data table."""
    return {k: {"keep": list(v["keep"])} for k, v in _table()["paper_remaps"].items()}


def remap_absent(labels: np.ndarray, keep: Iterable[str], classes: Iterable[str] = CLASSES) -> np.ndarray:
    """Send every class not in ``keep`` to ``other`` (a target whose reference map lacks it).

    Args:
        labels: Array of class names.
        keep: Classes the target's reference map contains; ``other`` is always kept.
        classes: The legend ``keep`` is checked against (default: the seven classes).

    Returns:
        A new array of class names.

    Raises:
        CropGlobeError: If ``keep`` names a class outside the legend.
    """
    keep = list(keep)
    check_labels(keep, where="remap 'keep' list", classes=classes)
    kept = set(keep) | {OTHER}
    labels = np.asarray(labels, dtype=str)
    return np.where(np.isin(labels, list(kept)), labels, OTHER)


def remap_for(target: str, remaps: Mapping[str, Mapping[str, Iterable[str]]],
              classes: Iterable[str] = CLASSES) -> list[str] | None:
    """Return the classes kept for ``target`` under ``remaps`` (checked against the legend ``classes``),
    or None when it keeps all."""
    entry = remaps.get(target)
    if entry is None:
        return None
    if "keep" not in entry:
        raise CropGlobeError(f"remap for {target!r}: expected a mapping with a 'keep' list of classes")
    keep = list(entry["keep"])
    check_labels(keep, where=f"remap for {target!r}", classes=classes)
    return keep


def kept_classes(target: str, remaps: Mapping[str, Mapping[str, Iterable[str]]], classes: Sequence[str] = CLASSES,
                 source_classes: Iterable[str] | None = None) -> list[str] | None:
    """The classes a target's scores keep: its remap (:func:`remap_for`) and, with ``source_classes``
    (a run's ``absent_classes: other``), only those the source held, plus ``other``. None: all."""
    keep = remap_for(target, remaps, classes)
    if source_classes is None:
        return keep
    held = set(source_classes)
    return [c for c in (keep or classes) if c in held or c == OTHER]
