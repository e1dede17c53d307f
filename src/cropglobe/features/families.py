"""Feature families: the registry ``FEATURES`` and the median matrix / vector features.

Each family is a :class:`FeatureSpec` whose ``fn(ds, **options)`` takes a season-windowed
composite SampleSet (see :func:`cropglobe.temporal.composite.season`) and returns a float32 array without
NaN: ``kind == "matrix"`` gives (N, B, T), ``kind == "vector"`` gives (N, F).

Families (Tong & Wang, arXiv:2509.03497, Sec. "Invariant features"):

* ``median2d`` - the bands x time matrix of 5-day median composites (the paper's 2D input of
  CropNet and the 2D CNN baselines);
* ``median1d`` - the same values flattened band-major to B*T (the paper's 1D input);
* ``harmonic`` - least-squares harmonic coefficients (:mod:`cropglobe.features.harmonic`, 35 by default);
* ``presto`` - frozen Presto embeddings (Tseng et al., arXiv:2304.14065; :mod:`cropglobe.features.presto`);
* ``presto-input`` - Presto's model inputs packed per pixel (:func:`cropglobe.features.presto.inputs.pack`),
  the input of the fine-tuned ``presto-ft`` model, which runs the encoder itself.

A new family is one more entry: ``FEATURES["emit"] = FeatureSpec("emit", emit_fn, "vector")``.

Each family declares its ``layout`` (:data:`LAYOUTS`): ``window`` (the season window of the
composite itself, (N, B, T): median2d), ``flat-window`` (the same values flattened band-major:
median1d) or ``features`` (anything computed from the window). Code that cuts, moves or augments
season windows (torch training on full-year series, ``align``, ``phenoshift``, band names in model
files) asks :attr:`FeatureSpec.windowed` / :meth:`FeatureSpec.window_inputs` instead of testing names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from cropglobe.errors import CropGlobeError
from cropglobe.features.emit import emit_features
from cropglobe.features.harmonic import harmonic, input_bands

KINDS = ("matrix", "vector")
#: How a family's inputs relate to the season window (see the module docstring).
LAYOUTS = ("window", "flat-window", "features")


def _presto(ds: xr.Dataset, **options: object) -> np.ndarray:
    """Presto embeddings (Tseng et al., arXiv:2304.14065): :func:`cropglobe.features.presto.embed.presto_features`."""
    from cropglobe.features.presto.embed import PrestoOptions, presto_features

    return presto_features(ds, PrestoOptions(**options))  # type: ignore[arg-type]


def _presto_input(ds: xr.Dataset, **options: object) -> np.ndarray:
    """Packed Presto inputs (Tseng et al., arXiv:2304.14065); see :func:`cropglobe.features.presto.inputs.presto_input`.
    """
    from cropglobe.features.presto.inputs import presto_input

    return presto_input(ds, **options)  # type: ignore[arg-type]


def _presto_uses(bands: list[str], **options: object) -> list[str]:
    from cropglobe.features.presto.embed import presto_uses

    return presto_uses(bands, **options)


def _presto_record(**options: object) -> dict:
    from cropglobe.features.presto.embed import record_options

    return record_options(**options)


@dataclass(frozen=True)
class FeatureSpec:
    """One feature family: its name, function ``fn(ds, **options) -> np.ndarray`` and output kind.

    ``uses(bands, **options)`` names the bands ``fn`` reads out of ``bands`` (None: all of them);
    a map then reads and composites only those. ``layout`` (:data:`LAYOUTS`) says whether the
    inputs are the season window itself (``window``, ``flat-window``) or features computed from it.
    """

    name: str
    fn: Callable[..., np.ndarray]
    kind: str
    description: str = field(default="", compare=False)
    uses: Callable[..., list[str]] | None = field(default=None, compare=False)
    record: Callable[..., dict] | None = field(default=None, compare=False)
    layout: str = "features"

    @property
    def windowed(self) -> bool:
        """True when the inputs are the season window of the composite (whole or flattened): what align moves."""
        return self.layout != "features"

    def window_inputs(self, windows: np.ndarray) -> np.ndarray:
        """Inputs of season windows ``(N, B, count)``: as they are (``window``) or flattened band-major.

        Raises:
            CropGlobeError: For a family whose inputs are not season windows.
        """
        if not self.windowed:
            raise CropGlobeError(f"feature {self.name!r} is not a season window of the composite; expected one of "
                                 f"{', '.join(window_families())}")
        return windows.reshape(len(windows), -1) if self.layout == "flat-window" else windows

    def recorded_options(self, options: dict) -> dict:
        """The options a recipe stores: ``record(**options)`` (e.g. pins a weights file's sha256), else a copy.

        ``record`` runs when a cell writes its recipe and when ``cropglobe map`` loads it; it raises
        :class:`CropGlobeError` when the recorded options cannot be honoured (other weights).
        """
        return dict(options) if self.record is None else dict(self.record(**options))

    def bands(self, present: list[str], **options: object) -> list[str]:
        """The bands of ``present`` this family reads with ``options``."""
        return list(present) if self.uses is None else self.uses(list(present), **options)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"FeatureSpec {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"FeatureSpec {self.name!r}: layout {self.layout!r} is not one of {LAYOUTS}")


def _composite_values(ds: xr.Dataset, family: str) -> np.ndarray:
    if ds.attrs.get("time_kind") != "composite":
        raise CropGlobeError(
            f"{family}: expected a composite SampleSet (run `cropglobe data composite` first), got time_kind="
            f"{ds.attrs.get('time_kind')!r}"
        )
    values = ds["reflectance"].transpose("sample", "band", "time").values.astype(np.float32)
    bad = np.isnan(values).any(axis=(1, 2))
    if bad.any():
        ids = ds["sample_id"].values.astype(str)[bad]
        raise CropGlobeError(
            f"{family}: {int(bad.sum())} samples still have missing values after compositing (e.g. "
            f"{', '.join(repr(str(i)) for i in ids[:3])}); expected gap-filled series (a band without any "
            "clear observation cannot be filled)"
        )
    return values


def median2d(ds: xr.Dataset) -> np.ndarray:
    """Bands x time median-composite matrix, (N, B, T) float32.

    Source: Tong & Wang (arXiv:2509.03497), the 2D spectral-temporal median representation
    (10 Sentinel-2 bands x 5-day median composites over the May-November window).
    """
    return _composite_values(ds, "median2d")


def median1d(ds: xr.Dataset) -> np.ndarray:
    """The median-composite matrix flattened band-major, (N, B*T) float32.

    Source: Tong & Wang (arXiv:2509.03497), the 1D median vector used by the tabular and 1D models.
    """
    values = _composite_values(ds, "median1d")
    return values.reshape(values.shape[0], -1)


FEATURES: dict[str, FeatureSpec] = {
    "median2d": FeatureSpec("median2d", median2d, "matrix", "bands x time median composites (N, B, T)",
                            layout="window"),
    "median1d": FeatureSpec("median1d", median1d, "vector", "median composites flattened to (N, B*T)",
                            layout="flat-window"),
    "harmonic": FeatureSpec("harmonic", harmonic, "vector",
                            "harmonic regression, 2 harmonics + constant on 6 bands + GCVI (N, 35)", input_bands),
    "emit": FeatureSpec("emit", emit_features, "vector", "clearest good-band EMIT L2A spectrum per sample (N, bands)"),
    "presto": FeatureSpec("presto", _presto, "vector",
                          "frozen Presto encoder embeddings of monthly S2 series (N, 128); needs its weights",
                          _presto_uses, _presto_record),
    "presto-input": FeatureSpec("presto-input", _presto_input, "vector",
                                "Presto inputs packed per pixel (N, 35 x months + 3): normalised monthly S2 channels, "
                                "masks, month index, lat/lon; the input of presto-ft", _presto_uses),
}


def window_families() -> tuple[str, ...]:
    """The families whose inputs are season windows of the composite (median2d, median1d)."""
    return tuple(name for name, spec in FEATURES.items() if spec.windowed)


def get_feature(name: str) -> FeatureSpec:
    """Return a registered feature family by name.

    Raises:
        CropGlobeError: If no family has that name.
    """
    spec = FEATURES.get(str(name).strip().lower())
    if spec is None:
        raise CropGlobeError(f"unknown feature family {name!r}; expected one of {', '.join(sorted(FEATURES))}")
    return spec
