"""Adaptation to a target region without its labels: AdaBN, label-shift priors, seed ensembles.

Every mapping user has the target's *unlabelled* imagery. Two ways to use it, neither of which
sees a target label (the functions here take inputs only, never labels):

* **AdaBN** (Li, Wang, Shi, Liu & Hou, "Revisiting Batch Normalization For Practical Domain
  Adaptation", arXiv:1603.04779): keep every learned parameter and replace the running mean and
  variance of each BatchNorm layer by the statistics of the target's inputs. Here they are the
  cumulative averages over fixed-order batches of the target inputs (``momentum=None``), with
  dropout off; nothing else in the network changes.
* **Phenology offset** (``phenoshift``): the median day of the NDVI peak of the target's
  unlabelled curves minus that of the source's training curves (labels unused) gives a season
  offset; the target's window is read that many days later (or earlier) from its full-year series
  before prediction, as the time shift of Tong & Wang (arXiv:2509.03497) moves a window. The
  offset mixes crop phenology with the class composition of each region, which it cannot see.
* **Class-prior shift** (``prior``; Saerens, Latinne & Decaestecker, "Adjusting the Outputs of a
  Classifier to New a Priori Probabilities: A Simple Procedure", Neural Computation 14(1), 2002):
  the target's class mix differs from the source's (SW France is 68 % ``other``, the Canadian
  Prairies 44 %). Expectation-maximisation over the model's probabilities on the unlabelled target
  estimates the target's class prior and re-weights each probability by the ratio of target to
  training prior. Every model here is trained class-balanced, so the training prior is uniform
  and the re-weighting is ``p(c|x) * pi_t(c)`` renormalised. EM needs calibrated probabilities
  (Alexandari, Kundaje & Shrikumar, ICML 2020, arXiv:1901.06852): under-confident ones (RF vote
  fractions, nets trained with heavy augmentation) make it run away to a degenerate prior. So
  the probabilities are first calibrated by bias-corrected temperature scaling fitted on the
  *source validation* split with a class-balanced NLL
  (:func:`cropglobe.models.ensemble.fit_calibration`; ``calibration_t`` in the rows), then EM.
* **Seed ensembles**: average the class probabilities of the models trained with different seeds
  (Lakshminarayanan, Pritzel & Blundell, "Simple and Scalable Predictive Uncertainty Estimation
  using Deep Ensembles", NeurIPS 2017, arXiv:1612.01474). The members differ in their
  initialisation, batch order, augmentation draws and train / validation split.

Configuration (``adaptation:`` in an experiment spec, :class:`AdaptationSpec`): the methods are
fixed in advance in the config, evaluated side by side with the unadapted model (rows with
``adaptation: none``), and never chosen on target data.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from cropglobe import choices
from cropglobe.choices import AdaptationMethod
from cropglobe.errors import CropGlobeError
from cropglobe.models.ensemble import Calibration, fit_calibration, prior_shift
from cropglobe.study.adaptation import AdaptationSpec as AdaptationSpec  # re-exported: the settings live with the spec

if TYPE_CHECKING:
    from torch import nn

#: Adaptation methods applied to one trained model (ensembles combine several, see ``ensemble``).
METHODS: tuple[str, ...] = choices.values(AdaptationMethod)


def bn_layers(net: nn.Module) -> list[nn.Module]:
    """The BatchNorm layers (1d / 2d / 3d, with running statistics) of ``net``, in module order."""
    from torch import nn

    return [m for m in net.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


def adabn(net: nn.Module, x: np.ndarray, batch_size: int = 512) -> nn.Module:
    """Return a copy of ``net`` whose BatchNorm running statistics are those of the inputs ``x``.

    Source: Li et al. 2016, AdaBN (arXiv:1603.04779). Only ``running_mean``, ``running_var`` and
    ``num_batches_tracked`` of the BatchNorm layers change; weights, biases and every other buffer
    are copied unchanged. The statistics pass runs in float32 with dropout off, over ``x`` in its
    given order, and each layer's momentum is restored afterwards, so the result is deterministic.

    Args:
        net: A trained torch model (not modified).
        x: Unlabelled model-ready inputs of the target (N, ...), e.g. season windows (N, B, T).
        batch_size: Largest statistics batch; the inputs are cut into near-equal batches and the
            statistics averaged over them.

    Returns:
        The adapted copy, in eval mode.

    Raises:
        CropGlobeError: If ``net`` has no BatchNorm layer or ``x`` has fewer than 2 samples.
    """
    import torch

    adapted = copy.deepcopy(net)
    layers = bn_layers(adapted)
    if not layers:
        raise CropGlobeError(f"adabn: {type(net).__name__} has no BatchNorm layer to adapt")
    if len(x) < 2:
        raise CropGlobeError(f"adabn: need at least 2 target samples, got {len(x)}")
    adapted.eval()
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches of this pass
        m.train()
    device = next(adapted.parameters()).device
    n_batches = -(-len(x) // max(int(batch_size), 2))
    with torch.no_grad():  # near-equal batches (never one of a single sample, which has no variance)
        for idx in np.array_split(np.arange(len(x)), n_batches):
            adapted(torch.as_tensor(x[idx], dtype=torch.float32, device=device))
    for m, momentum in zip(layers, momenta, strict=True):
        m.momentum = momentum
    return adapted.eval()


def has_bn(model: Any) -> bool:
    """True for a torch classifier (``model.net``) with at least one BatchNorm layer."""
    net = getattr(model, "net", None)
    return net is not None and bool(bn_layers(net))


def source_calibration(model: Any, x_val: np.ndarray, y_val: np.ndarray, n_classes: int) -> Calibration:
    """The calibration of ``model`` for ``prior``, fitted on its *source* validation inputs and labels.

    See :func:`cropglobe.models.ensemble.fit_calibration` (BCTS, class-balanced NLL).
    """
    return fit_calibration(model.predict_proba(x_val), y_val, n_classes)


def predict_info(model: Any, x: np.ndarray, method: str, batch_size: int = 512,
                 calibration: Calibration | None = None) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Class probabilities (N, C) of ``model`` on the target inputs ``x`` after ``method``, and what to record.

    Args:
        model: A fitted classifier with ``predict_proba`` (torch ones expose ``net``).
        x: The target's model-ready inputs (no labels).
        method: ``none``, ``adabn`` or ``prior``.
        batch_size: Batch size of the AdaBN statistics pass.
        calibration: For ``prior``: applied to the probabilities before EM (fitted on the source
            validation split, :func:`source_calibration`); None: EM on the raw probabilities.

    Returns:
        The probabilities, or None when the method does not apply to this model (AdaBN on a model
        without BatchNorm layers); and a dict to add to the result row (``prior``: the estimated
        target prior as a JSON list over the model's class columns, and ``calibration_t``, the
        fitted temperature, when calibrated).

    Raises:
        CropGlobeError: For an unknown method.
    """
    if method == "none":
        return model.predict_proba(x), {}
    if method == "prior":
        raw = model.predict_proba(x)
        proba, prior = prior_shift(raw if calibration is None else calibration.apply(raw))
        record: dict[str, Any] = {"target_prior": json.dumps([round(float(v), 4) for v in prior])}
        if calibration is not None:
            record["calibration_t"] = round(calibration.t, 4)
        return proba, record
    if method == "adabn":
        if not has_bn(model):
            return None, {}
        from cropglobe.training.lightning import predict_proba_torch

        return predict_proba_torch(adabn(model.net, x, batch_size), x), {}
    raise CropGlobeError(f"adaptation method {method!r} is unknown; expected one of {', '.join(METHODS)}")


def ensemble_proba(members: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of the members' class probabilities (each (N, C), same samples in the same order).

    Raises:
        CropGlobeError: With no member or members of different shapes.
    """
    if not members:
        raise CropGlobeError("ensemble: no member probabilities")
    shapes = {np.shape(m) for m in members}
    if len(shapes) != 1:
        raise CropGlobeError(f"ensemble: members have different shapes {sorted(shapes)}")
    return np.mean(np.stack([np.asarray(m, dtype=np.float64) for m in members]), axis=0)


def ensemble_method_proba(members: dict[str, Sequence[np.ndarray]], method: str,
                          calibrations: Sequence[Calibration] | None = None) -> np.ndarray:
    """The ensemble probability of ``method`` from the members' probabilities per method.

    For ``prior`` the class prior is estimated once, on the mean of the members' *unadapted*
    probabilities (``members["none"]``), rather than averaging separately re-weighted members.
    With ``calibrations`` (one per member, in the members' order, each fitted on that member's
    own source validation split) each member is calibrated first and EM runs on the mean of the
    calibrated members: the seeds' validation splits differ, so no single calibration of the mean
    could be fitted on held-out source data. Every other method averages its own members.
    """
    if method == "prior" and "none" in members:
        plain = members["none"]
        if calibrations is not None:
            if len(calibrations) != len(plain):
                raise CropGlobeError(f"ensemble: {len(calibrations)} calibrations for {len(plain)} members")
            plain = [c.apply(p) for c, p in zip(calibrations, plain, strict=True)]
        return prior_shift(ensemble_proba(plain))[0]
    return ensemble_proba(members[method])


def ensemble_label(method: str) -> str:
    """The ``adaptation`` value of ensemble rows: ``ensemble`` or ``<method>+ensemble``."""
    return "ensemble" if method == "none" else f"{method}+ensemble"


def ndvi_peak_bins(x_full: np.ndarray, bands: Sequence[str], window: tuple[int, int],
                   margin_bins: int = 12) -> np.ndarray:
    """Bin (on the full-year axis) of each sample's NDVI maximum near the season window.

    NDVI = (B8 - B4) / (B8 + B4) (Rouse et al. 1974), smoothed by a 3-bin moving average, searched
    from ``margin_bins`` before the window start to ``margin_bins`` after its end.

    Raises:
        CropGlobeError: If the bands lack B4 or B8.
    """
    names = [str(b) for b in bands]
    if "B4" not in names or "B8" not in names:
        raise CropGlobeError(f"phenoshift: needs bands B4 and B8 for NDVI, got {', '.join(names)}")
    red, nir = x_full[:, names.index("B4")].astype(np.float64), x_full[:, names.index("B8")].astype(np.float64)
    ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
    kernel = np.ones(3) / 3
    smooth = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), 1, ndvi)
    start, count = window
    lo, hi = max(start - margin_bins, 1), min(start + count + margin_bins, x_full.shape[-1] - 1)
    return lo + smooth[:, lo:hi].argmax(axis=1)


def phenology_offset(x_source: np.ndarray, x_target: np.ndarray, bands: Sequence[str], window: tuple[int, int],
                     bin_days: float, max_days: float = 60.0) -> float:
    """Season offset of the target against the source in days: median NDVI-peak day difference.

    Both inputs are unlabelled full-year series (N, B, T_full); the result is clipped to
    ``[-max_days, max_days]``. Positive: the target's season comes later.
    """
    margin = int(round(max_days / bin_days))
    diff = (np.median(ndvi_peak_bins(x_target, bands, window, margin))
            - np.median(ndvi_peak_bins(x_source, bands, window, margin))) * bin_days
    return float(np.clip(diff, -max_days, max_days))


def shifted_windows(x_full: np.ndarray, window: tuple[int, int], offset_days: float, bin_days: float) -> np.ndarray:
    """Season windows read ``offset_days`` later from the full-year series (linear interpolation).

    Zero offset returns ``x_full[..., start:start + count]`` exactly (see
    :func:`cropglobe.augment.align.read`, a shift being equal start and end offsets).
    """
    from cropglobe.augment import align

    return align.read(x_full, window, bin_days, offset_days, offset_days)


def method_inputs(method: str, cell: Any, x: np.ndarray, source_series: np.ndarray, target_series: np.ndarray,
                  bands: Sequence[str], max_days: float = 60.0) -> tuple[np.ndarray, str, dict[str, float]] | None:
    """The inputs and model-level method that score ``method`` on a target, plus what to record.

    ``phenoshift`` returns the target windows moved by :func:`phenology_offset` (the unlabelled
    full-year series of the source's training samples against the target's), as model inputs of
    ``cell`` (a :class:`cropglobe.cells.cell.Cell`: its window, bin width and layout), and ``none``
    as the model-level method, with ``{"phenoshift_days": offset}``; it returns None for feature
    families whose inputs are not season windows. Other methods get ``x`` unchanged.
    """
    if method != "phenoshift":
        return x, method, {}
    if not cell.feature.windowed:
        return None
    days = phenology_offset(source_series, target_series, bands, cell.window, cell.bin_days, max_days)
    moved = shifted_windows(target_series, cell.window, days, cell.bin_days)
    return cell.window_inputs(moved), "none", {"phenoshift_days": days}
