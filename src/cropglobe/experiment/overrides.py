"""``--set key=value`` overrides of a transfer spec (``cropglobe transfer CONFIG --set train.epochs=5``).

A key is a dotted path through the spec's fields (``train.epochs``, ``validation.fraction``,
``model_options.rf.n_estimators``); the value is YAML (``seeds=[0,1]``, ``composite=null``,
``cells=[{feature: harmonic, model: rf}]``), parsed by the one YAML reader (:mod:`cropglobe.yamlfile`).
Keys are checked against :class:`~cropglobe.experiment.study.ExperimentSpec` before anything is
read or written, so a typo is one error with a "did you mean"; below a free-form mapping
(``model_options``, ``feature_options``, ``remaps``) any key is accepted and checked with the rest
of the spec. Lists are replaced whole.
"""

from __future__ import annotations

import difflib
import os
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from cropglobe import yamlfile
from cropglobe.errors import CropGlobeError


def split(assignment: str) -> tuple[list[str], str]:
    """``"a.b=v"`` -> (["a", "b"], "v").

    Raises:
        CropGlobeError: Without ``=`` or with an empty key part.
    """
    key, sep, text = assignment.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(p.strip() for p in parts):
        raise CropGlobeError(f"--set {assignment!r}: expected KEY=VALUE with a dotted KEY, e.g. --set train.epochs=5")
    return [p.strip() for p in parts], text


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation allows (``X | None`` -> [X])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _models(a)]
    return []


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return bool(args) and all(_is_list(a) or typing.get_origin(a) is typing.Literal for a in args) \
            and any(_is_list(a) for a in args)
    return origin is list


def check_key(parts: list[str], model: type[BaseModel], assignment: str) -> None:
    """Check a dotted key against the spec's fields (free below mappings).

    Raises:
        CropGlobeError: For an unknown key (with the closest known names) or a key inside a list.
    """
    current: type[BaseModel] | None = model
    for depth, name in enumerate(parts):
        if current is None:  # below a free-form mapping
            return
        fields = current.model_fields
        if name not in fields:
            where = ".".join(parts[:depth]) or "the spec"
            close = difflib.get_close_matches(name, list(fields), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr('.'.join([*parts[:depth], c])) for c in close)}?" if close \
                else ""
            raise CropGlobeError(f"--set {assignment}: unknown key {'.'.join(parts[:depth + 1])!r}{hint} "
                                 f"(keys of {where}: {', '.join(fields)})")
        annotation = fields[name].annotation
        if depth < len(parts) - 1 and _is_list(annotation):
            raise CropGlobeError(f"--set {assignment}: {'.'.join(parts[:depth + 1])} is a list; set it whole, "
                                 f"e.g. --set '{'.'.join(parts[:depth + 1])}=[...]'")
        found = _models(annotation)
        current = found[0] if len(found) == 1 else None


def apply(raw: dict[str, Any], assignments: list[str], model: type[BaseModel] | None = None) -> dict[str, Any]:
    """A copy of the spec mapping ``raw`` with the assignments applied in order.

    Args:
        raw: The spec as read from YAML.
        assignments: ``KEY=VALUE`` strings.
        model: The spec model whose fields the keys must name (default: ``ExperimentSpec``).

    Raises:
        CropGlobeError: For a malformed assignment, an unknown key, or a value that is not YAML.
    """
    import copy

    if model is None:
        from cropglobe.study.spec import ExperimentSpec

        model = ExperimentSpec
    out = copy.deepcopy(raw)
    for assignment in assignments:
        parts, text = split(assignment)
        check_key(parts, model, assignment)
        value = yamlfile.parse(text, where=f"--set {assignment}") if text.strip() else None
        node = out
        for depth, name in enumerate(parts[:-1]):
            child = node.get(name)
            if child is None:
                child = node[name] = {}
            elif not isinstance(child, dict):
                raise CropGlobeError(f"--set {assignment}: {'.'.join(parts[:depth + 1])} is {child!r} in the "
                                     "config, not a mapping; set it whole instead")
            node = child
        node[parts[-1]] = value
    return out


def load_spec(path: str | os.PathLike, assignments: list[str] | None = None) -> Any:  # ExperimentSpec
    """Read an experiment YAML, apply ``--set`` assignments and validate the result.

    Raises:
        CropGlobeError: Naming the file (and ``--set`` when overrides were given) and the first problem.
    """
    from cropglobe.study.spec import parse_spec

    p = Path(path)
    raw = yamlfile.load_mapping(p, "experiment config")
    if assignments:
        raw = apply(raw, assignments)
    return parse_spec(raw, where=f"{p} with --set" if assignments else str(p))
