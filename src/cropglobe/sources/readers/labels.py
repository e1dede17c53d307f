"""Label decoding for readers: WorldCereal codes -> classes, user label maps, unknown-label policy.

The WorldCereal decisions live in ``cropglobe/data/worldcereal_classes.csv``, derived from the
label dictionaries of WorldCereal/worldcereal-classification (MIT licence; the file header cites
the commit). A code takes the class of its exact row, else of its longest matching prefix (ewoc
codes as 10-digit strings), else of a ``range`` row; class ``unknown`` or no match means the
label is unknown. WorldCereal's code 0 ("unknown" in both schemes, :func:`is_code_zero`) is left
out by the WorldCereal reader by default and counted. Other unknown labels are an error listing
every code with its count, unless the user asks for ``unknown="other"`` (map them to ``other``)
or ``unknown="drop"`` (leave those samples out); either choice is recorded by the caller in the
SampleSet attributes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from cropglobe import choices, legend, taxonomy
from cropglobe.choices import UnknownPolicy as UnknownPolicy  # re-exported
from cropglobe.errors import CropGlobeError

UNKNOWN_POLICIES: tuple[str, ...] = choices.values(UnknownPolicy)
SCHEMES = ("ewoc", "legacy")


@dataclass(frozen=True)
class Decoded:
    """Result of decoding raw label codes: class per sample ('' = unknown) and a readable name.

    ``legend_unknown`` is True where the legend has a row for the code with class ``unknown``
    (WorldCereal's own "unknown" codes), as opposed to codes the legend does not know.
    """

    classes: np.ndarray
    names: np.ndarray
    legend_unknown: np.ndarray


@lru_cache(maxsize=1)
def worldcereal_table() -> pd.DataFrame:
    """Return the shipped WorldCereal code -> class decision table (comment lines skipped)."""
    path = resources.files("cropglobe").joinpath("data/worldcereal_classes.csv")
    with resources.as_file(path) as p:
        table = pd.read_csv(p, comment="#", dtype=str)
    return table.fillna("")


def _norm_code(code: object, scheme: str) -> str:
    text = str(code).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if scheme == "ewoc" and text.isdigit():
        text = text.zfill(10)
    return text


@lru_cache(maxsize=4096)
def _decide(code: str, scheme: str) -> tuple[str, str, bool]:
    """(class, name, whether a legend row decided it) of one normalised code."""
    table = worldcereal_table()
    rows = table[table["scheme"] == scheme]
    exact = rows[(rows["match"] == "exact") & (rows["code"] == code)]
    if len(exact):
        return exact["class"].iloc[0], exact["name"].iloc[0], True
    prefixes = rows[rows["match"] == "prefix"]
    best = ("", "")
    best_len = 0
    for pre, cls, name in zip(prefixes["code"], prefixes["class"], prefixes["name"], strict=True):
        if code.startswith(pre) and len(pre) > best_len and len(code) == 10:
            best, best_len = (cls, name), len(pre)
    if best_len:
        return best[0], "", True  # a group decision: the code's own name is not in the table
    ranges = rows[rows["match"] == "range"]
    for spec, cls in zip(ranges["code"], ranges["class"], strict=True):
        lo, hi = (int(x) for x in spec.split("-"))
        if code.isdigit() and lo <= int(code) <= hi:
            return cls, "", True
    return "unknown", "", False


def decode_worldcereal(codes: np.ndarray, scheme: str) -> Decoded:
    """Decode WorldCereal label codes into CropGlobe classes.

    Args:
        codes: Raw codes per sample (``ewoc_code`` integers or legacy ``CROPTYPE_LABEL``).
        scheme: ``"ewoc"`` or ``"legacy"``.

    Returns:
        Classes ('' where the code is unknown), code names where the table has them, and whether
        the legend itself calls the code unknown (code 0, legacy 991 and 9700).
    """
    if scheme not in SCHEMES:
        raise CropGlobeError(f"label scheme {scheme!r}: expected one of {SCHEMES}")
    inv, uniq = pd.factorize(pd.Series(np.asarray(codes, dtype=object)))
    decided = [_decide(_norm_code(u, scheme), scheme) for u in uniq]
    classes = np.array([("" if c == "unknown" else c) for c, _, _ in decided] + [""], dtype=object)[inv]
    names = np.array([n for _, n, _ in decided] + [""], dtype=object)[inv]
    legend = np.array([c == "unknown" and ruled for c, _, ruled in decided] + [False], dtype=bool)[inv]
    return Decoded(classes, names, legend)


def map_labels(raw: np.ndarray, mapping: Mapping[str, str] | None,
               classes: Sequence[str] = legend.DEFAULT, where: str = "label map") -> np.ndarray:
    """Map raw label values through a user map (keys compared as text) or as class names/aliases.

    Args:
        raw: Raw label values per sample.
        mapping: ``{raw value: class}``; its classes must be classes (or aliases) of ``classes``.
        classes: The legend of the import (default: the paper's seven classes).
        where: The mapping, for messages.

    Returns:
        Class names per sample, '' where the value is not in the map or not a class of the legend.

    Raises:
        CropGlobeError: For a map value that is not a class of the legend.
    """
    values = np.asarray(raw, dtype=object)
    keys = np.array([_norm_code(v, "") for v in values], dtype=object)
    out = np.empty(len(keys), dtype=object)
    if mapping is not None:
        table = {_norm_code(k, ""): v for k, v in mapping.items()}
        decided = {k: legend.normalize(v, classes, f"{where}: value of {k!r}") for k, v in table.items()}
        for i, k in enumerate(keys):
            out[i] = decided.get(k, "")
        return out
    cache: dict[str, str] = {}
    for i, k in enumerate(keys):
        if k not in cache:
            cache[k] = legend.resolve(k, classes) or ""
        out[i] = cache[k]
    return out


def resolve_unknown(
    classes: np.ndarray, raw: np.ndarray, unknown: str, where: str, field: str, expected: str
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Apply the unknown-label policy.

    Args:
        classes: Decoded classes, '' where unknown.
        raw: The raw label values (for the message and the record).
        unknown: ``"error"``, ``"other"`` or ``"drop"``.
        where: The input (file) for the message.
        field: The label column.
        expected: What a known label looks like (for the message).

    Returns:
        (classes, keep mask over samples, {raw code: count} of unknown labels).

    Raises:
        CropGlobeError: With every unknown code and its count, when ``unknown == "error"``.
    """
    if unknown not in UNKNOWN_POLICIES:
        raise CropGlobeError(f"unknown-label policy {unknown!r}: expected one of {', '.join(UNKNOWN_POLICIES)}")
    bad = classes == ""
    counts: dict[str, int] = {}
    if bad.any():
        vals, cnt = np.unique(np.array([_norm_code(v, "") for v in np.asarray(raw, dtype=object)[bad]], dtype=str),
                              return_counts=True)
        order = np.argsort(-cnt, kind="stable")
        counts = {str(vals[i]): int(cnt[i]) for i in order}
        if unknown == "error":
            listing = ", ".join(f"{k} ({v})" for k, v in counts.items())
            raise CropGlobeError(
                f"{where}: column {field!r} has {int(bad.sum())} samples with unknown label codes: {listing}; "
                f"expected {expected}; pass unknown='other' (CLI: --unknown other) to map them to 'other', "
                "or unknown='drop' to leave those samples out"
            )
    out = np.where(bad, taxonomy.OTHER, classes) if unknown == "other" else classes
    keep = ~bad if unknown == "drop" else np.ones(len(classes), dtype=bool)
    return out, keep, counts


def label_counts(raw: np.ndarray, names: np.ndarray | None = None) -> dict[str, int]:
    """Count original labels, most frequent first, keyed ``"code name"`` (or ``"code"``)."""
    keys = np.array([_norm_code(v, "") for v in np.asarray(raw, dtype=object)], dtype=object)
    if names is not None:
        keys = np.array([f"{k} {n}".strip() for k, n in zip(keys, names, strict=True)], dtype=object)
    vals, cnt = np.unique(keys.astype(str), return_counts=True)
    order = np.argsort(-cnt, kind="stable")
    return {str(vals[i]): int(cnt[i]) for i in order}
