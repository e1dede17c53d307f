"""The example configs shipped with the package, and copying them to a folder of the user's (issue 27).

The wheel carries ``configs/`` of the checkout as package data (``cropglobe/data/configs``: ``demo``,
``realdata``, ``tables``, ``acquire``, ``paper``; in a checkout the last four are links to
``configs/``), so ``cropglobe configs copy DIR`` gives an installed user the same example specs and
import mappings as a clone.
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from cropglobe.atomic import check_replaceable, guarded_path
from cropglobe.errors import CropGlobeError

#: The example sets, in the order ``cropglobe configs list`` shows them, with what each holds.
CONFIG_SETS: dict[str, str] = {
    "demo": "the offline demo's specs (SIMULATED DATA): demo.yaml, tiny.yaml",
    "realdata": "the real-data studies of docs/results.md (cropglobe transfer)",
    "tables": "import mappings for CSV / Parquet tables (cropglobe data import table --mapping) and WorldCereal "
              "legends (cropglobe data import worldcereal --legend)",
    "acquire": "acquisition configs (cropglobe data acquire)",
    "paper": "the paper's protocol on the CropGlobe release (GPU recommended)",
}
#: File kinds that are copied (a checkout's folders may hold caches or editor files).
SUFFIXES = (".yaml", ".yml", ".md")


def packaged_root() -> Path:
    """The folder of the shipped example configs (inside the installed package or the checkout)."""
    return Path(str(resources.files("cropglobe") / "data" / "configs"))


def packaged_files(sets: list[str] | None = None) -> dict[str, Path]:
    """Relative path (``realdata/canada_france.yaml``) -> shipped file, for the named sets (default: all).

    Raises:
        CropGlobeError: For a set name that is not shipped, or a set missing from the installation.
    """
    names = list(CONFIG_SETS) if not sets else sets
    unknown = [n for n in names if n not in CONFIG_SETS]
    if unknown:
        raise CropGlobeError(f"--only {', '.join(unknown)}: no such example set; expected some of "
                             f"{', '.join(CONFIG_SETS)}")
    root = packaged_root()
    found: dict[str, Path] = {}
    for name in names:
        folder = root / name
        if not folder.is_dir():
            raise CropGlobeError(f"{folder}: the example set {name!r} is missing from this installation; "
                                 "expected it as package data (reinstall cropglobe)")
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in SUFFIXES:
                found[f"{name}/{path.name}"] = path
    return found


def copy_configs(dest: str | os.PathLike, sets: list[str] | None = None) -> list[Path]:
    """Copy the shipped example configs into the new folder ``dest`` (one subfolder per set).

    ``dest`` must not exist or be an empty folder: an existing non-empty folder or a file is
    refused before anything is written, and the folder appears only when every file is copied.

    Args:
        dest: The folder to create.
        sets: The example sets to copy (default: all of :data:`CONFIG_SETS`).

    Returns:
        The copied files, under ``dest``.

    Raises:
        CropGlobeError: For an unknown set or a ``dest`` that holds anything.
    """
    files = packaged_files(sets)
    target = Path(dest)
    check_replaceable(target, "copy of the example configs", lambda _p: False, option="DIR",
                      remedy="name a new or empty folder (nothing was copied)")
    with guarded_path(target, "copy of the example configs", lambda _p: False, option="DIR") as tmp:
        for rel, src in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, tmp / rel)  # the file's bytes, never a link into the installation
    return [target / rel for rel in files]
