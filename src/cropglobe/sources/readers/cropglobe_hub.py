"""Download the CropGlobe release (Tong & Wang, arXiv:2509.03497) from the Hugging Face hub.

Uses ``huggingface_hub.snapshot_download`` on the dataset repository ``x-ytong/CropGlobe``. The
files land in a temporary sibling of the destination and are moved into place only when the
download finished (:func:`cropglobe.atomic.atomic_path`), so a failed download leaves nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cropglobe.atomic import check_replaceable, guarded_path
from cropglobe.errors import CropGlobeError

REPO_ID = "x-ytong/CropGlobe"
#: Written into every download folder, so that a later download may replace it.
MARKER = ".cropglobe-download"
FOLDER = "CropGlobe download folder"


def is_download_folder(path: Path) -> bool:
    """True for a previous :func:`download_cropglobe` folder: its marker and nothing but hub files.

    Hub files are the release's ``.npz`` / ``.md`` files, ``.gitattributes`` and the hub's ``.cache``.
    """
    if not path.is_dir() or not (path / MARKER).is_file():
        return False
    for p in path.rglob("*"):
        rel = p.relative_to(path)
        if rel.parts[0] in (".cache", MARKER) or p.is_dir():
            continue
        if p.suffix.lower() not in (".npz", ".md") and p.name != ".gitattributes":
            return False
    return True


def patterns_for(countries: Sequence[str] | None) -> list[str] | None:
    """Return ``allow_patterns`` selecting the given countries' files (None = everything)."""
    if not countries:
        return None
    codes = [c.strip().upper() for c in countries if c.strip()]
    bad = [c for c in codes if len(c) != 3 or not c.isalpha()]
    if bad:
        raise CropGlobeError(f"countries {bad}: expected ISO 3166 alpha-3 codes such as 'FRA'")
    return [p for c in codes for p in (f"*_{c}_*", f"*/*_{c}_*", f"*{c}*.md")]


def download_cropglobe(
    dest: str | os.PathLike,
    countries: Sequence[str] | None = None,
    revision: str | None = None,
    repo_id: str = REPO_ID,
    overwrite: bool = False,
) -> Path:
    """Download the CropGlobe release (or some countries' files) into ``dest``.

    Args:
        dest: Destination folder (replaced atomically when the download completes).
        countries: ISO3 codes to fetch (default: all files).
        revision: A branch, tag or commit of the dataset repository.
        repo_id: The hub dataset repository.
        overwrite: Replace a non-empty ``dest`` that is not a previous download (checked before
            the download starts).

    Returns:
        The destination folder.

    Raises:
        CropGlobeError: One message when the hub cannot be reached or the repository/revision is
            not found (nothing is written in that case), or when ``dest`` holds anything but a
            previous download and ``overwrite`` is not set.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    patterns = patterns_for(countries)
    check_replaceable(dest, FOLDER, is_download_folder, overwrite)  # before the download
    try:
        with guarded_path(dest, FOLDER, is_download_folder, overwrite) as tmp:
            snapshot_download(repo_id=repo_id, repo_type="dataset", revision=revision,
                              local_dir=tmp, allow_patterns=patterns)
            files = [p for p in Path(tmp).rglob("*") if p.is_file() and ".cache" not in p.parts]
            if not files:
                raise CropGlobeError(f"{repo_id}: no files match countries {list(countries or [])} "
                                     "(expected files named like median_S2_{ISO3}_month1-12_day5.npz)")
            (Path(tmp) / MARKER).write_text(f"downloaded from {repo_id} by cropglobe download\n", encoding="utf-8")
    except CropGlobeError:
        raise
    except (LocalEntryNotFoundError, OfflineModeIsEnabled, HfHubHTTPError, OSError) as err:
        raise CropGlobeError(
            f"cannot download dataset {repo_id} from the Hugging Face hub ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else 'no detail'}); check the internet connection "
            "(or HF_ENDPOINT / HF_HUB_OFFLINE), or fetch the .npz files elsewhere and import them with "
            "'cropglobe data import cropglobe FILE'"
        ) from None
    return Path(dest)
