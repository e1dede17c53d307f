"""Make the data paths of one study fit together: sample-id namespaces, common bands, processing levels.

A study may join SampleSets from different producers: a WorldCereal extraction of Canada with 9
bands (no B8A), an Earth Engine export of Arkansas with 10, a 6-band L1C set. Each part keeps its
own file; here they are made joinable before compositing:

* **sample ids** that collide between data paths (two exports both numbering pixels 0..9999) are
  namespaced with the path's stem (``arkansas_2021/17``), for every part, and recorded in
  ``attrs["sample_id_namespace"]``; ids that are already unique are left as they are;
* **bands**: the bands common to every part (in the first part's order), or an explicit ``bands:``
  list of the spec; the dropped bands of each part are reported and recorded, and a study with no
  common band is an error;
* **processing levels** (``attrs["processing_level"]``, e.g. L2A / L1C) and sensors are recorded per
  part, with a warning when they differ.

Optional per-sample coords that only some parts have (``region``, ``cov_*``) are filled when the
composited parts are joined (:func:`cropglobe.samples.concat`).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from cropglobe import bands as _bands
from cropglobe.errors import CropGlobeError

log = logging.getLogger(__name__)


def namespace_ids(parts: list[xr.Dataset], paths: list[str]) -> list[xr.Dataset]:
    """Prefix every part's sample ids with its path's stem when ids collide between parts.

    Raises:
        CropGlobeError: When two data paths have the same stem and their ids collide.
    """
    if len(parts) < 2:
        return parts
    ids = [d["sample_id"].values.astype(str) for d in parts]
    all_ids = np.concatenate(ids)
    if np.unique(all_ids).size == all_ids.size:
        return parts
    stems = [Path(str(p).rstrip("/")).name.removesuffix(".zarr") for p in paths]
    if len(set(stems)) != len(stems):
        raise CropGlobeError(f"data.path: sample ids collide between {', '.join(map(str, paths))}, and the "
                             "files' names cannot tell them apart; expected files with distinct names or unique ids")
    out = []
    for d, stem, own in zip(parts, stems, ids, strict=True):
        d = d.assign_coords(sample_id=("sample", np.char.add(f"{stem}/", own)))
        d.attrs["sample_id_namespace"] = stem
        out.append(d)
    log.info("sample ids collide between data paths: namespaced as <file stem>/<id>")
    return out


def common_bands(parts: list[xr.Dataset], paths: list[str],
                 wanted: list[str] | None = None) -> tuple[list[xr.Dataset], str]:
    """Keep the bands every part has (or ``wanted``), in one order; record what each part lost.

    Args:
        parts: The study's SampleSets, one per data path (and the test set).
        paths: Their paths, for messages.
        wanted: An explicit band list (the spec's ``bands:``); default: the bands common to all parts.

    Returns:
        The parts restricted to the bands, and a note for the data description ("" when nothing changed).

    Raises:
        CropGlobeError: When a wanted band is missing from a part, or when no band is common to all.
    """
    names = [[str(b) for b in d["band"].values] for d in parts]
    if wanted is not None:
        keep = [_bands.canonical_band(b) for b in wanted]
        for n, p in zip(names, paths, strict=True):
            missing = [b for b in keep if b not in n]
            if missing:
                raise CropGlobeError(f"config: bands {missing} are not in {p} (it has {', '.join(n)}); expected "
                                     "bands every data path has")
    else:
        keep = [b for b in names[0] if all(b in n for n in names[1:])]
        if not keep:
            shown = "; ".join(f"{p}: {', '.join(n)}" for p, n in zip(paths, names, strict=True))
            raise CropGlobeError(f"config: the data paths share no band ({shown}); expected at least one band "
                                 "common to all (or import sets with compatible bands)")
    mixed = _check_levels(parts, paths)
    notes, out = [], []
    for d, n, p in zip(parts, names, paths, strict=True):
        dropped = [b for b in n if b not in keep]
        if n != keep:
            d = d.sel(band=keep)
            d.attrs["bands"] = list(keep)
            d.attrs["bands_dropped"] = dropped
            if dropped:
                notes.append(f"{Path(str(p)).name} without {', '.join(dropped)}")
        out.append(d)
    note = (f"bands used: {', '.join(keep)} ({'the spec' if wanted else 'common to all data paths'}; "
            f"{'; '.join(notes)})") if notes else ""
    if mixed:
        note = f"{note}; {mixed}" if note else mixed
    if note:
        log.info(note)
    return out, note


def _check_levels(parts: list[xr.Dataset], paths: list[str]) -> str:
    """Warn when the parts mix sensors or processing levels; the note to record ("" when they agree)."""
    levels = {(str(d.attrs.get("sensor", "")).removesuffix(" (simulated)"),
               str(d.attrs.get("processing_level", "")).removesuffix(" (simulated)")) for d in parts}
    if len(levels) <= 1:
        return ""
    shown = "; ".join(f"{Path(str(p)).name}: {d.attrs.get('sensor', '?')} {d.attrs.get('processing_level', '?')}"
                      for p, d in zip(paths, parts, strict=True))
    warnings.warn(f"data paths mix sensors / processing levels ({shown}); surface reflectance (L2A) and "
                  "top-of-atmosphere (L1C) values differ, so transfer between them mixes two shifts",
                  UserWarning, stacklevel=3)
    return f"processing levels: {shown}"
