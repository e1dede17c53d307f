"""Safe model persistence: weights and a JSON spec, loaded without executing code from the file.

Models are shared between users, so a model file must not be able to run code when loaded
(a plain pickle can: its ``__reduce__`` may call ``os.system``). Torch models are saved as a
``torch.save`` archive holding only a format tag, the :class:`ModelSpec` as a JSON string and the
``state_dict`` tensors, and are loaded with ``torch.load(..., weights_only=True)``, whose
restricted unpickler refuses any other object; the network is rebuilt from the registry code and
the weights are copied in with ``strict=True``. Tabular models use LightGBM model text or skops
with a type allow-list (:mod:`cropglobe.models.tabular`).
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cropglobe.atomic import atomic_path
from cropglobe.checks import not_a_file
from cropglobe.errors import CropGlobeError
from cropglobe.models.registry import build, model_info
from cropglobe.models.spec import ModelSpec
from cropglobe.models.tabular import TabularClassifier, is_tabular_file

FORMAT = "cropglobe-torch-v1"


def save_torch(model: Any, spec: ModelSpec | None, path: str | os.PathLike) -> Path:
    """Write a torch model's weights and spec atomically to ``path``.

    Args:
        model: An ``nn.Module`` built by :func:`~cropglobe.models.get_model`.
        spec: The spec to record (e.g. ``model.cropglobe_spec.with_labels(bands, classes)``);
            ``None`` uses ``model.cropglobe_spec``.
        path: Output file (conventionally ``*.pt``).

    Raises:
        CropGlobeError: If no spec is available or it does not describe a torch model.
    """
    import torch

    spec = spec if spec is not None else getattr(model, "cropglobe_spec", None)
    if not isinstance(spec, ModelSpec):
        raise CropGlobeError("save_torch needs a ModelSpec (the model was not built by get_model)")
    if model_info(spec.name).family != "torch":
        raise CropGlobeError(f"save_torch: {spec.name!r} is not a torch model")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "spec": spec.to_json(), "state_dict": state}, tmp)
    return Path(path)


def load_torch(path: str | os.PathLike, expect_bands: Sequence[str] | int | None = None,
               expect_classes: Sequence[str] | int | None = None) -> Any:
    """Load a torch model written by :func:`save_torch`, in eval mode.

    The spec is available as ``model.cropglobe_spec``.

    Args:
        path: Model file.
        expect_bands: Band names (or count) of the data it will be applied to.
        expect_classes: Class names (or count) the caller expects.

    Raises:
        CropGlobeError: If the file holds anything but weights and a spec (e.g. a pickled object
            that would run code), is not a cropglobe model, or its bands/classes differ.
    """
    import torch

    where = str(path)
    _check_file(path, "a cropglobe torch model file")
    if is_tabular_file(path):
        raise CropGlobeError(f"{where}: {describe(path)}; expected a cropglobe torch model file "
                             "(torch.save zip archive)")
    if not zipfile.is_zipfile(path):  # legacy/plain pickles are refused before any unpickling
        raise CropGlobeError(f"{where}: not a torch model file: {describe(path)}; expected a torch.save zip archive")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CropGlobeError(f"{where}: refusing to load: the file contains Python objects other "
                             f"than weights (weights_only load failed: {first})") from None
    except Exception as exc:  # torch raises many types on corrupt archives
        raise CropGlobeError(f"{where}: not a torch model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CropGlobeError(f"{where}: not a cropglobe torch model (format field must be {FORMAT!r})")
    spec = ModelSpec.from_json(blob.get("spec"), where)
    if model_info(spec.name).family != "torch":
        raise CropGlobeError(f"{where}: spec names {spec.name!r}, which is not a torch model")
    spec.check(expect_bands, expect_classes, where)
    state = blob.get("state_dict")
    if not isinstance(state, dict):
        raise CropGlobeError(f"{where}: state_dict missing")
    model = build(spec, init=False)  # the saved weights replace any pretrained ones
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CropGlobeError(f"{where}: weights do not match a {spec.name!r} model with "
                             f"{spec.n_bands} bands, {spec.n_times} times, {spec.n_classes} classes "
                             f"({str(exc).splitlines()[0]})") from None
    return model.eval()


def save_model(model: Any, path: str | os.PathLike, bands: Sequence[str] | None = None,
               class_names: Sequence[str] | None = None) -> Path:
    """Save a torch or tabular model built by the registry, recording band and class names."""
    if isinstance(model, TabularClassifier):
        return model.save(path, bands, class_names)
    spec = getattr(model, "cropglobe_spec", None)
    if not isinstance(spec, ModelSpec):
        raise CropGlobeError("save_model: the model was not built by cropglobe.models.get_model")
    return save_torch(model, spec.with_labels(bands, class_names), path)


def _check_file(path: str | os.PathLike, expected: str) -> None:
    if not Path(path).is_file():
        raise not_a_file(path, expected) if Path(path).exists() else CropGlobeError(f"{path}: model file not found")


def describe(path: str | os.PathLike) -> str:
    """What a model file is, for messages: a tabular or torch model (and which), another zip, or other bytes."""
    try:
        if is_tabular_file(path):
            with zipfile.ZipFile(path) as zf:
                header = json.loads(zf.read("cropglobe.json"))
            name = header.get("spec", {}).get("name") if isinstance(header, dict) else None
            return f"a cropglobe tabular model file ({name or 'unknown model'})"
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
            if any(n.endswith("data.pkl") for n in names):
                return "a torch.save zip archive"
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            return f"a zip archive of {len(names)} member(s) ({shown}) that is no cropglobe model"
        size = Path(path).stat().st_size
    except (OSError, ValueError, AttributeError, zipfile.BadZipFile):
        return "an unreadable file"
    return f"a file of {size:,} bytes that is not a zip archive"


def load_model(path: str | os.PathLike, expect_bands: Sequence[str] | int | None = None,
               expect_classes: Sequence[str] | int | None = None, expect_model: str | None = None) -> Any:
    """Load any model written by :func:`save_model` (torch or tabular), never unpickling code.

    Args:
        path: Model file.
        expect_bands: Band names (or count) of the data it will be applied to.
        expect_classes: Class names (or count) the caller expects.
        expect_model: The registry name the caller expects (a cell's recipe names it): a file of the
            other family is refused with a message saying what the file is and what was expected.

    Raises:
        CropGlobeError: For a missing file, a file that is no cropglobe model, or one of the other family.
    """
    _check_file(path, "a cropglobe model file" + (f" ({expect_model})" if expect_model else ""))
    family = model_info(expect_model).family if expect_model else None
    tabular = is_tabular_file(path)
    if family is not None and (family == "tabular") != tabular:
        kind = "a cropglobe tabular model file (zip with cropglobe.json)" if family == "tabular" \
            else "a cropglobe torch model file (torch.save zip archive)"
        raise CropGlobeError(f"{path}: {describe(path)}; expected {kind} for model {expect_model!r}")
    if tabular:
        return TabularClassifier.load(path, expect_bands, expect_classes)
    return load_torch(path, expect_bands, expect_classes)
