"""Validation plumbing shared by every stage: a strict pydantic base, pydantic errors as one line, whole numbers.

Every invalid input raises :class:`~cropglobe.errors.CropGlobeError` naming what, where and what
was expected (see DEVELOPERS.md). Three helpers keep that uniform:

* :class:`Strict` - the base of configuration models: unknown fields are errors;
* :func:`validation_error` - the first problem of a pydantic ``ValidationError`` as
  ``"<where>: field <a.b>: <problem>"``;
* :func:`whole_number` (plain values) and :data:`WholeNumber` (pydantic fields) - integers that
  are not booleans or floats, with one wording of the bounds.
"""

from __future__ import annotations

import difflib
import math
import numbers
import typing
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic import Strict as _StrictType

from cropglobe.errors import CropGlobeError

#: A pydantic field type for whole numbers: ``5`` passes, ``5.0``, ``"5"`` and ``True`` do not.
WholeNumber = Annotated[int, _StrictType()]

#: A pydantic field type for a scale factor: a finite number > 0 (``0``, ``.nan`` and ``.inf`` do not pass).
PositiveFinite = Annotated[float, Field(gt=0, allow_inf_nan=False)]

#: Degrees a longitude / latitude may take.
LON_RANGE = (-180.0, 180.0)
LAT_RANGE = (-90.0, 90.0)


class Strict(BaseModel):
    """Pydantic base model whose unknown fields are errors (a typo in a config is never ignored)."""

    model_config = ConfigDict(extra="forbid")


def error_text(err: ValidationError, root: str = "(root)", model: type[BaseModel] | None = None) -> tuple[str, str]:
    """``(location, problem)`` of the problem of a pydantic error to report (``"a.b"``; message without pydantic's
    prefix): its first, or with ``model`` its first misspelt field, with "did you mean" (:func:`reported_error`)."""
    first, hint = reported_error(err, model)
    loc = ".".join(str(x) for x in first["loc"]) or root
    return loc, str(first["msg"]).removeprefix("Value error, ") + hint


def validation_error(where: str, err: ValidationError, root: str = "(root)",
                     model: type[BaseModel] | None = None) -> CropGlobeError:
    """One-line :class:`CropGlobeError` ``"<where>: field <loc>: <problem>"`` for a pydantic error.

    Args:
        where: The file or object validated (e.g. the config path).
        err: The pydantic error; only one problem is reported (:func:`reported_error`).
        root: How a problem of the whole object (empty location) is named.
        model: The model validated: an unknown field then gets a "did you mean" from the fields of
            the (nested) model it sits in (:func:`difflib.get_close_matches`).

    Returns:
        The error, to be raised by the caller (``raise validation_error(...) from None``).
    """
    loc, problem = error_text(err, root, model)
    return CropGlobeError(f"{where}: field {loc}: {problem}")


def reported_error(err: ValidationError, model: type[BaseModel] | None = None) -> tuple[Any, str]:
    """The one problem of ``err`` to report, and its hint: ``(error, "; did you mean '<field>'?")`` for the first
    unknown field close to a field of the (nested) ``model`` it sits in, else ``(first error, "")``.

    A misspelt key is reported before anything else: its right spelling is then also a missing
    field ("Field required"), which says less about what to fix.
    """
    errors = err.errors()
    if model is not None:
        for error in errors:
            if error["type"] == "extra_forbidden" and error["loc"]:
                hint = suggestion(str(error["loc"][-1]), _fields_at(model, error["loc"][:-1]))
                if hint:
                    return error, hint
    return errors[0], ""


def suggestion(name: str, known: typing.Iterable[str]) -> str:
    """``"; did you mean '<closest>'?"`` for the known name closest to ``name``, or ``""`` when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _fields_at(model: type[BaseModel], path: tuple) -> list[str]:
    """The field names of the model found by following ``path`` (field names, list indices) from ``model``."""
    current: object = model
    for key in path:
        if not isinstance(key, str):
            continue  # a list index or dict key: the element's model is found with the field
        fields = getattr(current, "model_fields", {})
        if key not in fields:
            return []
        current = _model_in(fields[key].annotation)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The first pydantic model inside a field's annotation (``X``, ``X | None``, ``list[X]`` ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _bounds(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" in {minimum}..{maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    return f" <= {maximum}" if maximum is not None else ""


def is_whole(value: object) -> bool:
    """True for Python and numpy integers, False for booleans, floats and everything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def whole_number(value: object, name: str, minimum: int | None = 0, maximum: int | None = None,
                 unit: str = "") -> int:
    """Check that ``value`` is a whole number within the bounds and return it as an ``int``.

    Args:
        value: The value to check (``numpy`` integers pass; booleans and floats do not).
        name: How the value is named in the message, e.g. ``"min_clear"``.
        minimum: Smallest allowed value (None: unbounded).
        maximum: Largest allowed value (None: unbounded).
        unit: Unit in the message (``"days"`` -> "a whole number of days in 1..365").

    Raises:
        CropGlobeError: ``"<name>=<value>: expected a whole number[ of <unit>] <bounds>"``.
    """
    if not is_whole(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        of = f" of {unit}" if unit else ""
        raise CropGlobeError(f"{name}={value!r}: expected a whole number{of}{_bounds(minimum, maximum)}")
    return int(value)  # type: ignore[call-overload]


def positive_finite(value: object, name: str) -> float:
    """Check that ``value`` is a finite number > 0 (a scale factor, say) and return it as a ``float``.

    Raises:
        CropGlobeError: ``"<name>=<value>: expected a finite number > 0"`` (booleans are not numbers).
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok:
        raise CropGlobeError(f"{name}={value!r}: expected a finite number > 0")
    return float(value)  # type: ignore[arg-type]


def check_coordinates(lon: np.ndarray, lat: np.ndarray, where: str, ids: np.ndarray | None = None) -> None:
    """Refuse longitudes outside [-180, 180] and latitudes outside [-90, 90] (NaN means unknown and passes).

    Args:
        lon: Longitudes in degrees, one per sample.
        lat: Latitudes in degrees, one per sample.
        where: The input, for the message.
        ids: Sample ids, to name the first offending sample.

    Raises:
        CropGlobeError: Naming the coordinate, the first bad value (and its sample) and the count.
    """
    for name, values, (low, high) in (("lon", lon, LON_RANGE), ("lat", lat, LAT_RANGE)):
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise CropGlobeError(f"{where}: coordinate {name!r} holds values that are not numbers; "
                                 "expected degrees") from None
        bad = ~np.isnan(arr) & ~((arr >= low) & (arr <= high))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            sample = f" (sample {str(ids[k])!r})" if ids is not None and len(ids) > k else ""
            raise CropGlobeError(f"{where}: coordinate {name!r} has {int(bad.sum())} value(s) outside "
                                 f"[{low:g}, {high:g}], first {float(arr[k])!r}{sample}; expected degrees in that "
                                 "range, or NaN when unknown")


def not_a_file(path: str | Path, expected: str) -> CropGlobeError:
    """The error for an input ``path`` that is not a readable file: missing, a folder, or something else.

    Args:
        path: The path given.
        expected: What the file should be (``"a CSV or Parquet table"``).

    Returns:
        The error, to be raised by the caller.
    """
    p = Path(path)
    if p.is_dir():
        return CropGlobeError(f"{p}: is a folder, not a file; expected {expected}")
    if p.exists():
        return CropGlobeError(f"{p}: is not a regular file; expected {expected}")
    return CropGlobeError(f"{p}: no such file; expected {expected}")
