"""ModelSpec: the JSON-serialisable description saved next to every model's weights.

A spec names the registry model and its constructor arguments (so loading rebuilds the network
from code in this package, never from the file), plus the band and class names the model was
trained on, so that applying it to data with other bands or classes fails clearly.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cropglobe import __version__
from cropglobe.errors import CropGlobeError


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CropGlobeError(f"model option value {value!r} is not JSON-serialisable "
                         "(expected numbers, strings, booleans or lists of them)")


@dataclass(frozen=True)
class ModelSpec:
    """Registry name, constructor arguments and the band/class names of one model."""

    name: str
    n_bands: int
    n_times: int
    n_classes: int
    options: dict[str, Any] = field(default_factory=dict)
    bands: tuple[str, ...] | None = None
    class_names: tuple[str, ...] | None = None
    cropglobe_version: str = __version__

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", _jsonable(dict(self.options)))
        if self.bands is not None:
            object.__setattr__(self, "bands", tuple(str(b) for b in self.bands))
            if len(self.bands) != self.n_bands:
                raise CropGlobeError(f"model spec {self.name!r}: {len(self.bands)} band names "
                                     f"{list(self.bands)} given for n_bands={self.n_bands}")
        if self.class_names is not None:
            object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
            if len(self.class_names) != self.n_classes:
                raise CropGlobeError(f"model spec {self.name!r}: {len(self.class_names)} class names "
                                     f"given for n_classes={self.n_classes}")

    def with_labels(self, bands: Sequence[str] | None = None,
                    class_names: Sequence[str] | None = None) -> ModelSpec:
        """Return a copy recording the band and/or class names (unchanged where ``None``)."""
        return dataclasses.replace(
            self, bands=tuple(bands) if bands is not None else self.bands,
            class_names=tuple(class_names) if class_names is not None else self.class_names)

    def to_json(self) -> str:
        """Serialise to a JSON string."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str = "model file") -> ModelSpec:
        """Parse a spec written by :meth:`to_json`.

        Raises:
            CropGlobeError: If the text is not a valid spec; the message names ``where``.
        """
        try:
            raw = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise CropGlobeError(f"{where}: model spec is not valid JSON ({exc})") from None
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(raw, dict) or not {"name", "n_bands", "n_times", "n_classes"} <= set(raw):
            raise CropGlobeError(f"{where}: model spec needs name, n_bands, n_times and n_classes")
        extra = set(raw) - names
        if extra:
            raise CropGlobeError(f"{where}: unknown model spec field(s) {sorted(extra)}")
        for key in ("n_bands", "n_times", "n_classes"):
            if not isinstance(raw[key], int) or raw[key] < 1:
                raise CropGlobeError(f"{where}: spec field {key} must be a positive integer, "
                                     f"got {raw[key]!r}")
        if not isinstance(raw.get("options", {}), dict):
            raise CropGlobeError(f"{where}: spec field options must be an object")
        return cls(**raw)

    def check(self, expect_bands: Sequence[str] | int | None = None,
              expect_classes: Sequence[str] | int | None = None, where: str = "model") -> None:
        """Fail unless the model's bands and classes are the expected ones.

        Args:
            expect_bands: Band names in order (compared with the recorded names, or with the band
                count when no names were recorded), or just the band count.
            expect_classes: Class names in order, or the class count.
            where: Label of the model (e.g. its file) for the message.

        Raises:
            CropGlobeError: On any mismatch.
        """
        for what, expected, names, count in (("bands", expect_bands, self.bands, self.n_bands),
                                              ("classes", expect_classes, self.class_names,
                                               self.n_classes)):
            if expected is None:
                continue
            if isinstance(expected, int):
                if expected != count:
                    raise CropGlobeError(f"{where}: model was trained on {count} {what}, "
                                         f"the data has {expected}")
                continue
            expected = tuple(str(e) for e in expected)
            if names is not None and expected != names:
                raise CropGlobeError(f"{where}: model was trained on {what} {list(names)}, "
                                     f"expected {list(expected)}")
            if names is None and len(expected) != count:
                raise CropGlobeError(f"{where}: model was trained on {count} {what}, "
                                     f"expected {len(expected)} ({list(expected)})")
