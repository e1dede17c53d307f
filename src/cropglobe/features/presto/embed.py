"""The ``presto`` feature family: frozen Presto embeddings (N, 128) of a composite SampleSet.

Presto (Tseng et al., "Lightweight, Pre-trained Transformers for Remote Sensing Timeseries",
arXiv:2304.14065) is used as a frozen feature extractor, as in the paper's downstream tasks: the
encoder's pooled 128-d output (LayerNorm of the mean over the kept tokens) goes to a classifier
(random forest, LightGBM, MLP ...). Inputs are built by :func:`cropglobe.features.presto.inputs.build_inputs`.

Weights: the ``weights`` option, else the ``CROPGLOBE_PRESTO_WEIGHTS`` environment variable, else
the file ``cropglobe data download presto`` writes (:func:`default_weights_path`). Their sha256 is
recorded in a transfer cell's recipe (:func:`record_options`); a recipe with a ``weights_sha256``
refuses any other file, so ``cropglobe map`` uses the weights the classifier was trained on.

Embeddings are computed in batches (``batch_size``, a progress bar with ``progress``) and cached on
disk (``cache_dir``, else ``CROPGLOBE_PRESTO_CACHE``, else ``~/.cache/cropglobe/presto/embeddings``)
under the sha256 of the inputs, the weights and :data:`VERSION`; a resumed or repeated run reads
them back instead of recomputing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from cropglobe.atomic import atomic_path
from cropglobe.bands import canonical_band
from cropglobe.checks import whole_number
from cropglobe.errors import CropGlobeError
from cropglobe.features.presto.encoder import CHANNELS, load_encoder
from cropglobe.features.presto.inputs import PrestoInputs, build_inputs

log = logging.getLogger(__name__)

ENV_WEIGHTS = "CROPGLOBE_PRESTO_WEIGHTS"
ENV_CACHE = "CROPGLOBE_PRESTO_CACHE"
#: Bumped whenever the inputs or the encoder change what an embedding is (part of the cache key).
VERSION = "presto-embed-1"
_SHA: dict[tuple[str, int, int], str] = {}
_ENCODERS: dict[tuple[str, str], Any] = {}


def default_weights_path() -> Path:
    """Where ``cropglobe data download presto`` puts ``default_model.pt`` (``~/.cache/cropglobe/presto``)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "cropglobe" / "presto" / "default_model.pt"


def resolve_weights(weights: str | os.PathLike | None = None) -> Path:
    """The weights file to use: ``weights``, else ``$CROPGLOBE_PRESTO_WEIGHTS``, else the download location.

    Raises:
        CropGlobeError: When none is given and nothing was downloaded, or the named file is missing.
    """
    if weights is not None and str(weights) != "":
        where = "option presto.weights"
        path = Path(os.path.expanduser(str(weights)))
    elif os.environ.get(ENV_WEIGHTS):
        where = f"${ENV_WEIGHTS}"
        path = Path(os.path.expanduser(os.environ[ENV_WEIGHTS]))
    else:
        path = default_weights_path()
        if not path.is_file():
            raise CropGlobeError(
                "presto: no Presto weights; pass feature_options {presto: {weights: PATH/default_model.pt}}, set "
                f"{ENV_WEIGHTS}, or run `cropglobe data download presto` (expected {path})")
        return path
    if not path.is_file():
        raise CropGlobeError(f"presto: weights file {path} (from {where}) not found; expected Presto's "
                             "default_model.pt (`cropglobe data download presto` fetches it)")
    return path


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file (memoised by path, size and modification time)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _SHA:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _SHA[key] = h.hexdigest()
    return _SHA[key]


def check_sha(path: Path, sha: str, expected: str | None) -> None:
    if expected is not None and str(expected).lower() != sha:
        raise CropGlobeError(
            f"presto: weights {path} have sha256 {sha} but this model was trained on Presto weights with sha256 "
            f"{expected}; use the same default_model.pt (option weights or {ENV_WEIGHTS})")


def encoder_for(path: Path, device: str = "cpu") -> Any:
    """The loaded encoder of a weights file (kept per process, keyed by its sha256 and the device)."""
    key = (file_sha256(path), device)
    if key not in _ENCODERS:
        _ENCODERS[key] = load_encoder(path, device=device)
    return _ENCODERS[key]


def inputs_key(inputs: PrestoInputs, weights_sha: str) -> str:
    """Cache key: sha256 of the input arrays (dtype, shape, bytes), the weights' sha256 and :data:`VERSION`."""
    h = hashlib.sha256(f"{VERSION}:{weights_sha}".encode())
    for a in inputs.arrays():
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def embed_inputs(inputs: PrestoInputs, encoder: Any, batch_size: int = 512, progress: bool = False) -> np.ndarray:
    """Run the encoder over ``inputs`` in batches: (N, 128) float32 embeddings."""
    import torch
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    whole_number(batch_size, "presto: batch_size", minimum=1)
    dev = next(encoder.parameters()).device
    n = len(inputs)
    out = np.empty((n, encoder.dim), dtype=np.float32)
    cols = (TextColumn("presto embeddings"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    t0 = time.perf_counter()
    with Progress(*cols, disable=not progress, transient=False) as bar, torch.inference_mode():
        task = bar.add_task("embed", total=n)
        for s in range(0, n, batch_size):
            sl = slice(s, min(n, s + batch_size))
            x, mask, month, ll, llm = (torch.from_numpy(np.ascontiguousarray(a[sl])).to(dev) for a in inputs.arrays())
            out[sl] = encoder(x, mask, month, latlon=ll, latlon_mask=llm).float().cpu().numpy()
            bar.advance(task, sl.stop - sl.start)
    dt = time.perf_counter() - t0
    if n:
        log.info("presto: %d embeddings in %.2f s (%.0f samples/s)", n, dt, n / max(dt, 1e-9))
    return out


def _cache_dir(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir:
        return Path(os.path.expanduser(str(cache_dir)))
    if os.environ.get(ENV_CACHE):
        return Path(os.path.expanduser(os.environ[ENV_CACHE]))
    return default_weights_path().parent / "embeddings"


def _load_cached(path: Path, n: int, dim: int) -> np.ndarray | None:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    ok = arr.dtype == np.float32 and arr.shape == (n, dim) and np.isfinite(arr).all()
    return arr if ok else None


@dataclass(frozen=True)
class PrestoOptions:
    """The ``presto`` family's options (a recipe's ``feature_options``; see :func:`record_options`).

    Attributes:
        weights: Presto ``default_model.pt`` (default: ``$CROPGLOBE_PRESTO_WEIGHTS``, then the
            download location).
        weights_sha256: Refuse weights whose sha256 differs (recorded by :func:`record_options`).
        latlon: Feed the samples' coordinates (the location token); False drops it.
        batch_size: Samples per forward pass.
        cache: Read/write embeddings in the disk cache.
        cache_dir: Cache folder (default ``$CROPGLOBE_PRESTO_CACHE``, then ``~/.cache/cropglobe/presto/embeddings``).
        progress: Show a progress bar (default: when stderr is a terminal).
        device: ``cpu``, ``cuda``, ``auto`` ...
    """

    weights: str | os.PathLike | None = None
    weights_sha256: str | None = None
    latlon: bool = True
    batch_size: int = 512
    cache: bool = True
    cache_dir: str | None = None
    progress: bool | None = None
    device: str = "cpu"


def presto_features(ds: xr.Dataset, options: PrestoOptions = PrestoOptions()) -> np.ndarray:
    """Frozen Presto embeddings of a season-windowed composite SampleSet, (N, 128) float32.

    Source: Tseng et al., arXiv:2304.14065 (pretrained encoder, mean-pooled 128-d output).

    Args:
        ds: Season-windowed composite (see :func:`cropglobe.features.presto.inputs.build_inputs`).
        options: Weights, cache, batch size, progress and device (:class:`PrestoOptions`).

    Raises:
        CropGlobeError: For missing or mismatched weights or unusable inputs.
    """
    weights, weights_sha256, latlon, batch_size = (options.weights, options.weights_sha256, options.latlon,
                                                   options.batch_size)
    cache, cache_dir, progress, device = options.cache, options.cache_dir, options.progress, options.device
    path = resolve_weights(weights)
    sha = file_sha256(path)
    check_sha(path, sha, weights_sha256)
    inputs = build_inputs(ds, latlon=bool(latlon))
    dim = 128
    target = None
    if cache and len(inputs):
        target = _cache_dir(cache_dir) / f"{inputs_key(inputs, sha)}.npy"
        got = _load_cached(target, len(inputs), dim) if target.is_file() else None
        if got is not None:
            log.info("presto: %d embeddings read from the cache %s", len(inputs), target)
            return got
    show = sys.stderr.isatty() if progress is None else bool(progress)
    out = embed_inputs(inputs, encoder_for(path, _device(str(device))), batch_size=batch_size, progress=show)
    if target is not None:
        try:
            with atomic_path(target) as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, out, allow_pickle=False)
        except OSError as err:  # a read-only cache is not fatal: the embeddings are still returned
            log.warning("presto: cannot write the embedding cache %s (%s)", target, err)
    return out


def record_options(**options: Any) -> dict[str, Any]:
    """Options to store in a recipe: pin the weights' sha256, never touch the disk cache when mapping.

    Called when a transfer cell writes its recipe and again when ``cropglobe map`` loads it; with
    a recorded ``weights_sha256`` the weights found now must have that sha256.

    Raises:
        CropGlobeError: If the weights cannot be found, or differ from the recorded ones.
    """
    path = resolve_weights(options.get("weights"))
    sha = file_sha256(path)
    check_sha(path, sha, options.get("weights_sha256"))
    out = {k: v for k, v in options.items() if k not in ("cache_dir", "progress")}
    out.update(weights_sha256=sha, cache=False)
    return out


def presto_uses(bands: list[str], **options: Any) -> list[str]:
    """The bands the presto family reads: the Sentinel-2 bands Presto knows (and NDVI)."""
    def known(b: str) -> bool:
        try:
            return canonical_band(b) in CHANNELS
        except CropGlobeError:
            return False
    used = [b for b in bands if known(b)]
    return used or list(bands)
