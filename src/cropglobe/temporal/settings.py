"""How observations become composites: the typed compositing settings (:class:`CompositeSettings`).

:class:`CompositeSettings` is the one description of how observations become composites. A
transfer study reads it from its YAML (``composite:``), :func:`cropglobe.experiment.data.composite_data`
calls ``composite(ds, settings)``, the cell records the same object in its
recipe (:mod:`cropglobe.recipe`, which re-exports it), and ``cropglobe map`` / ``cropglobe predict``
make exactly that call again (or the compiled twin of it, :mod:`cropglobe.mapping.predict`),
per-country ``offsets``, ``min_clear`` and ``scl_keep`` included. It lives with compositing so that
:mod:`cropglobe.temporal.composite` needs nothing above ``temporal/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, field_validator

from cropglobe.checks import Strict, WholeNumber, validation_error
from cropglobe.choices import Coverage
from cropglobe.temporal.season import load_offsets

#: Sentinel-2 scene classes kept as clear: 4 vegetation, 5 not vegetated (bare), 6 water.
SCL_KEEP: tuple[int, ...] = (4, 5, 6)
#: ``coverage="fill"``: the longest edge gap filled by default, in days (about a month: three dekads, one
#: monthly step).
FILL_DAYS = 30

class CompositeSettings(Strict):
    """How observation-level data are composited (see :func:`cropglobe.temporal.composite.composite`).

    Attributes:
        interval: Bin width in days (73 bins for 5 days).
        window: Season window ``MM-DD:MM-DD`` on the aligned calendar.
        align: ``"hemisphere"``, ``"none"`` or a number of days for every sample.
        clear_threshold: Minimum ``clear`` score of a usable observation.
        min_clear: Fewer usable observations in the window -> the sample is dropped (a map pixel is nodata).
        offsets: Per-country shift in days replacing ``align`` for the countries listed.
        scl_keep: Scene-classification codes counted as clear.
        coverage: Samples whose data do not span the window: ``drop`` them, raise (``error``), or
            ``fill`` the missing edge bins when the data stop at most ``fill_days`` short of either
            window edge (longer edge gaps are still dropped).
        fill_days: With ``coverage="fill"``, the most days of the season window that may lie before a
            sample's first data or after its last; those bins hold the nearest value (the gap filler's
            own edge rule, so ``map`` and ``predict`` compute the same inputs). Ignored otherwise.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: WholeNumber = Field(5, gt=0, le=365)
    window: str = "05-01:11-30"
    align: WholeNumber | str = "hemisphere"
    clear_threshold: float = Field(0.75, ge=0, le=1)
    min_clear: WholeNumber = Field(3, ge=0, description="drop samples with fewer usable steps in the window")
    offsets: dict[str, WholeNumber] | None = None
    scl_keep: tuple[WholeNumber, ...] = SCL_KEEP
    coverage: Coverage = Field(
        "drop", description="samples whose data do not span the season window: drop them (counted per "
                            "country), stop with an error, or fill edge gaps of at most fill_days days")
    fill_days: WholeNumber = Field(FILL_DAYS, ge=0, le=180, description="coverage fill: the longest edge gap "
                                   "(days of the window before the first / after the last data) that is filled")

    @field_validator("align", mode="before")
    @classmethod
    def _align(cls, v: Any) -> Any:
        # format-1 recipes of pre-composited studies kept the first word of the alignment label ("none;")
        return v.strip().rstrip(";").strip() if isinstance(v, str) else v

    @field_validator("offsets")
    @classmethod
    def _offsets(cls, v: dict[str, int] | None) -> dict[str, int] | None:
        if not v:
            return None

        return load_offsets(v)

    def composite_kwargs(self) -> dict[str, Any]:
        """The settings as plain keyword values (offsets as a dict or None, ``scl_keep`` as a tuple)."""
        return {"interval": self.interval, "window": self.window, "align": self.align,
                "clear_threshold": self.clear_threshold, "min_clear": self.min_clear,
                "offsets": dict(self.offsets) if self.offsets else None, "scl_keep": tuple(self.scl_keep),
                "coverage": self.coverage, "fill_days": self.fill_days}

    def edge_tolerance(self, observations: bool = True) -> int:
        """Days the data may stop short of each window edge and still cover it.

        ``coverage="fill"``: ``fill_days`` (at least the observation tolerance). Otherwise observations may
        stop up to one bin minus a day short (the nearest value fills the bin's edge anyway) and coarse
        composites, whose steps have a width, not at all (:func:`cropglobe.temporal.composite.covers_window`).
        """
        base = int(self.interval) - 1 if observations else 0
        return max(base, int(self.fill_days)) if self.coverage == "fill" else base

    def same_calendar(self, other: CompositeSettings) -> bool:
        """True when both put samples on the same aligned calendar (interval, alignment and offsets)."""
        def key(align: int | str) -> str:
            text = str(align).strip().lower()
            return str(int(text)) if text.lstrip("+-").isdigit() else text

        return (self.interval == other.interval and key(self.align) == key(other.align)
                and (self.offsets or {}) == (other.offsets or {}))

    def to_attrs(self) -> dict[str, Any]:
        """The settings as plain JSON values (stored in a composite's ``attrs["composite_settings"]``)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any], where: str = "composite") -> CompositeSettings:
        """The settings an aligned composite was made with (its ``attrs``).

        Composites made by this version record them in ``attrs["composite_settings"]``; older ones
        are read from ``interval``, ``season_window``, ``clear_threshold``, ``min_clear`` and the
        ``alignment`` label (whose per-country offsets part is parsed back).

        Raises:
            CropGlobeError: When the attributes do not describe valid settings.
        """
        if isinstance(attrs.get("composite_settings"), Mapping):
            raw = dict(attrs["composite_settings"])
            if attrs.get("season_window"):  # a study's season_window re-windows an aligned composite
                raw["window"] = str(attrs["season_window"])
            return parse(cls, raw, where)
        label = str(attrs.get("alignment", "none"))
        head, _, rest = label.partition(";")
        align: str | int = head.split(" ")[0]
        if head.strip().endswith(" days"):
            align = int(head.split(" ")[0])
        offsets = {}
        if rest.strip().startswith("per-country offsets"):
            for part in rest.strip().removeprefix("per-country offsets").split(","):
                iso, days = part.split()[:2]
                offsets[iso] = int(days)
        raw = {"interval": int(attrs.get("interval", 5)), "window": str(attrs.get("season_window") or "05-01:11-30"),
               "align": align, "clear_threshold": float(attrs.get("clear_threshold", 0.75)),
               "min_clear": int(attrs.get("min_clear", 3)), "offsets": offsets or None}
        return parse(cls, raw, where)


def parse(model: type[Strict], raw: Any, where: str) -> Any:
    """Validate ``raw`` as ``model``; a problem becomes one :class:`CropGlobeError` naming the field."""
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise validation_error(where, err, model=model) from None
