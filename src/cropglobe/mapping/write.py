"""Map outputs: class COG (overviews, colour table, class names), confidence COG, PNG quick-looks, area CSV.

Tiles are written into tiled GeoTIFFs as they finish (memory bounded by a tile); :meth:`MapWriter.finish`
adds overviews (``mode`` for classes, ``average`` for confidence) and copies both into
Cloud-Optimised GeoTIFFs with GDAL's COG driver (rasterio), draws the quick-look with matplotlib
and writes the area table. Every output goes to a temporary sibling and is renamed only when all
of them are complete (:func:`cropglobe.atomic.atomic_path`).

Class map: uint8, value = class index of the recipe, 255 = nodata (too few clear observations).
Confidence: float32 maximum class probability, NaN = nodata, and its PNG (``<stem>_confidence.png``).
Probabilities (``probabilities=True``, CLI ``--probabilities``): ``<stem>_probabilities.tif``, one
float32 band per class of the cell (band description = class name, NaN = nodata). The PNGs are
titled with the model, its source, the region and the season year (:func:`map_title`).
Areas: hectares per class from the pixel area (projected CRS: |a*e| in metres; geographic CRS:
geodesic area of each row's cells on the WGS84 ellipsoid with :class:`pyproj.Geod`).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from cropglobe.atomic import atomic_path, check_replaceable
from cropglobe.errors import CropGlobeError
from cropglobe.mapping.predict import NODATA_CLASS

#: Colours (RGB) of the CropGlobe classes; other names get tab20 colours.
CLASS_COLOURS: dict[str, tuple[int, int, int]] = {
    "corn": (255, 211, 0), "soybean": (38, 112, 0), "rice": (0, 168, 226), "wheat": (168, 112, 0),
    "sugarcane": (161, 80, 235), "cotton": (255, 38, 155), "other": (180, 180, 180),
}


def colours(classes: list[str]) -> list[tuple[int, int, int]]:
    """RGB colour per class name."""
    import matplotlib

    tab = matplotlib.colormaps["tab20"]
    return [CLASS_COLOURS.get(c) or tuple(int(255 * v) for v in tab(i % 20)[:3]) for i, c in enumerate(classes)]


def pixel_area_ha(transform: Any, crs: Any, rows: slice) -> np.ndarray:
    """Area of one pixel (hectares) for each row of a window."""
    n = rows.stop - rows.start
    if crs.is_projected:
        factor = float(crs.linear_units_factor[1])
        return np.full(n, abs(transform.a * transform.e) * factor * factor / 1e4)
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    x0, x1 = transform.c, transform.c + transform.a
    out = np.empty(n)
    for i, r in enumerate(range(rows.start, rows.stop)):
        y0, y1 = transform.f + r * transform.e, transform.f + (r + 1) * transform.e
        area, _ = geod.polygon_area_perimeter([x0, x1, x1, x0], [y0, y0, y1, y1])
        out[i] = abs(area) / 1e4
    return out


def output_paths(out: str | Path, probabilities: bool = False) -> dict[str, Path]:
    """The files one map writes: the class COG ``out`` and its siblings, by kind."""
    out = Path(out)
    paths = {"classes": out, "confidence": out.with_name(out.stem + "_confidence.tif"),
             "png": out.with_suffix(".png"), "confidence_png": out.with_name(out.stem + "_confidence.png"),
             "areas": out.with_name(out.stem + "_areas.csv")}
    if probabilities:
        paths["probabilities"] = out.with_name(out.stem + "_probabilities.tif")
    return paths


def map_title(tags: dict[str, str], simulated: bool, what: str = "crop map") -> str:
    """Two title lines from a map's tags: what, region and season; model, features and source.

    ``TRAINED_ON`` (the cell's source, a JSON list), ``MODEL``, ``FEATURE``, ``COUNTRY`` (the mapped
    region), ``SEASON_YEAR`` and ``INPUT`` are read where present.
    """
    region, year = tags.get("COUNTRY"), tags.get("SEASON_YEAR")
    first = what + (f" of {region}" if region else "") + (f", season {year}" if year else "")
    first += " (SIMULATED DATA)" if simulated else ""
    try:
        sources = json.loads(tags.get("TRAINED_ON") or "null")
    except ValueError:
        sources = None
    model = " / ".join(t for t in (tags.get("FEATURE"), tags.get("MODEL")) if t)
    second = (model or "model") + (f", trained on {'+'.join(map(str, sources))}" if sources else "")
    if tags.get("ENSEMBLE"):
        second += f" (ensemble of {len(json.loads(tags['ENSEMBLE']))} cells)"
    if tags.get("INPUT"):
        second += f"; input {Path(tags['INPUT']).name}"
    return f"{first}\n{second}"


def is_map(path: Path) -> bool:
    """True when ``path`` is a GeoTIFF written by ``cropglobe map`` (its SOFTWARE tag says so)."""
    if not path.is_file():
        return False
    try:
        import rasterio

        with rasterio.open(path) as src:
            return src.tags().get("SOFTWARE") == "cropglobe map"
    except Exception:  # anything unreadable is not a previous map
        return False


def check_outputs(out: str | Path, overwrite: bool = False, probabilities: bool = False) -> None:
    """Refuse to replace files or folders at the map's output paths that a previous map did not write.

    Raises:
        CropGlobeError: For a path that is not a GeoTIFF (``.tif``), or naming the path that is in the
            way (``--overwrite`` replaces it).
    """
    if Path(out).suffix.lower() not in (".tif", ".tiff"):
        raise CropGlobeError(f"out={out}: expected a GeoTIFF path ending in .tif")
    paths = output_paths(out, probabilities)
    previous = is_map(paths["classes"])
    for kind, path in paths.items():
        check_replaceable(path, "cropglobe map output", is_map if kind in ("classes", "probabilities") else
                          (lambda p: previous and p.is_file()), overwrite)


class MapWriter:
    """Collect tiles into the outputs of one map (use as a context manager; nothing is kept on error).

    Args:
        out: Path of the class COG (``map.tif``); siblings ``<stem>_confidence.tif``, ``<stem>.png``
            and ``<stem>_areas.csv`` are written next to it.
        shape: (rows, cols).
        transform: Affine transform of the map.
        crs: CRS of the map.
        classes: Class names (index = value).
        tags: Extra metadata written into the COGs (model, recipe, input, simulated ...).
        simulated: Label the quick-looks and the table as SIMULATED DATA.
        probabilities: Also write ``<stem>_probabilities.tif`` (one band per class); every
            :meth:`write` then gives the tile's probabilities.
    """

    def __init__(self, out: str | Path, shape: tuple[int, int], transform: Any, crs: Any, classes: list[str],
                 tags: dict[str, str] | None = None, simulated: bool = False, probabilities: bool = False) -> None:
        self.out = Path(out)
        self.probabilities = probabilities
        self.paths = output_paths(self.out, probabilities)
        self.shape, self.transform, self.crs, self.classes = shape, transform, crs, list(classes)
        self.tags, self.simulated = dict(tags or {}), simulated
        self.counts = np.zeros(NODATA_CLASS + 1, dtype=np.int64)
        self.hectares = np.zeros(NODATA_CLASS + 1, dtype=np.float64)
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> MapWriter:
        import rasterio

        self._tmp = {k: self._stack.enter_context(atomic_path(p)) for k, p in self.paths.items()}
        rows, cols = self.shape
        base = {"driver": "GTiff", "width": cols, "height": rows, "count": 1, "crs": self.crs,
                "transform": self.transform, "tiled": True, "blockxsize": 256, "blockysize": 256}
        rasters = ("classes", "confidence", "probabilities") if self.probabilities else ("classes", "confidence")
        self._raw = {k: self._tmp[k].with_name(self._tmp[k].name + ".raw.tif") for k in rasters}
        self._dst = {
            "classes": self._stack.enter_context(rasterio.open(self._raw["classes"], "w", dtype="uint8",
                                                               nodata=NODATA_CLASS, **base)),
            "confidence": self._stack.enter_context(rasterio.open(self._raw["confidence"], "w", dtype="float32",
                                                                  nodata=float("nan"), **base)),
        }
        if self.probabilities:
            self._dst["probabilities"] = self._stack.enter_context(rasterio.open(
                self._raw["probabilities"], "w", dtype="float32", nodata=float("nan"),
                **{**base, "count": len(self.classes)}))
        return self

    def write(self, rows: slice, cols: slice, classes: np.ndarray, confidence: np.ndarray,
              proba: np.ndarray | None = None) -> None:
        """Write one tile and add its pixels to the area table.

        ``proba`` (with ``probabilities=True``): the class probabilities (P_valid, C) of the tile's
        mapped pixels (class != nodata) in row-major order, as the tile's blocks return them.
        """
        from rasterio.windows import Window

        win = Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
        self._dst["classes"].write(classes, 1, window=win)
        self._dst["confidence"].write(confidence, 1, window=win)
        if self.probabilities:
            mapped = classes != NODATA_CLASS
            if proba is None or proba.shape != (int(mapped.sum()), len(self.classes)):
                raise ValueError(f"MapWriter.write: expected the probabilities of {int(mapped.sum())} mapped pixels x "
                                 f"{len(self.classes)} classes, got {None if proba is None else proba.shape}")
            cube = np.full((len(self.classes), *classes.shape), np.nan, dtype=np.float32)
            cube[:, mapped] = np.asarray(proba, dtype=np.float32).T
            self._dst["probabilities"].write(cube, window=win)
        area = pixel_area_ha(self.transform, self.crs, rows)
        self.counts += np.bincount(classes.ravel(), minlength=NODATA_CLASS + 1)
        self.hectares += np.bincount(classes.ravel(), weights=np.repeat(area, classes.shape[1]),
                                     minlength=NODATA_CLASS + 1)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self._finish()
        finally:
            for p in getattr(self, "_raw", {}).values():
                p.unlink(missing_ok=True)
                Path(str(p) + ".ovr").unlink(missing_ok=True)
            self._stack.__exit__(exc_type, exc, tb)

    def _finish(self) -> None:
        from rasterio.enums import Resampling

        rows, cols = self.shape
        factors = [2 ** k for k in range(1, 12) if min(rows, cols) // 2 ** k >= 8] or [2]
        names = {str(i): c for i, c in enumerate(self.classes)}
        tags = {**self.tags, "CLASS_NAMES": json.dumps(names), "NODATA_CLASS": str(NODATA_CLASS),
                "SIMULATED": str(self.simulated).lower()}
        cls = self._dst["classes"]
        cmap = {i: (*rgb, 255) for i, rgb in enumerate(colours(self.classes))}
        cmap[NODATA_CLASS] = (0, 0, 0, 0)
        cls.write_colormap(1, cmap)
        cls.set_band_description(1, "crop class (" + ", ".join(f"{i}={c}" for i, c in enumerate(self.classes)) + ")")
        cls.update_tags(**tags, **{f"CLASS_{i}": c for i, c in enumerate(self.classes)})
        cls.build_overviews(factors, Resampling.mode)
        conf = self._dst["confidence"]
        conf.set_band_description(1, "confidence (maximum class probability)")
        conf.update_tags(**tags)
        conf.build_overviews(factors, Resampling.average)
        if self.probabilities:
            prob = self._dst["probabilities"]
            for i, name in enumerate(self.classes, start=1):
                prob.set_band_description(i, name)
            prob.update_tags(**tags, **{f"CLASS_{i}": c for i, c in enumerate(self.classes)},
                             BANDS="probability of each class of the cell, band i+1 = class i")
            prob.build_overviews(factors, Resampling.average)
        for d in self._dst.values():
            d.close()
        self._cog(self._raw["classes"], self._tmp["classes"], "MODE")
        self._cog(self._raw["confidence"], self._tmp["confidence"], "AVERAGE")
        if self.probabilities:
            self._cog(self._raw["probabilities"], self._tmp["probabilities"], "AVERAGE")
        self._areas(self._tmp["areas"])
        self._png(self._tmp["png"])
        self._confidence_png(self._tmp["confidence_png"])

    @staticmethod
    def _cog(src: Path, dst: Path, resampling: str) -> None:
        from rasterio.shutil import copy

        copy(src, dst, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=256, OVERVIEWS="FORCE_USE_EXISTING",
             OVERVIEW_RESAMPLING=resampling)

    def _areas(self, path: Path) -> None:
        import pandas as pd

        mapped = self.counts[:NODATA_CLASS].sum()
        rows = [{"code": i, "class": c, "pixels": int(self.counts[i]), "hectares": round(float(self.hectares[i]), 4),
                 "share_of_mapped": round(float(self.counts[i] / mapped), 6) if mapped else 0.0}
                for i, c in enumerate(self.classes)]
        rows.append({"code": NODATA_CLASS, "class": "nodata", "pixels": int(self.counts[NODATA_CLASS]),
                     "hectares": round(float(self.hectares[NODATA_CLASS]), 4), "share_of_mapped": float("nan")})
        table = pd.DataFrame(rows)
        table["data"] = "SIMULATED" if self.simulated else ""
        table.to_csv(path, index=False)

    def _png(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import rasterio
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        with rasterio.open(self._tmp["classes"]) as src:
            step = max(1, int(np.ceil(max(src.shape) / 1000)))
            data = src.read(1, out_shape=(max(1, src.height // step), max(1, src.width // step)),
                            resampling=rasterio.enums.Resampling.mode)
        rgb = np.asarray(colours(self.classes), dtype=float) / 255.0
        masked = np.ma.masked_equal(data, NODATA_CLASS)
        fig, ax = plt.subplots(figsize=(9, 6))
        left, top = self.transform.c, self.transform.f
        right, bottom = left + self.transform.a * self.shape[1], top + self.transform.e * self.shape[0]
        ax.set_facecolor("white")
        ax.imshow(masked, cmap=ListedColormap(rgb), vmin=-0.5, vmax=len(self.classes) - 0.5,
                  interpolation="nearest", extent=(left, right, bottom, top))
        present = [i for i in range(len(self.classes)) if self.counts[i]]
        handles = [Patch(color=rgb[i], label=f"{self.classes[i]} ({self.hectares[i]:.1f} ha)") for i in present]
        if self.counts[NODATA_CLASS]:
            handles.append(Patch(facecolor="white", edgecolor="black", label="nodata (too few clear obs.)"))
        fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.70, 0.5), frameon=False)
        ax.set_title(map_title(self.tags, self.simulated), fontsize=10)
        ax.set_xlabel(f"x ({self.crs.to_string()})")
        ax.set_ylabel("y")
        ax.ticklabel_format(useOffset=False, style="plain")
        fig.subplots_adjust(left=0.14, right=0.68, top=0.92, bottom=0.1)  # legend on the right; one draw
        fig.savefig(path, format="png", dpi=110)
        plt.close(fig)

    def _confidence_png(self, path: Path) -> None:
        """The confidence quick-look: maximum class probability, 1/classes (chance) to 1; white = nodata."""
        import rasterio
        from matplotlib.figure import Figure

        with rasterio.open(self._tmp["confidence"]) as src:
            step = max(1, int(np.ceil(max(src.shape) / 1000)))
            data = src.read(1, out_shape=(max(1, src.height // step), max(1, src.width // step)),
                            resampling=rasterio.enums.Resampling.average)
        fig = Figure(figsize=(9, 6))
        ax = fig.add_subplot()
        left, top = self.transform.c, self.transform.f
        right, bottom = left + self.transform.a * self.shape[1], top + self.transform.e * self.shape[0]
        ax.set_facecolor("white")
        image = ax.imshow(np.ma.masked_invalid(data), cmap="viridis", vmin=1.0 / max(1, len(self.classes)), vmax=1.0,
                          interpolation="nearest", extent=(left, right, bottom, top))
        fig.colorbar(image, ax=ax, label="confidence: maximum class probability (white = nodata)")
        ax.set_title(map_title(self.tags, self.simulated, what="confidence"), fontsize=10)
        ax.set_xlabel(f"x ({self.crs.to_string()})")
        ax.set_ylabel("y")
        ax.ticklabel_format(useOffset=False, style="plain")
        fig.savefig(path, format="png", dpi=110)
