"""Named augmentation presets (``data/augment_presets.yaml``) and config resolution for experiment YAML.

Presets: ``paper`` (Tong & Wang, arXiv:2509.03497: shift ±10 d, scale a, b in [-30, +10] d,
warp σ = 0.2, K = 5, each p = 0.5), ``reference-code`` (the authors' released code: shift ±50 d
p = 1, scale ±50 d p = 0.5, warp σ = 0.1 p = 0.25) and ``none`` (identity).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from cropglobe import yamlfile
from cropglobe.augment.transforms import PhenologyAugment
from cropglobe.checks import suggestion
from cropglobe.errors import CropGlobeError

SECTIONS: tuple[str, ...] = ("shift", "scale", "warp", "unknowns")
#: Characters kept in generated labels (they name run folders).
_SAFE = re.compile(r"[^A-Za-z0-9_.+-]")


@lru_cache(maxsize=1)
def _table() -> dict[str, dict]:
    text = resources.files("cropglobe").joinpath("data/augment_presets.yaml").read_text("utf-8")
    return yamlfile.parse(text, "embedded augment_presets.yaml")


def preset_names() -> tuple[str, ...]:
    """Names of the embedded presets."""
    return tuple(_table())


def preset_dict(name: str) -> dict[str, Any]:
    """Return a copy of a preset's raw sections (``{"shift": {...}, ...}``).

    Raises:
        CropGlobeError: If ``name`` is not a preset.
    """
    if name not in _table():
        raise CropGlobeError(f"augmentation preset {name!r} is unknown; expected one of "
                             f"{', '.join(preset_names())}")
    return {k: dict(v) for k, v in (_table()[name] or {}).items()}


def get_preset(name: str) -> PhenologyAugment:
    """Build the augmenter of a named preset.

    Raises:
        CropGlobeError: If ``name`` is not a preset.
    """
    return PhenologyAugment(**preset_dict(name))


def resolve(spec: str | Mapping[str, Any] | PhenologyAugment | None,
            where: str = "augment") -> PhenologyAugment:
    """Turn an experiment config's ``augment`` entry into an augmenter.

    Args:
        spec: None (no augmentation), a preset name, an augmenter, or a mapping with sections
            ``shift`` / ``scale`` / ``warp`` and optionally ``preset`` and ``name`` (a label only,
            see :func:`label`): the named preset's sections are the base, a given section's fields
            override them, and a section set to null turns that transform off. Example:
            ``{"preset": "paper", "warp": {"p": 0.0}}``.
        where: Location used in error messages, e.g. ``"configs/x.yaml: augment"``.

    Raises:
        CropGlobeError: Unknown preset or section, or an invalid field (the message names it).
    """
    if spec is None:
        return PhenologyAugment()
    if isinstance(spec, PhenologyAugment):
        return spec
    if isinstance(spec, str):
        return get_preset(spec)
    if not isinstance(spec, Mapping):
        raise CropGlobeError(f"{where}: expected a preset name or a mapping of {SECTIONS}, "
                             f"got {type(spec).__name__}")
    unknown = sorted(set(spec) - {"preset", "name", *SECTIONS})
    if unknown:
        raise CropGlobeError(f"{where}: unknown key(s) {unknown}; expected preset, name, "
                             f"{', '.join(SECTIONS)}{suggestion(unknown[0], ('preset', 'name', *SECTIONS))}")
    base = preset_dict(spec["preset"]) if spec.get("preset") is not None else {}
    for section in SECTIONS:
        if section not in spec:
            continue
        value = spec[section]
        if value is None:
            base.pop(section, None)
        elif isinstance(value, Mapping):
            base[section] = {**base.get(section, {}), **value}
        else:
            raise CropGlobeError(f"{where}.{section}: expected a mapping of fields or null, "
                                 f"got {value!r}")
    try:
        return PhenologyAugment(**base)
    except CropGlobeError as err:
        raise CropGlobeError(f"{where}: {err}") from None


def _compact(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "_".join(_compact(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def label(spec: str | Mapping[str, Any] | None) -> str:
    """Short, file-name-safe name of an augmentation config entry (run folders, result rows).

    A preset name is its own label (None is ``none``); a mapping is named by its ``name`` key or,
    without one, by its preset and sections in a fixed order, e.g. ``{"shift": {"max_days": 10,
    "p": 0.5}}`` -> ``shift-max_days10-p0.5`` and ``{"preset": "paper", "warp": None}`` ->
    ``paper+warp-off``. Two mappings with the same fields get the same label.

    Raises:
        CropGlobeError: If ``spec`` is neither a string, a mapping nor None, or ``name`` is empty.
    """
    if spec is None:
        return "none"
    if isinstance(spec, str):
        return spec
    if not isinstance(spec, Mapping):
        raise CropGlobeError(f"augmentation: expected a preset name or a mapping, got {type(spec).__name__}")
    if "name" in spec:
        name = _SAFE.sub("_", str(spec["name"] or ""))
        if not name:
            raise CropGlobeError("augmentation: 'name' must be a non-empty label")
        return name
    parts = [str(spec["preset"])] if spec.get("preset") is not None else []
    for section in SECTIONS:
        if section not in spec:
            continue
        fields = spec[section]
        if fields is None:
            parts.append(f"{section}-off")
        elif isinstance(fields, Mapping):
            parts.append("-".join([section, *(f"{k}{_compact(fields[k])}" for k in sorted(fields))]))
        else:
            parts.append(f"{section}-{_compact(fields)}")
    return _SAFE.sub("_", "+".join(parts)) or "none"
