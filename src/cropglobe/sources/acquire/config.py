"""Acquisition config: the YAML given to ``cropglobe data acquire CONFIG.yaml``, as pydantic models.

The layout follows EuroCropsML's YAML -> pydantic config (``dataset/config.py``): one model per
section, every field checked at load time, and every error re-raised as one
:class:`~cropglobe.errors.CropGlobeError` naming the file and the field. Relative paths are
resolved against the config file's folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from cropglobe import bands as _bands
from cropglobe import geography, taxonomy, yamlfile
from cropglobe.checks import Strict, WholeNumber, validation_error
from cropglobe.errors import CropGlobeError

#: Named STAC API endpoints (``imagery.stac.endpoint``); anything else is a URL or a catalog path.
ENDPOINTS: dict[str, str] = {
    "earth-search": "https://earth-search.aws.element84.com/v1",
    "planetary-computer": "https://planetarycomputer.microsoft.com/api/stac/v1",
}

#: Scene classification codes kept as clear sky by default: vegetation, not vegetated, water.
CLEAR_SCL: tuple[int, ...] = (4, 5, 6)


class Region(Strict):
    """Where to sample: a lon/lat ``bbox`` and the ISO-3 ``country`` recorded on the samples.

    Without a bbox the region is the whole label map (a national crop map covers its country).
    """

    country: str
    bbox: tuple[float, float, float, float] | None = None

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        return geography.country(v).iso3

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, v: tuple[float, float, float, float] | None) -> tuple[float, float, float, float] | None:
        if v is None:
            return v
        w, s, e, n = v
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            raise ValueError(f"empty or invalid bbox {list(v)}: expected [west, south, east, north] "
                             "in degrees with west < east and south < north")
        return v


class Labels(Strict):
    """The crop map: a raster (GeoTIFF codes) or vector parcels (a crop column), mapped to classes."""

    kind: Literal["raster", "vector"]
    path: Path
    classes: dict[str, str] = Field(description="map code or crop name -> one of the 7 classes")
    column: str | None = None
    ignore: list[str] = Field(default_factory=list, description="codes/names that are not samples")
    unmapped: Literal["error", "ignore", "other"] = "error"
    buffer_m: float = Field(60.0, ge=0)
    points_per_parcel: int = Field(1, ge=1)

    @field_validator("classes", mode="before")
    @classmethod
    def _keys_as_text(cls, v: Any) -> Any:
        return {str(k): str(c) for k, c in v.items()} if isinstance(v, dict) else v

    @field_validator("ignore", mode="before")
    @classmethod
    def _ignore_as_text(cls, v: Any) -> Any:
        return [str(x) for x in v] if isinstance(v, list) else v

    @field_validator("classes")
    @classmethod
    def _classes(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("empty mapping: expected at least one code -> class entry")
        out = {}
        for code, name in v.items():
            try:
                out[code] = taxonomy.normalize_label(name)
            except CropGlobeError as err:
                raise ValueError(f"code {code!r}: {err}") from None
        return out

    @model_validator(mode="after")
    def _column(self) -> Labels:
        if self.kind == "vector" and not self.column:
            raise ValueError("vector labels need 'column' (the attribute holding the crop name or code)")
        return self


class Sampling(Strict):
    """Grid sampling: at most ``per_cell`` samples per class per ``grid_deg`` cell, optional caps."""

    grid_deg: float = Field(0.1, gt=0)
    per_cell: int = Field(5, ge=1)
    per_class: dict[str, int] = Field(default_factory=dict)
    seed: WholeNumber = Field(0, ge=0)

    @field_validator("per_class")
    @classmethod
    def _caps(cls, v: dict[str, int]) -> dict[str, int]:
        out = {}
        for name, cap in v.items():
            if cap < 0:
                raise ValueError(f"cap for {name!r} is {cap}, expected >= 0")
            try:
                out[taxonomy.normalize_label(name)] = int(cap)
            except CropGlobeError as err:
                raise ValueError(str(err)) from None
        return out


class DaskConfig(Strict):
    """Where chunks run: ``local-cluster`` (default), ``threads``, ``synchronous`` or a scheduler address."""

    scheduler: str = "local-cluster"
    n_workers: int = Field(2, ge=1)
    threads_per_worker: int = Field(2, ge=1)
    chunks_in_flight: int = Field(4, ge=1, description="chunks computed together per Dask call")

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, v: str) -> str:
        if v in ("local-cluster", "threads", "synchronous") or "://" in v:
            return v
        raise ValueError(f"unknown scheduler {v!r}: expected local-cluster, threads, synchronous "
                         "or a scheduler address such as tcp://10.0.0.1:8786")


class StacConfig(Strict):
    """STAC source: a named endpoint, an API URL or a static catalog path/URL, and the collection."""

    endpoint: str = "earth-search"
    collection: str = "sentinel-2-l2a"
    max_cloud: float = Field(80.0, ge=0, le=100)
    resolution: float = Field(10.0, gt=0, description="metres; 20/60 m bands are read nearest-neighbour")
    retries: int = Field(5, ge=0)
    backoff_s: float = Field(1.0, ge=0)
    cache_dir: Path | None = None
    keep_cache: bool = False
    dask: DaskConfig = Field(default_factory=DaskConfig)

    @property
    def url(self) -> str:
        """The endpoint URL or catalog path (named endpoints resolved)."""
        return ENDPOINTS.get(self.endpoint, self.endpoint)


class GeeConfig(Strict):
    """Earth Engine export: batches of points exported as CSV to Drive or Cloud Storage."""

    destination: Literal["drive", "gcs"] = "drive"
    folder: str = "cropglobe"
    bucket: str | None = None
    batch_size: int = Field(500, ge=1)
    interval_days: int = Field(5, ge=1)
    cs_threshold: float = Field(0.75, ge=0, le=1)
    scale_m: float = Field(10.0, gt=0)
    project: str | None = None
    state_file: Path | None = None
    csv_dir: Path | None = Field(None, description="folder of downloaded CSV batches to import")

    @model_validator(mode="after")
    def _bucket(self) -> GeeConfig:
        if self.destination == "gcs" and not self.bucket:
            raise ValueError("destination 'gcs' needs 'bucket'")
        return self


class Imagery(Strict):
    """The imagery backend and its options."""

    backend: Literal["stac", "gee"] = "stac"
    stac: StacConfig = Field(default_factory=StacConfig)
    gee: GeeConfig = Field(default_factory=GeeConfig)


class Clear(Strict):
    """Clear-sky rule: SCL codes kept; other observations are NaN (their SCL code is still stored)."""

    scl_keep: list[int] = Field(default_factory=lambda: list(CLEAR_SCL))
    mask: bool = True


class Composite(Strict):
    """Optional compositing after acquisition (arguments of :func:`cropglobe.temporal.composite.composite`)."""

    interval: int = 5
    window: str = "05-01:11-30"
    align: str = "hemisphere"
    clear_threshold: float = 0.75
    min_clear: int = Field(3, ge=0)


class AcquireConfig(Strict):
    """The whole ``cropglobe data acquire`` config."""

    region: Region
    year: int = Field(ge=2015, le=2100)
    season: str = Field("01-01:12-31", description="MM-DD:MM-DD inside the year (end may wrap to next year)")
    labels: Labels
    sampling: Sampling = Field(default_factory=Sampling)
    imagery: Imagery = Field(default_factory=Imagery)
    bands: list[str] = Field(default_factory=lambda: list(_bands.S2_BANDS))
    clear: Clear = Field(default_factory=Clear)
    composite: Composite | None = None
    output: Path

    @field_validator("bands")
    @classmethod
    def _bands(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("no bands given: expected a list such as [B2, B3, B4, B8]")
        try:
            names = [_bands.canonical_band(b) for b in v]
        except CropGlobeError as err:
            raise ValueError(str(err)) from None
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate bands in {v}")
        return names

    @field_validator("season")
    @classmethod
    def _season(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"\d\d-\d\d:\d\d-\d\d", v):
            raise ValueError(f"season {v!r}: expected 'MM-DD:MM-DD', e.g. '04-01:10-31'")
        return v

    def date_range(self) -> tuple[str, str]:
        """Return the season's first and last date as ISO strings (the end may be in year + 1)."""
        import datetime as dt

        start_s, end_s = self.season.split(":")
        start = dt.date.fromisoformat(f"{self.year}-{start_s}")
        end = dt.date.fromisoformat(f"{self.year}-{end_s}")
        if end < start:
            end = dt.date.fromisoformat(f"{self.year + 1}-{end_s}")
        return start.isoformat(), end.isoformat()

    def cache_dir(self) -> Path:
        """The chunk cache folder (default: ``<output>.cache`` next to the output)."""
        return self.imagery.stac.cache_dir or self.output.with_name(self.output.name + ".cache")


def _resolve(base: Path, value: Path | None) -> Path | None:
    if value is None or value.is_absolute():
        return value
    return (base / value).resolve()


def load_config(path: str | os.PathLike) -> AcquireConfig:
    """Read and validate an acquisition config YAML file.

    Args:
        path: The YAML file.

    Returns:
        The config, with relative paths resolved against the file's folder.

    Raises:
        CropGlobeError: If the file is missing, is not YAML, or a field is invalid (the message
            names the file and the field path, e.g. ``labels.classes``).
    """
    p = Path(path)
    if not p.is_file():
        raise CropGlobeError(f"{p}: no such config file (expected an acquisition YAML)")
    raw = yamlfile.load_mapping(p, "acquisition config", "a YAML mapping with region, year, labels, output ...")
    try:
        cfg = AcquireConfig.model_validate(raw)
    except ValidationError as err:
        raise validation_error(str(p), err, root="(top level)", model=AcquireConfig) from None
    except CropGlobeError as err:
        raise CropGlobeError(f"{p}: {err}") from None
    base = p.resolve().parent
    cfg.labels.path = _resolve(base, cfg.labels.path)
    cfg.output = _resolve(base, cfg.output)
    stac = cfg.imagery.stac
    stac.cache_dir = _resolve(base, stac.cache_dir)
    cfg.imagery.gee.state_file = _resolve(base, cfg.imagery.gee.state_file)
    cfg.imagery.gee.csv_dir = _resolve(base, cfg.imagery.gee.csv_dir)
    if stac.endpoint not in ENDPOINTS and "://" not in stac.endpoint:
        stac.endpoint = str(_resolve(base, Path(stac.endpoint)))
    return cfg
