"""Fetch Presto's pretrained weights (``default_model.pt``) from the Hugging Face hub.

The weights of Tseng et al., "Lightweight, Pre-trained Transformers for Remote Sensing
Timeseries" (arXiv:2304.14065, MIT licence) are published with the nasaharvest/presto code
(``data/default_model.pt``; sha256 :data:`PRESTO_SHA256`). :func:`download_presto` fetches the
file with ``huggingface_hub.hf_hub_download`` (repository :data:`REPO_ID` by default; ``repo_id``
and ``filename`` point it elsewhere, e.g. a mirror), checks its sha256 and moves it into place
atomically, so a failed or wrong download leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from cropglobe.atomic import check_replaceable, guarded_path
from cropglobe.errors import CropGlobeError

REPO_ID = "nasaharvest/presto"
FILENAME = "default_model.pt"
#: sha256 of the published ``default_model.pt`` (nasaharvest/presto, also shipped by WorldCereal).
PRESTO_SHA256 = "559c9d76f525bdf2dd3774da8b1e7f1510769b73baacac12e9e4d8d5c67fbe65"


WEIGHTS = "Presto weights file (the published default_model.pt)"


def is_presto_weights(path: Path) -> bool:
    """True for a previous download: the published Presto weights (sha256 :data:`PRESTO_SHA256`)."""
    from cropglobe.features.presto.embed import file_sha256

    try:
        return path.is_file() and file_sha256(path) == PRESTO_SHA256
    except OSError:
        return False


def weights_target(dest: str | os.PathLike | None) -> Path:
    """The file a download to ``dest`` writes (a folder takes ``default_model.pt``)."""
    from cropglobe.features.presto.embed import default_weights_path

    target = Path(dest) if dest is not None else default_weights_path()
    return target / FILENAME if target.is_dir() and not target.is_symlink() else target


def download_presto(dest: str | os.PathLike | None = None, repo_id: str = REPO_ID, filename: str = FILENAME,
                    revision: str | None = None, sha256: str | None = PRESTO_SHA256, overwrite: bool = False) -> Path:
    """Download Presto's weights to ``dest`` (default :func:`cropglobe.features.presto.embed.default_weights_path`).

    Args:
        dest: Destination file (replaced atomically once the download is complete and checked).
        repo_id: Hugging Face hub repository holding the file.
        filename: Path of the weights inside the repository.
        revision: Branch, tag or commit of the repository.
        sha256: Expected sha256 (None: accept any file, e.g. fine-tuned weights).
        overwrite: Replace a file at the destination that is not the published weights (checked
            before the download starts).

    Returns:
        The destination file.

    Raises:
        CropGlobeError: One message when the hub cannot be reached, the file is not found, or its
            sha256 differs (nothing is written in these cases), or when the destination holds
            something other than the published weights and ``overwrite`` is not set.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled
    from huggingface_hub.utils import logging as hf_logging

    from cropglobe.features.presto.embed import file_sha256

    target = weights_target(dest)
    check_replaceable(target, WEIGHTS, is_presto_weights, overwrite)  # before the download
    with tempfile.TemporaryDirectory(prefix="presto-dl-") as tmp:
        level = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # the hub's retry warnings; a failure is reported as one line below
        try:
            got = hf_hub_download(repo_id=repo_id, filename=filename, revision=revision, local_dir=tmp)
        except (LocalEntryNotFoundError, OfflineModeIsEnabled, HfHubHTTPError, OSError) as err:
            first = str(err).splitlines()[0] if str(err) else "no detail"
            raise CropGlobeError(
                f"cannot download Presto weights {repo_id}/{filename} from the Hugging Face hub ({type(err).__name__}: "
                f"{first}); check the internet connection (or HF_ENDPOINT / HF_HUB_OFFLINE), or copy default_model.pt "
                f"from github.com/nasaharvest/presto (data/) and set CROPGLOBE_PRESTO_WEIGHTS") from None
        finally:
            hf_logging.set_verbosity(level)
        if sha256 is not None and file_sha256(got) != sha256.lower():
            raise CropGlobeError(f"{repo_id}/{filename}: sha256 {file_sha256(got)} differs from the published Presto "
                                 f"weights ({sha256}); nothing written (pass sha256=None / --any-sha256 to accept it)")
        with guarded_path(target, WEIGHTS, is_presto_weights, overwrite) as part:
            shutil.copyfile(got, part)
    return target
