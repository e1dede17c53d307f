"""Write an AdaBN-adapted copy of a transfer cell, for ``cropglobe map`` / ``cropglobe predict``.

``adapt_cell(CELL, SAMPLES, OUT)`` composites an unlabelled SampleSet of the target region exactly
as the cell's recipe prescribes (:mod:`cropglobe.mapping.predict_table`, the same inputs ``cropglobe
predict`` builds), re-estimates the model's BatchNorm running statistics on those inputs (Li et
al. 2016, AdaBN, arXiv:1603.04779; :func:`cropglobe.experiment.adapt.adabn`) and writes a new
cell folder: the adapted ``model``, the unchanged ``recipe.json`` and ``adaptation.json`` (what
was done, on how many samples). ``cropglobe map OUT CUBE`` then maps with the adapted model and
needs no change. Labels in SAMPLES, if any, are ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cropglobe import models
from cropglobe.atomic import write_text
from cropglobe.errors import CropGlobeError
from cropglobe.experiment.adapt import adabn, bn_layers


def adapt_cell(cell: str | os.PathLike, samples_path: str | os.PathLike, out: str | os.PathLike,
               batch_size: int = 512, min_clear: int | None = None) -> dict[str, Any]:
    """AdaBN-adapt a torch cell to the region of an unlabelled SampleSet and write it to ``out``.

    Args:
        cell: Transfer cell folder (``RUN_DIR/cells/<cell>``) or its ``recipe.json``.
        samples_path: SampleSet Zarr of the target region (observations or composites; labels
            are not read).
        out: New cell folder (must not exist or be empty).
        batch_size: AdaBN statistics batch size.
        min_clear: Minimum clear observations per sample (default: the recipe's).

    Returns:
        The ``adaptation.json`` content.

    Raises:
        CropGlobeError: For a tabular cell or a model without BatchNorm, an existing non-empty
            ``out``, or fewer than 2 usable samples (and any recipe / SampleSet error).
    """
    from cropglobe.mapping.cell import load_recipe
    from cropglobe.mapping.predict_table import composite_like_training, load_samples, model_inputs

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CropGlobeError(f"{out}: exists and is not an empty folder; pick a new folder for the adapted cell")
    recipe = load_recipe(cell)
    if recipe.family != "torch":
        raise CropGlobeError(f"{recipe.path}: {recipe.model!r} is a {recipe.family} model; AdaBN needs a torch "
                             "model with BatchNorm layers")
    net = recipe.load_model()
    if not bn_layers(net):
        raise CropGlobeError(f"{recipe.model_path}: {recipe.model!r} has no BatchNorm layer to adapt")
    ds, _ = load_samples(samples_path)
    full = composite_like_training(ds, recipe, min_clear, where=str(samples_path))
    x, keep = model_inputs(full, recipe)
    if keep.size < 2:
        raise CropGlobeError(f"{samples_path}: {keep.size} usable sample(s) after compositing; AdaBN needs at least 2")
    adapted = adabn(net, x, batch_size)
    out.mkdir(parents=True, exist_ok=True)
    models.save_model(adapted, out / recipe.model_file)
    write_text(out / "recipe.json", recipe.path.read_text(encoding="utf-8"))
    info = {"method": "adabn", "source": "Li et al. 2016, arXiv:1603.04779", "cell": str(recipe.path.parent),
            "samples": str(samples_path), "n_samples": int(keep.size), "n_bn_layers": len(bn_layers(adapted)),
            "batch_size": int(batch_size), "labels_used": False}
    write_text(out / "adaptation.json", json.dumps(info, indent=1))
    return info
