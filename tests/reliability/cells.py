"""A tiny trained cell (random forest on harmonic features of SIMULATED FRA samples) for command-level tests."""

from __future__ import annotations

import json
from pathlib import Path


def tiny_cell(cell: Path, seed: int = 5, feature: str = "harmonic") -> Path:
    """Train a 5-tree random forest on simulated FRA and write ``model`` + ``recipe.json`` like a transfer cell
    (``feature``: a vector family, e.g. ``median1d`` for ``--adapt align``)."""
    from cropglobe import models, samples, taxonomy
    from cropglobe.features import families as features
    from cropglobe.sources import simulate
    from cropglobe.temporal import composite, season

    full = composite.composite(simulate.simulate(["FRA"], samples_per_class=8, seed=seed))
    x = features.get_feature(feature).fn(season.season(full))
    m = models.get_model("rf", x.shape[1], 1, len(taxonomy.CLASSES), n_estimators=5)
    m.fit(x, samples.label_codes(full))
    cell.mkdir(parents=True, exist_ok=True)
    m.save(cell / "model", None, list(taxonomy.CLASSES))
    recipe = {"model_file": "model", "model": "rf", "feature": feature, "feature_options": {}, "flatten": False,
              "bands": [str(b) for b in full["band"].values], "classes": list(taxonomy.CLASSES),
              "composite": {"interval": 5, "window": "05-01:11-30", "align": "hemisphere", "clear_threshold": 0.75},
              "window_bins": list(season.window_bins(full)), "bin_days": 5}
    (cell / "recipe.json").write_text(json.dumps(recipe), encoding="utf-8")
    return cell


def snapshot(path: Path) -> dict[str, bytes | str]:
    """Every file's bytes under ``path`` (or the file itself) and every link's target, to compare before/after."""
    if path.is_symlink():
        return {".": f"link -> {path.readlink()}"}
    if path.is_file():
        return {".": path.read_bytes()}
    return {str(p.relative_to(path)): (f"link -> {p.readlink()}" if p.is_symlink() else
                                       p.read_bytes() if p.is_file() else "dir")
            for p in sorted(path.rglob("*"))}
