"""The layout of a transfer run folder, in one place (:class:`RunFolder`).

``cropglobe transfer`` writes, and ``cropglobe study adapt``, ``adapt-cell``, ``predict``, ``map`` and the
demo read back::

    RUN_DIR/config.yaml                        the resolved spec (:mod:`cropglobe.study.spec`)
    RUN_DIR/splits/<tag>.json                  split manifest of a source, seed (and fold): :meth:`RunFolder.split_tag`
    RUN_DIR/cells/<key>/                       one trained cell: :meth:`RunFolder.cell_key`
    RUN_DIR/cells/<key>/result.json            its rows (written last: the cell is finished)
    RUN_DIR/cells/<key>/target_proba.npz       its target probabilities (seed ensembles)
    RUN_DIR/cells/<key>/model, recipe.json     the model and its recipe (:mod:`cropglobe.recipe`)

A cell key is ``<source>__<feature>__<model>__<augmentation label>[x<copies>]__s<seed>[_<fold>]``
with a unit's ``:`` written as ``-`` (``FRA-2022__median1d__rf__none__s0``); a split tag is
``<source>_seed<seed>[_<fold>]``. Both floors above (:mod:`cropglobe.experiment`,
:mod:`cropglobe.mapping`) go through this class; it imports neither.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cropglobe.study import regions
from cropglobe.study.spec import CellSpec, ExperimentSpec, load_spec

#: The resolved spec of a run.
CONFIG = "config.yaml"
#: A finished cell's rows.
RESULT = "result.json"
#: A cell's target probabilities (written for seed ensembles).
TARGET_PROBA = "target_proba.npz"


@dataclass(frozen=True)
class CellRun:
    """Where a cell folder comes from in its run: the run, its spec and the cell's source, cell, seed and fold."""

    run: RunFolder
    spec: ExperimentSpec
    cell: CellSpec
    seed: int
    group: list[str]
    fold: str


class RunFolder:
    """One ``cropglobe transfer`` run folder: its paths, its spec and the names of its cells and splits.

    Args:
        path: The run folder (``RUN_DIR``); nothing is read until asked.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @classmethod
    def of_cell(cls, cell_dir: str | os.PathLike) -> RunFolder | None:
        """The run holding ``cell_dir`` (``RUN_DIR/cells/<key>`` with ``RUN_DIR/config.yaml``), or None."""
        cell_dir = Path(cell_dir)
        run = cls(cell_dir.parent.parent)
        return run if cell_dir.parent.name == "cells" and run.config_path.is_file() else None

    # -- the spec ------------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        """``RUN_DIR/config.yaml``."""
        return self.path / CONFIG

    def has_config(self) -> bool:
        """True when the folder holds a run (its ``config.yaml``)."""
        return self.config_path.exists()

    def load_spec(self) -> ExperimentSpec:
        """The run's spec, validated.

        Raises:
            CropGlobeError: For an unreadable or invalid ``config.yaml`` (naming it).
        """
        return load_spec(self.config_path)

    # -- cells ---------------------------------------------------------------------------------------
    @staticmethod
    def cell_key(source: list[str], cell: CellSpec, seed: int, fold: str = "") -> str:
        """Folder name of one cell: source, feature, model, augmentation label (and copies), seed (and fold)."""
        from cropglobe import augment  # defers torch

        aug = augment.label(cell.augmentation) + (f"x{cell.copies}" if cell.copies > 1 else "")
        key = f"{regions.label('+'.join(source))}__{cell.feature}__{cell.model}__{aug}__s{seed}"
        return key + (f"_{fold}" if fold else "")

    @staticmethod
    def row_key(row: Mapping[str, Any]) -> str:
        """The cell key (without fold) of a row of ``results.parquet`` (source, feature, model, augmentation, seed).

        The row's augmentation is already its label, which :meth:`cell_key` keeps as it is; ``copies``
        defaults to 1 (rows written before it was recorded).
        """
        cell = CellSpec(feature=str(row["feature"]), model=str(row["model"]), augmentation=str(row["augmentation"]),
                        copies=int(row.get("copies", 1)))
        return RunFolder.cell_key(str(row["source"]).split("+"), cell, int(row["seed"]))

    @staticmethod
    def cell_name(cell: CellSpec) -> str:
        """``FEATURE__MODEL__AUGMENTATION``: a cell folder's name without source and seed."""
        return RunFolder.cell_key(["XXX"], cell, 0).removeprefix("XXX__").removesuffix("__s0")

    @property
    def cells_dir(self) -> Path:
        """``RUN_DIR/cells``."""
        return self.path / "cells"

    def cell_dir(self, source: list[str], cell: CellSpec, seed: int, fold: str = "") -> Path:
        """``RUN_DIR/cells/<key>`` of one cell (see :meth:`cell_key`)."""
        return self.cells_dir / self.cell_key(source, cell, seed, fold)

    @staticmethod
    def result_path(cell_dir: Path) -> Path:
        """A cell's ``result.json`` (present once the cell is finished)."""
        return cell_dir / RESULT

    @staticmethod
    def target_proba_path(cell_dir: Path) -> Path:
        """A cell's ``target_proba.npz``."""
        return cell_dir / TARGET_PROBA

    def find_cell(self, cell_dir: str | os.PathLike, spec: ExperimentSpec | None = None) -> CellRun | None:
        """The source, cell, seed and fold of the spec whose key is ``cell_dir``'s name, or None.

        Args:
            cell_dir: A cell folder of this run (only its name is compared).
            spec: The run's spec (default: read from ``config.yaml``).
        """
        spec = spec if spec is not None else self.load_spec()
        name = Path(cell_dir).name
        folds = [""] + [f"f{k}" for k in range(spec.folds or 0)]
        for seed in spec.seeds:
            for source in spec.sources:
                group = regions.members(source)
                for cell in spec.cell_list():
                    for fold in folds:
                        if self.cell_key(group, cell, seed, fold) == name:
                            return CellRun(self, spec, cell, seed, group, fold)
        return None

    # -- split manifests -----------------------------------------------------------------------------
    @staticmethod
    def split_tag(group: list[str], seed: int, fold: str = "") -> str:
        """Name of a source group's split manifest (``RUN_DIR/splits/<tag>.json``) for one seed and fold."""
        return f"{regions.label('+'.join(group))}_seed{seed}" + (f"_{fold}" if fold else "")

    def split_path(self, group: list[str], seed: int, fold: str = "") -> Path:
        """``RUN_DIR/splits/<tag>.json``."""
        return self.path / "splits" / f"{self.split_tag(group, seed, fold)}.json"

    def folds(self, group: list[str], seed: int) -> list[str]:
        """The folds (``""`` for a single hold-out) whose split manifests the run wrote for a source and seed."""
        tag = self.split_tag(group, seed)
        names = sorted(p.stem.removeprefix(tag).removeprefix("_") for p in (self.path / "splits").glob(f"{tag}*.json"))
        return names or [""]
