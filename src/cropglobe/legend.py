"""Class legends: the ordered class list of a data set, a study and a cell (issue 27).

The default legend is the paper's seven classes (:data:`cropglobe.taxonomy.CLASSES`, Tong & Wang,
arXiv:2509.03497). A user's own legend is any ordered list of class names with an ``other``
catch-all: ``[corn, soybean, rice, cotton, other]``, or hierarchical names where they help
(``cereal/wheat``, ``cereal/barley``: ``/`` separates the levels; :func:`at_depth` rolls names up to a
parent level, so a study can also be scored as ``cereal`` vs the rest). A SampleSet records its
legend in ``attrs["classes"]`` (absent: the default), a study in its spec's ``classes:``, a cell
in ``recipe.json`` ``classes`` (index = model output column).

Labels resolve to a legend's classes by name (case, spaces, ``_`` and ``-`` ignored), by a unique
last level (``wheat`` -> ``cereal/wheat``) or through the taxonomy's aliases (``maize`` -> ``corn``).
Moving labels from one legend to another is :func:`translate`: every class that does not resolve
must be listed in one declared table ``{data class: legend class}`` (the study's ``class_map``);
nothing is sent to ``other`` silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from cropglobe import taxonomy
from cropglobe.errors import CropGlobeError

OTHER = taxonomy.OTHER
#: The paper's seven classes, the legend of data and studies that do not declare one.
DEFAULT: tuple[str, ...] = taxonomy.CLASSES
#: Separator of hierarchy levels in a class name (``cereal/wheat``).
SEP = "/"
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]*$")
MAX_CLASSES = 255  # a uint8 map keeps 255 for nodata


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name).strip().lower())


def leaf(name: str) -> str:
    """The last level of a class name (``cereal/wheat`` -> ``wheat``)."""
    return str(name).rsplit(SEP, 1)[-1]


def check_classes(names: Any, where: str = "classes") -> tuple[str, ...]:
    """Validate a legend and return it as a tuple.

    A legend is a list of 2 to 255 distinct class names (distinct also when case, spaces, ``_``
    and ``-`` are ignored), each one or more ``/``-separated levels of letters, digits, spaces,
    ``_``, ``-`` or ``.``, and holding the catch-all ``other``.

    Raises:
        CropGlobeError: Naming the first problem and what was expected.
    """
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
        raise CropGlobeError(f"{where}: expected a list of class names, e.g. [corn, soybean, other], got {names!r}")
    out = tuple(str(n).strip() if isinstance(n, str) else n for n in names)
    for n in out:
        if not isinstance(n, str) or not all(_SEGMENT.match(s) for s in n.split(SEP)):
            raise CropGlobeError(f"{where}: class name {n!r}: expected letters, digits, spaces, '_', '-' or '.', "
                                 "with '/' between hierarchy levels (e.g. cereal/wheat)")
    if not 2 <= len(out) <= MAX_CLASSES:
        raise CropGlobeError(f"{where}: {len(out)} classes; expected 2 to {MAX_CLASSES} (one of them 'other')")
    seen: dict[str, str] = {}
    for n in out:
        if _key(n) in seen:
            raise CropGlobeError(f"{where}: classes {seen[_key(n)]!r} and {n!r} are the same name; expected "
                                 "distinct classes")
        seen[_key(n)] = n
    if OTHER not in out:
        raise CropGlobeError(f"{where}: no class 'other'; expected the catch-all 'other' among {list(out)}")
    return out


def field(value: list[str] | None) -> list[str] | None:
    """A pydantic ``classes`` field validator: None, or the checked legend (its error as a ``ValueError``)."""
    if value is None:
        return None
    try:
        return list(check_classes(value, "classes"))
    except CropGlobeError as err:
        raise ValueError(str(err).removeprefix("classes: ")) from None


def of(attrs: Mapping[str, Any]) -> tuple[str, ...]:
    """The legend recorded in a SampleSet's attributes (``attrs["classes"]``), else the default."""
    found = attrs.get("classes")
    return DEFAULT if found is None or len(found) == 0 else tuple(str(c) for c in found)


def is_default(classes: Iterable[str]) -> bool:
    """Whether ``classes`` is the paper's seven-class legend, in its order."""
    return tuple(classes) == DEFAULT


def resolve(name: str, classes: Sequence[str]) -> str | None:
    """The class of ``classes`` a label names, or None.

    In order: the class itself (case, spaces, ``_`` and ``-`` ignored), the one class whose last
    level it is, then the same two checks for the taxonomy class its alias names (``maize`` ->
    ``corn``).
    """
    index = _index(tuple(classes))
    found = index.get(_key(name))
    if found is not None:
        return found or None
    try:
        canonical = taxonomy.normalize_label(name)
    except CropGlobeError:
        return None
    return index.get(_key(canonical)) or None


_INDEX_CACHE: dict[tuple[str, ...], dict[str, str]] = {}


def _index(classes: tuple[str, ...]) -> dict[str, str]:
    """Name key -> class ('' where a last level is shared by several classes: ambiguous)."""
    index = _INDEX_CACHE.get(classes)
    if index is None:
        index = {}
        for c in classes:
            k = _key(leaf(c))
            index[k] = "" if k in index and index[k] != c else c
        index.update({_key(c): c for c in classes})
        if len(_INDEX_CACHE) < 64:
            _INDEX_CACHE[classes] = index
    return index


def normalize(name: str, classes: Sequence[str], where: str = "label") -> str:
    """:func:`resolve`, raising for a label outside the legend.

    Raises:
        CropGlobeError: Naming the label and the legend.
    """
    found = resolve(name, classes)
    if found is None:
        raise CropGlobeError(f"{where}: unknown crop label {str(name)!r}: expected one of {', '.join(classes)}"
                             + (" or an alias such as 'maize' or 'soya' (cropglobe/data/taxonomy.yaml)"
                                if is_default(classes) else " (the legend's classes, their last level or a "
                                "taxonomy alias)"))
    return found


def normalize_all(labels: Iterable[Any], classes: Sequence[str], where: str = "labels") -> np.ndarray:
    """:func:`normalize` of every label (each distinct label once); an array of class names."""
    values = np.asarray(list(labels) if not isinstance(labels, np.ndarray) else labels, dtype=str)
    if values.size == 0:
        return values.astype(str)
    uniq, inv = np.unique(values, return_inverse=True)
    done = np.asarray([normalize(u, classes, where) for u in uniq], dtype=str)
    return done[inv.reshape(values.shape)]


def check_labels(labels: Iterable[str], classes: Sequence[str], where: str = "labels") -> None:
    """Raise one error listing every label that is not a class of the legend, with counts
    (:func:`cropglobe.taxonomy.check_labels` with the legend)."""
    taxonomy.check_labels(labels, where=where, classes=classes)


def translate(labels: np.ndarray, classes: Sequence[str], table: Mapping[str, str] | None = None,
              where: str = "labels") -> tuple[np.ndarray, dict[str, str]]:
    """Move labels of one legend to ``classes`` through one declared table.

    Each distinct label goes to ``table[label]`` when listed (keys compared as :func:`resolve`
    compares names), else to the class it resolves to (:func:`resolve`). A label that is neither
    is an error: nothing goes to ``other`` unless the table says so.

    Args:
        labels: Class names of the data.
        classes: The legend to move them to.
        table: ``{data class: legend class}``.
        where: The data, for messages.

    Returns:
        The labels in ``classes`` and ``{data class: legend class}`` for every label whose name changed.

    Raises:
        CropGlobeError: For a table value outside ``classes``, or labels without a class (listed, with counts).
    """
    table = {_key(k): str(v) for k, v in (table or {}).items()}
    for k, v in table.items():
        if v not in classes:
            raise CropGlobeError(f"{where}: class_map sends {k!r} to {v!r}, which is not a class of the legend "
                                 f"({', '.join(classes)})")
    values = np.asarray(labels, dtype=str)
    uniq, inv, counts = np.unique(values, return_inverse=True, return_counts=True)
    out, moved, missing = [], {}, {}
    for u, n in zip(uniq, counts, strict=True):
        found = table.get(_key(u)) or resolve(str(u), classes)
        if found is None:
            missing[str(u)] = int(n)
            found = ""
        elif found != u:
            moved[str(u)] = found
        out.append(found)
    if missing:
        listing = ", ".join(f"{k!r} ({v})" for k, v in sorted(missing.items()))
        raise CropGlobeError(f"{where}: classes {listing} are not in the legend ({', '.join(classes)}); "
                             "expected each listed in class_map (data class: legend class, e.g. {rapeseed: other})")
    return np.asarray(out, dtype=str)[inv.reshape(values.shape)] if len(out) else values, moved


def depth(classes: Iterable[str]) -> int:
    """The number of levels of the deepest class name (1 for a flat legend)."""
    return max((len(str(c).split(SEP)) for c in classes), default=1)


def at_depth(name: str, level: int) -> str:
    """A class name cut to its first ``level`` levels (``cereal/wheat``, 1 -> ``cereal``)."""
    return SEP.join(str(name).split(SEP)[:level])


def parents(classes: Iterable[str], level: int = 1) -> tuple[str, ...]:
    """The legend rolled up to ``level`` levels, in first-appearance order."""
    return tuple(dict.fromkeys(at_depth(c, level) for c in classes))
