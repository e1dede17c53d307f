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

import numbers
from typing import Annotated

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic import Strict as _StrictType

from cropglobe.errors import CropGlobeError

#: A pydantic field type for whole numbers: ``5`` passes, ``5.0``, ``"5"`` and ``True`` do not.
WholeNumber = Annotated[int, _StrictType()]


class Strict(BaseModel):
    """Pydantic base model whose unknown fields are errors (a typo in a config is never ignored)."""

    model_config = ConfigDict(extra="forbid")


def error_text(err: ValidationError, root: str = "(root)") -> tuple[str, str]:
    """``(location, problem)`` of a pydantic error's first problem (``"a.b"``; message without pydantic's prefix)."""
    first = err.errors()[0]
    loc = ".".join(str(x) for x in first["loc"]) or root
    return loc, str(first["msg"]).removeprefix("Value error, ")


def validation_error(where: str, err: ValidationError, root: str = "(root)") -> CropGlobeError:
    """One-line :class:`CropGlobeError` ``"<where>: field <loc>: <problem>"`` for a pydantic error.

    Args:
        where: The file or object validated (e.g. the config path).
        err: The pydantic error; only its first problem is reported.
        root: How a problem of the whole object (empty location) is named.

    Returns:
        The error, to be raised by the caller (``raise validation_error(...) from None``).
    """
    loc, problem = error_text(err, root)
    return CropGlobeError(f"{where}: field {loc}: {problem}")


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
