"""Training of torch models with PyTorch Lightning behind a ``fit`` / ``predict_proba`` interface.

Protocol of Tong & Wang (arXiv:2509.03497): Adam (lr 1e-4), batch 256, 50 epochs, class-balanced
cross-entropy, the checkpoint with the best validation macro-F1 kept. Phenology augmentation
(:mod:`cropglobe.augment`) is applied on the fly to each training batch on the full-year series
and cut to the season window; validation data are never augmented and are disjoint from training
by construction (:mod:`cropglobe.training.splits`).

Determinism and resumption: the shuffling order, the augmentation draws and the dropout masks
are seeded from ``(seed, epoch, batch)``, so a run resumed from its last
checkpoint gives the same weights as an uninterrupted one. The same code runs on CPU, one GPU or
several GPUs or CPU processes: under DDP (Lightning replaces the sampler with a seeded
``DistributedSampler``) ``batch_size`` stays the global batch, split across the processes, each
process draws its own augmentation and dropout, and validation gathers every sample exactly once.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from cropglobe import models
from cropglobe.errors import CropGlobeError
from cropglobe.training import metrics
from cropglobe.training.settings import PRECISIONS, RESOLVED_INFERENCE, Precision, TrainSettings

log = logging.getLogger(__name__)


class EpochLines(L.Callback):
    """One plain line per epoch (epoch, train loss, validation macro-F1): progress for logs and ``nohup``.

    Used instead of progress bars when standard output is not a terminal; printed by the rank-zero
    process only.
    """

    def __init__(self, write: Callable[[str], None] | None = None) -> None:
        self.write = write or functools.partial(print, flush=True)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        m = trainer.callback_metrics
        parts = [f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"]
        for key, label in (("train_loss", "train loss"), ("val_macro_f1", "val macro-F1")):
            if key in m:
                parts.append(f"{label} {float(m[key]):.4f}")
        head, rest = parts[0], parts[1:]
        self.write(head + (": " + ", ".join(rest) if rest else ""))


def _loggers(log_dir: str | os.PathLike | None) -> list[Any]:
    """Lightning loggers in ``log_dir/logs``: CSV always, TensorBoard too when it is installed (none without a folder).

    Each fit, a resumed one included, writes its own ``version_<k>`` folder (earlier logs are kept).
    """
    if log_dir is None:
        return []
    from lightning.pytorch.loggers import CSVLogger

    found: list[Any] = [CSVLogger(save_dir=log_dir, name="logs")]
    try:
        import tensorboard  # noqa: F401  (optional: Lightning's TensorBoardLogger needs it)
    except ImportError:
        return found
    from lightning.pytorch.loggers import TensorBoardLogger

    return [*found, TensorBoardLogger(save_dir=log_dir, name="logs", version=found[0].version)]


def _progress_mode(progress: bool) -> tuple[bool, bool]:
    """(progress bar, epoch lines): a bar on a terminal, plain lines otherwise, neither without progress."""
    import sys

    tty = bool(getattr(sys.stdout, "isatty", lambda: False)())
    return progress and tty, progress and not tty


class _NoTips(logging.Filter):
    """Drop Lightning's advertising tips from the log; keep everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in record.getMessage()


def _hide_tips() -> None:
    """Install the :class:`_NoTips` filter on Lightning's rank-zero logger (once; at fit time, not on import)."""
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _NoTips) for f in logger.filters):
        logger.addFilter(_NoTips())


#: Open-set placeholders: (windows, labels, generator) -> the batch with placeholders appended.
Placeholders = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


class Augmenter(Protocol):
    """The on-the-fly augmentation of training batches (:class:`cropglobe.augment.transforms.Augment`).

    Attributes:
        unknowns: Open-set placeholders the trainer appends to each augmented training batch
            (:mod:`cropglobe.augment.placeholders`, labelled ``other``), or None.
    """

    unknowns: Placeholders | None

    def __call__(self, x_full: torch.Tensor, window: tuple[int, int], bin_days: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment a batch of full-year series (N, B, T_full) and return its season windows."""
        ...


@dataclass(frozen=True)
class InputLayout:
    """How stored training rows become the model's inputs.

    Attributes:
        window: ``(start, count)`` bins of the season window inside the full-year axis; None: the rows
            are model inputs already.
        bin_days: Bin width in days (converts augmentation parameters).
        flatten: Flatten (B, T) windows to vectors (1D median features).
    """

    window: tuple[int, int] | None = None
    bin_days: float = 5.0
    flatten: bool = False


@dataclass(frozen=True)
class FitData:
    """Training and validation arrays of :func:`fit_torch`.

    Attributes:
        x: Training inputs: full-year series (N, B, T_full) when the layout has a window, else model inputs.
        y: Training class indices.
        x_val: Validation inputs (same layout as ``x``).
        y_val: Validation class indices.
    """

    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@functools.lru_cache(maxsize=1)
def _cpu_has_bf16() -> bool:
    """True when the CPU has bfloat16 matrix or vector units (AMX-BF16 or AVX512-BF16, Linux flags)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(precision: str = Precision.AUTO, accelerator: str = "auto") -> str:
    """Turn a precision setting into the Lightning ``precision`` a run uses.

    ``"auto"`` is ``"bf16-mixed"`` (bfloat16 autocast, float32 weights and optimiser state) where
    the hardware runs bfloat16 well — a CUDA GPU that supports it, or a CPU with AMX-BF16 /
    AVX512-BF16 units (about 3x the float32 throughput of CropNet here) — and ``"32-true"``
    otherwise. Other values are returned unchanged.

    Raises:
        ValueError: For a value outside :data:`PRECISIONS`.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision={str(precision)!r}: expected one of {', '.join(PRECISIONS)}")
    if precision != Precision.AUTO:
        return Precision(precision).value
    gpu = accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    if gpu:
        return (Precision.BF16_MIXED if torch.cuda.is_bf16_supported() else Precision.FP32).value
    return (Precision.BF16_MIXED if _cpu_has_bf16() else Precision.FP32).value


class ArrayPairs(Dataset):
    """In-memory (x, y) tensors with batched fetching (``__getitems__``): one gather per batch."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]

    def __getitems__(self, idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(idx, dtype=torch.long)
        return self.x[index], self.y[index]


def _keep_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return batch


class EpochSeededSampler(Sampler[int]):
    """Random permutation drawn from ``(seed, epoch)``: the same order after a resume."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of ``epoch`` (Lightning calls this every epoch)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


def class_weights(y: np.ndarray, n_classes: int) -> torch.Tensor:
    """Class-balanced cross-entropy weights ``n / (k * count_c)`` (0 for classes absent in training)."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes).astype(np.float64)
    present = counts > 0
    w = np.zeros(n_classes)
    w[present] = counts.sum() / (present.sum() * counts[present])
    return torch.as_tensor(w, dtype=torch.float32)


class CropClassifierModule(L.LightningModule):
    """LightningModule: augmentation on the full-year batch, windowing, class-balanced CE, val macro-F1."""

    def __init__(self, net: nn.Module, weights: torch.Tensor, settings: TrainSettings, layout: InputLayout,
                 augment: Augmenter | None) -> None:
        """Wrap ``net``.

        Args:
            net: The torch model.
            weights: Class weights of the cross-entropy (a buffer: saved in checkpoints as ``ce_weights``).
            settings: ``lr``, ``weight_decay`` and ``seed`` are read (no hyper-parameters are saved:
                checkpoints hold the state dict, read back by :func:`fit_torch`).
            layout: The training rows' window, bin width and flattening.
            augment: On-the-fly augmentation of training batches, or None.
        """
        super().__init__()
        self.net = net
        self.register_buffer("ce_weights", weights)
        self.lr, self.weight_decay, self.seed = settings.lr, settings.weight_decay, settings.seed
        self.window, self.bin_days, self.flatten = layout.window, layout.bin_days, layout.flatten
        self.augment = augment
        self._val_pred: list[torch.Tensor] = []
        self._val_true: list[torch.Tensor] = []

    def inputs(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Turn a stored batch into model inputs: augment or cut the window, flatten if needed."""
        return self._flat(self._window(x, generator))

    def _window(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if self.window is not None:
            start, count = self.window
            if generator is not None and self.augment is not None:
                x = self.augment(x, window=(start, count), bin_days=self.bin_days, generator=generator)
            else:
                x = x[..., start:start + count]
        return x

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) if self.flatten else x

    def training_inputs(self, x: torch.Tensor, y: torch.Tensor,
                        generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """A training batch's inputs and labels: time-augmented windows, then the open-set
        placeholders of :mod:`cropglobe.augment.placeholders` when the augmenter has them."""
        x = self._window(x, generator)
        unknowns = self.augment.unknowns if self.augment is not None else None
        if unknowns is not None and generator is not None:
            x, y = unknowns(x, y, generator)
        return self._flat(x), y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the wrapped network."""
        return self.net(x)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        # dropout masks from (seed, epoch, batch): independent of whatever else drew from the global
        # RNG before this batch (data-loader iterators do), so a resumed run repeats them exactly
        torch.manual_seed((self.seed * 7_919 + self.current_epoch) * 100_003 + batch_idx + self._rank_offset())

    def _rank_offset(self) -> int:
        """Seed offset of this DDP process (0 on rank 0, so one process draws what it always drew)."""
        return self.global_rank << 40

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        g = None
        if self.augment is not None and self.window is not None:
            g = torch.Generator(device=x.device)
            g.manual_seed((self.seed * 1_000_003 + self.current_epoch) * 100_003 + batch_idx + self._rank_offset())
        x, y = self.training_inputs(x, y, g)
        logits = self.net(x)
        loss = nn.functional.cross_entropy(logits, y, weight=self.ce_weights)
        self.log("train_loss", loss, prog_bar=True, on_step=False, on_epoch=True, batch_size=y.shape[0])
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self._val_pred.append(self.net(self.inputs(x)).argmax(1).cpu())
        self._val_true.append(y.cpu())

    def _gathered(self, parts: list[torch.Tensor]) -> np.ndarray:
        """This epoch's per-sample validation values of all processes, each sample once, in order.

        Lightning's ``DistributedSampler`` (no shuffle) hands rank ``r`` samples ``r, r + W, ...``
        and pads the last round with the first samples; interleaving the ranks and cutting at the
        set's length undoes both.
        """
        local = torch.cat(parts)
        parts.clear()
        if self.trainer.world_size == 1:
            return local.numpy(force=True)
        every = self.all_gather(local)  # (world_size, n_per_rank)
        n = len(self.trainer.val_dataloaders.dataset)
        return every.transpose(0, 1).reshape(-1)[:n].numpy(force=True)

    def on_validation_epoch_end(self) -> None:
        pred = self._gathered(self._val_pred)
        true = self._gathered(self._val_true)
        self.log("val_macro_f1", metrics.macro_f1(true, pred), prog_bar=True, sync_dist=False)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.net.parameters(), lr=self.lr, weight_decay=self.weight_decay)


def fit_torch(net: nn.Module, data: FitData, n_classes: int, settings: TrainSettings, ckpt_dir: str | os.PathLike,
              layout: InputLayout = InputLayout(), augment: Augmenter | None = None,
              resume: bool = False) -> dict[str, Any]:
    """Train ``net`` with Lightning and load the weights of the best-validation-macro-F1 epoch.

    Args:
        net: The torch model (from :func:`cropglobe.models.get_model`).
        data: Training and validation inputs and class indices (:class:`FitData`).
        n_classes: Number of classes.
        settings: Optimisation settings. With ``settings.log_dir``, the epochs' metrics go to
            ``log_dir/logs/version_<k>/metrics.csv`` (Lightning's CSVLogger). With ``settings.progress``,
            a progress bar when standard output is a terminal, else one plain line per epoch.
        ckpt_dir: Folder for ``last.ckpt`` and the best checkpoint.
        layout: The season window inside the full-year axis, the bin width and flattening (:class:`InputLayout`).
        augment: On-the-fly augmentation applied to training batches.
        resume: Continue from ``ckpt_dir/last.ckpt`` when it exists.

    Returns:
        ``{"best_epoch", "best_val_macro_f1", "epochs", "precision", "val_classes"}`` (the Lightning
        precision used; the number of classes in the validation set, whose chance macro-F1 is ``1 / val_classes``).
    """
    _hide_tips()
    ckpt_dir = Path(ckpt_dir)
    precision = resolve_precision(settings.precision, settings.accelerator)
    L.seed_everything(settings.seed, workers=True, verbose=False)
    net.train()  # Lightning keeps each module's mode: a fitted (eval-mode) net fine-tuned again must train
    x, y, x_val, y_val = data.x, data.y, data.x_val, data.y_val
    module = CropClassifierModule(net, class_weights(y, n_classes), settings, layout, augment)
    train_set = ArrayPairs(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long))
    val_set = ArrayPairs(torch.as_tensor(x_val, dtype=torch.float32), torch.as_tensor(y_val, dtype=torch.long))
    best = L.pytorch.callbacks.ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val_macro_f1",
                                               mode="max", save_top_k=1)
    # the latest epoch, every epoch (Lightning's save_last only refreshes when a top-k file is saved)
    latest = L.pytorch.callbacks.ModelCheckpoint(dirpath=ckpt_dir, filename="last", monitor=None, save_top_k=1,
                                                 every_n_epochs=1, enable_version_counter=False)
    bar, lines = _progress_mode(settings.progress)
    loggers = _loggers(settings.log_dir)
    trainer = L.Trainer(
        max_epochs=settings.epochs, accelerator=settings.accelerator, devices=settings.devices,
        strategy=settings.strategy, precision=precision,
        callbacks=[best, latest, *([EpochLines()] if lines else []), *settings.callbacks],
        logger=loggers or False, log_every_n_steps=1, enable_progress_bar=bar, enable_model_summary=False,
        deterministic="warn", num_sanity_val_steps=0, default_root_dir=ckpt_dir,
    )
    world = trainer.num_devices * trainer.num_nodes  # DDP processes (world_size is set only inside fit)
    batch = -(-settings.batch_size // world)  # the global batch split across them
    # a trailing batch of one sample is dropped: BatchNorm cannot train on it (any other size is kept)
    train_loader = DataLoader(train_set, batch_size=batch, drop_last=len(train_set) % batch == 1,
                              sampler=EpochSeededSampler(len(train_set), settings.seed), collate_fn=_keep_batch)
    val_loader = DataLoader(val_set, batch_size=max(batch, 512), collate_fn=_keep_batch)
    last = ckpt_dir / "last.ckpt"
    start = str(last) if resume and last.exists() else None
    if start is not None:
        load_checkpoint(last)  # a truncated or unsafe checkpoint is one clear error, before Lightning sees it
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*exists and is not empty.*")  # resuming into ckpt_dir
        # weights_only=True explicitly: TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD cannot turn on unpickling
        trainer.fit(module, train_loader, val_loader, ckpt_path=start, weights_only=True)
    ckpt = load_checkpoint(Path(best.best_model_path))
    net.load_state_dict({k.removeprefix("net."): v for k, v in ckpt["state_dict"].items() if k.startswith("net.")})
    net.eval()
    # from the file: under ddp_spawn the main process gets the best path back but not the score
    score = ckpt["callbacks"][best.state_key]["best_model_score"]
    return {"best_epoch": int(ckpt["epoch"]), "best_val_macro_f1": float(score),
            "epochs": settings.epochs, "precision": precision, "val_classes": int(np.unique(y_val).size)}


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a Lightning checkpoint without unpickling (``weights_only=True``, whatever the environment).

    Raises:
        CropGlobeError: When the file is truncated or corrupt, or holds objects other than weights
            (a checkpoint that would run code when unpickled is never loaded).
    """
    import pickle

    remedy = f"delete {path.parent} to restart this cell from scratch"
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CropGlobeError(f"{path}: not a plain-weights checkpoint, refusing to unpickle it ({first}); "
                             f"{remedy}") from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CropGlobeError(f"{path}: truncated or corrupt checkpoint ({first}); {remedy}") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CropGlobeError(f"{path}: not a Lightning checkpoint (no state_dict); {remedy}")
    return ckpt


#: Precisions of :func:`predict_proba_torch` (float32 by default; bfloat16 autocast on request).
INFERENCE_PRECISIONS = RESOLVED_INFERENCE


@torch.inference_mode()
def predict_proba_torch(net: nn.Module, x: np.ndarray, batch_size: int = 1024,
                        precision: str = Precision.FP32) -> np.ndarray:
    """Softmax probabilities (N, C) of a torch model on model-ready inputs, in eval mode.

    Args:
        net: The torch model.
        x: Model-ready inputs.
        batch_size: Samples per forward pass.
        precision: ``"32-true"`` (the default: float32 throughout) or, opt-in, ``"bf16-mixed"``:
            the forward pass under ``torch.autocast`` in bfloat16 on the model's device (what
            Lightning's ``bf16-mixed`` does; float32 weights), the softmax in float32. bfloat16
            keeps 8 mantissa bits, so probabilities move by about 1e-2 and near-ties can flip;
            it is faster only on bf16 hardware (AMX-BF16 / AVX512-BF16 CPUs, recent GPUs).

    Raises:
        ValueError: For a precision outside :data:`INFERENCE_PRECISIONS`.
    """
    if precision not in INFERENCE_PRECISIONS:
        raise ValueError(f"precision={str(precision)!r}: expected one of {', '.join(INFERENCE_PRECISIONS)}")
    net.eval()
    device = next(net.parameters()).device
    out = []
    for i in range(0, len(x), batch_size):
        xb = torch.as_tensor(x[i:i + batch_size], dtype=torch.float32, device=device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == Precision.BF16_MIXED):
            logits = net(xb)
        out.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 0), dtype=np.float32)


class TorchClassifier:
    """A registry torch model behind the same ``fit`` / ``predict_proba`` / ``save`` face as tabular ones.

    Args:
        name: Registry name (``cropnet``, ``cropnet-lite``, ``tempcnn`` ...).
        n_bands: Bands of the model input (features per sample for vector models).
        n_times: Time bins of the model input (1 for vector models).
        n_classes: Number of classes.
        options: Architecture options for :func:`cropglobe.models.get_model`.
        settings: Optimisation settings.
        layout: The window training inputs (full-year series) are cut to, the bin width and flattening
            (:class:`InputLayout`; default: the inputs are model inputs already).

    ``augment`` (attribute, None by default) is the on-the-fly augmentation of training batches
    (an :data:`Augmenter`, e.g. a cell's preset: :func:`cropglobe.experiment.fitting.augmenter`).
    """

    def __init__(self, name: str, n_bands: int, n_times: int, n_classes: int, options: dict[str, Any],
                 settings: TrainSettings, layout: InputLayout = InputLayout()) -> None:
        self.name, self.n_classes, self.settings = name, n_classes, settings
        self.net = models.get_model(name, n_bands, n_times, n_classes, seed=settings.seed, **options)
        self.augment: Augmenter | None = None
        self.layout = layout
        self.window, self.bin_days, self.flatten = layout.window, layout.bin_days, layout.flatten
        self.fit_info: dict[str, Any] = {}

    def fit(self, x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
            ckpt_dir: str | os.PathLike, resume: bool = False) -> TorchClassifier:
        """Train with Lightning; keep the best-validation-macro-F1 weights (see :func:`fit_torch`)."""
        self.fit_info = fit_torch(self.net, FitData(x, y, x_val, y_val), self.n_classes, self.settings, ckpt_dir,
                                  self.layout, self.augment, resume)
        return self

    def predict_proba(self, x: np.ndarray, precision: str = Precision.FP32) -> np.ndarray:
        """Class probabilities (N, C) for model-ready inputs (season windows, flattened if needed).

        ``precision="bf16-mixed"`` opts in to bfloat16 inference (see :func:`predict_proba_torch`).
        """
        return predict_proba_torch(self.net, x, precision=precision)

    def save(self, path: str | os.PathLike, bands: Sequence[str] | None = None,
             class_names: Sequence[str] | None = None) -> Path:
        """Write weights and spec (no pickled code) with :func:`cropglobe.models.save_model`."""
        return models.save_model(self.net, path, bands, class_names)
