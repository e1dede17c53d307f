"""Strict, frozen parameter models for the augmentation transforms, with one-line errors naming the field."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from cropglobe.checks import Strict, reported_error
from cropglobe.errors import CropGlobeError


class ParameterError(CropGlobeError):
    """An invalid transform parameter: ``where``, the field path ``loc``, the problem and the value."""

    def __init__(self, where: str, loc: str, problem: str, got: str) -> None:
        super().__init__(f"{where}: field {loc or '(root)'}: {problem}{got}")
        self.where, self.loc, self.problem, self.got = where, loc, problem, got


def parameter_error(where: str, err: ValidationError, model: type[BaseModel] | None = None) -> ParameterError:
    """One-line error naming the first invalid field of a pydantic error (nested fields joined).

    Args:
        where: The transform (its class name).
        err: The pydantic error; only its first problem is reported.
        model: The model validated: an unknown field then gets a "did you mean" from its fields.
    """
    first, hint = reported_error(err, model)
    loc = ".".join(str(x) for x in first["loc"])
    inner = first.get("ctx", {}).get("error")
    if isinstance(inner, ParameterError):  # a nested transform already named its own field
        return ParameterError(where, ".".join(x for x in (loc, inner.loc) if x), inner.problem,
                              inner.got)
    got = first.get("input")
    problem = first["msg"].removeprefix("Value error, ") + hint
    return ParameterError(where, loc, problem, "" if isinstance(got, dict) else f" (got {got!r})")


class _Strict(Strict):
    """Frozen :class:`~cropglobe.checks.Strict` model whose invalid values raise CropGlobeError naming the field
    (with the rejected value, and nested transforms' fields joined, see :func:`parameter_error`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, **data: object) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise parameter_error(type(self).__name__, err, type(self)) from None
